"""Storage: the single source of truth of every population."""

from __future__ import annotations

from sqlalchemy.engine import URL

from populace.storage._base import BaseStorage
from populace.storage._records import (
    DecisionRecord,
    MemberRecord,
    PendingResult,
    PopulationRecord,
    ProposedDecision,
    ReportedResult,
    ResultRecord,
    SegmentRecord,
    WorkerRecord,
)
from populace.storage._sql import SQLStorage
from populace.storage._sql._engine import mask_url

__all__ = [
    "BaseStorage",
    "DecisionRecord",
    "MemberRecord",
    "PendingResult",
    "PopulationRecord",
    "ProposedDecision",
    "ReportedResult",
    "ResultRecord",
    "SQLStorage",
    "SegmentRecord",
    "WorkerRecord",
    "get_storage",
    "mask_url",
]


def get_storage(storage: str | URL | BaseStorage, *, read_only: bool = False) -> BaseStorage:
    """Turn a URL (or ``"memory"``) into a storage; a storage instance is returned as is.

    An unreachable database is an error at once (the caller, a person or ``populace worker
    --wait``, decides whether to wait); once open, operations ride out a database restart or a
    lost connection for up to a minute. ``read_only`` opens an existing populace database
    without changing anything in it (see :class:`SQLStorage`).
    """
    if isinstance(storage, BaseStorage):
        return storage
    return SQLStorage(storage, open_retry_seconds=0, read_only=read_only)
