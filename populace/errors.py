"""Exceptions raised by populace.

Every error a user can cause derives from :class:`PopulaceError`, so ``except PopulaceError``
catches all of them; each message names the offending value and what would be accepted.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigurationError",
    "DimensionTypeError",
    "MemberNotFoundError",
    "MissingDependencyError",
    "PopulaceError",
    "ReportError",
    "SearchSpaceError",
    "StorageError",
    "WorkerError",
]


class PopulaceError(Exception):
    """Base class of every error populace raises on purpose."""


class SearchSpaceError(PopulaceError, ValueError):
    """A search space or a set of parameters does not fit its declaration."""


class DimensionTypeError(SearchSpaceError, TypeError):
    """A dimension class cannot be declared: another dimension type already has its name."""


class ConfigurationError(PopulaceError, ValueError):
    """A run, a strategy or a helper call was given values that cannot work."""


class MissingDependencyError(PopulaceError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class MemberNotFoundError(PopulaceError, KeyError):
    """No member has the id asked for."""

    def __str__(self) -> str:
        # KeyError shows its argument as a repr, quotes included; this message is a sentence.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class ReportError(PopulaceError, ValueError):
    """A ``member.report`` or ``tell`` call carried an invalid step, score or checkpoint."""


class CheckpointError(PopulaceError):
    """A checkpoint cannot be stored safely, or a stored one is missing or corrupted."""


class StorageError(PopulaceError):
    """The storage cannot be opened, or refuses an operation that would corrupt it."""


class WorkerError(PopulaceError, RuntimeError):
    """A worker exited unexpectedly, or workers kept dying (a crash loop restarts cannot cure)."""
