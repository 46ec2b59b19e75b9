"""Deleting the checkpoints nobody refers to any more."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from populace.checkpoints._base import BaseCheckpointStore
from populace.checkpoints._manifest import Manifest, is_directory_checkpoint
from populace.checkpoints._refs import digest_of
from populace.errors import CheckpointError

__all__ = ["GarbageReport", "collect_garbage"]

STALE_TEMP_FILE_AGE_S = 3600.0


@dataclass(frozen=True)
class GarbageReport:
    """What :func:`collect_garbage` did: blobs kept and deleted, and the bytes it freed.

    ``freed_bytes`` includes stale temp files, which are not counted in ``deleted``.
    """

    kept: int
    deleted: int
    freed_bytes: int


def collect_garbage(
    store: BaseCheckpointStore,
    keep: Collection[str],
    *,
    spare_put_after: float | None = None,
) -> GarbageReport:
    """Delete every blob of ``store`` that no checkpoint in ``keep`` needs, and stale temp files.

    Working out ``keep`` is the caller's job, and it must be complete for every blob put before
    ``spare_put_after`` (a ``time.time()`` value): blobs put (or put again) after it are spared,
    since a writer may be about to record their refs. Without it, every blob outside ``keep``
    goes, which is right only when no member is saving into the store. Temp files left by
    crashed writers go once they are older than an hour. Several collectors may run at once: a
    blob another one deleted first is skipped.

    A directory checkpoint in ``keep`` keeps its files' blobs, and so does a spared one (a
    manifest put after ``spare_put_after``, whose ref a writer may be about to record): each
    stored ref that may be a manifest has its first bytes read (``BaseCheckpointStore.head``),
    and only manifests are read whole. A file shared by several directory checkpoints stays
    while any of them is kept.

    Example:
        >>> from populace.checkpoints import LocalCheckpointStore, collect_garbage
        >>> store = LocalCheckpointStore("checkpoints")
        >>> best, latest, *stale = [store.put({"step": step}) for step in (40, 50, 10, 20, 30)]
        >>> report = collect_garbage(store, keep={best, latest})
        >>> report.kept, report.deleted, report.freed_bytes > 0
        (2, 3, True)
        >>> sorted(store.refs()) == sorted([best, latest])
        True

    Raises:
        CheckpointError: A ref in ``keep`` is malformed, a blob cannot be deleted, or the
            manifest of a kept or spared directory checkpoint cannot be read (then nothing is
            deleted, as its files cannot be told apart from garbage).
    """
    keep = set(keep)
    for ref in keep:
        digest_of(ref)  # a malformed ref would keep nothing and let its blob be deleted
    stored = list(store.refs())
    keep |= _files_of(store, [ref for ref in stored if ref in keep])
    if spare_put_after is not None:
        recent = [r for r in stored if r not in keep and _put_after(store, r, spare_put_after)]
        keep |= _files_of(store, recent)
    kept = deleted = freed = 0
    for ref in stored:
        if ref in keep:
            kept += 1
            continue
        try:
            size = store.size(ref)
        except CheckpointError:
            continue  # another collector deleted it, or holds it aside for an instant
        if store.delete(ref, unless_put_after=spare_put_after):
            freed += size
            deleted += 1
        else:
            kept += 1
    freed += store.remove_stale_temp_files(STALE_TEMP_FILE_AGE_S)
    return GarbageReport(kept=kept, deleted=deleted, freed_bytes=freed)


def _files_of(store: BaseCheckpointStore, refs: Iterable[str]) -> set[str]:
    """The refs of the files of every directory checkpoint among ``refs`` (stored blobs)."""
    files: set[str] = set()
    for ref in refs:
        data = _manifest_bytes(store, ref)
        if data is None:
            continue
        try:
            manifest = Manifest.from_bytes(data)
        except CheckpointError:
            continue  # bytes that only begin like a manifest (a stored file's) name no files
        files.update(file.ref for file in manifest.files.values())
    return files


def _manifest_bytes(store: BaseCheckpointStore, ref: str, attempts: int = 3) -> bytes | None:
    """The bytes of ``ref`` if it is a directory checkpoint; None if it is not, or is gone.

    A read can fail for an instant while another collector holds the blob aside to check its
    time (it puts it back when the blob was put again), so a failed read is tried again while
    the blob still exists.

    Raises:
        CheckpointError: The blob exists but cannot be read, try after try.
    """
    for attempt in range(attempts):
        try:
            return store.get_bytes(ref) if is_directory_checkpoint(store, ref) else None
        except CheckpointError as exc:
            if not store.exists(ref):
                return None  # another collector deleted it: no files to keep for it
            if attempt == attempts - 1:
                raise CheckpointError(
                    f"nothing was collected: {exc}, so the files it may need cannot be told "
                    f"from garbage (if it is damaged for good, delete {store.location(ref)} and "
                    "collection goes on)"
                ) from exc
            time.sleep(0.02 * (attempt + 1))
    return None


def _put_after(store: BaseCheckpointStore, ref: str, moment: float) -> bool:
    """Whether the blob ``ref`` was put after ``moment``; False if it is gone."""
    try:
        return store.modified(ref) > moment
    except CheckpointError:
        return False
