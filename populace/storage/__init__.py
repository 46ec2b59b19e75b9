"""Storage: the single source of truth of every population."""

from __future__ import annotations

from sqlalchemy.engine import URL

from populace.storage._base import BaseStorage
from populace.storage._engine import mask_url
from populace.storage._records import (
    DecisionRecord,
    MemberRecord,
    PopulationRecord,
    ResultRecord,
    SegmentRecord,
)
from populace.storage._sql import SQLStorage

__all__ = [
    "BaseStorage",
    "DecisionRecord",
    "MemberRecord",
    "PopulationRecord",
    "ResultRecord",
    "SQLStorage",
    "SegmentRecord",
    "get_storage",
    "mask_url",
]


def get_storage(storage: str | URL | BaseStorage) -> BaseStorage:
    """Turn a URL (or ``"memory"``) into a storage; a storage instance is returned as is."""
    if isinstance(storage, BaseStorage):
        return storage
    return SQLStorage(storage)
