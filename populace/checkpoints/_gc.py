"""Deleting the checkpoints nobody refers to any more."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from populace.checkpoints._base import BaseCheckpointStore, digest_of
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
    """Delete every blob of ``store`` whose ref is not in ``keep``, and stale temp files.

    Working out ``keep`` is the caller's job, and it must be complete for every blob put before
    ``spare_put_after`` (a ``time.time()`` value): blobs put (or put again) after it are spared,
    since a writer may be about to record their refs. Without it, every blob outside ``keep``
    goes, which is right only when no member is saving into the store. Temp files left by
    crashed writers go once they are older than an hour. Several collectors may run at once: a
    blob another one deleted first is skipped.

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
        CheckpointError: A ref in ``keep`` is malformed, or a blob cannot be deleted.
    """
    keep = set(keep)
    for ref in keep:
        digest_of(ref)  # a malformed ref would keep nothing and let its blob be deleted
    kept = deleted = freed = 0
    for ref in list(store.refs()):
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
