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


def collect_garbage(store: BaseCheckpointStore, keep: Collection[str]) -> GarbageReport:
    """Delete every blob of ``store`` whose ref is not in ``keep``, and stale temp files.

    Working out ``keep`` is the caller's job, and it must be complete: a blob that a writer has
    just put but not yet recorded is deleted unless its ref is in ``keep``, so run this when
    no member is saving, or add the refs of saves in flight. Temp files left by crashed writers
    go once they are older than an hour. Several collectors may run at once (every worker that
    sees the population finish collects): a blob another one deleted first is skipped.

    Example:
        >>> report = collect_garbage(store, keep={ref_of_best, ref_of_latest})
        >>> report.deleted, report.freed_bytes
        (12, 48213)

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
            if store.exists(ref):
                raise
            continue  # another collector (a second worker finishing) deleted it meanwhile
        store.delete(ref)
        freed += size
        deleted += 1
    freed += store.remove_stale_temp_files(STALE_TEMP_FILE_AGE_S)
    return GarbageReport(kept=kept, deleted=deleted, freed_bytes=freed)
