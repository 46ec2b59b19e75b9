"""Exceptions raised by populace.

Every error a user can cause derives from :class:`PopulaceError`, so ``except PopulaceError``
catches all of them; each message names the offending value and what would be accepted.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigurationError",
    "PopulaceError",
    "ReportError",
    "SearchSpaceError",
    "StorageError",
]


class PopulaceError(Exception):
    """Base class of every error populace raises on purpose."""


class SearchSpaceError(PopulaceError, ValueError):
    """A search space or a set of parameters does not fit its declaration."""


class ConfigurationError(PopulaceError, ValueError):
    """A run or strategy was configured with values that cannot work."""


class ReportError(PopulaceError, ValueError):
    """A ``member.report`` or ``tell`` call carried an invalid step, score or checkpoint."""


class CheckpointError(PopulaceError):
    """A checkpoint cannot be stored safely, or a stored one is missing or corrupted."""


class StorageError(PopulaceError):
    """The storage cannot be opened, or refuses an operation that would corrupt it."""
