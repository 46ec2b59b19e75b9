"""Following a live run: the rows of one table stored since the last read, each once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

__all__ = ["WINDOW", "Follower", "RowT"]

WINDOW = 512
"""Ids re-read behind the newest one read: under PostgreSQL a transaction that commits later
can hold a lower id than rows already read."""


class _Row(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=_Row)


class Follower(Generic[RowT]):
    """The rows ``read(after)`` returns that were not returned before, in id order.

    ``read`` is a storage read such as ``lambda after: storage.results(population, after=after)``;
    each call reads from :data:`WINDOW` ids behind the newest id seen and drops the ids seen, so
    a row committed late under a lower id is still delivered, once.
    """

    def __init__(self, read: Callable[[int], Sequence[RowT]], window: int = WINDOW) -> None:
        self._read = read
        self._window = window
        self._seen: set[int] = set()
        self._newest = 0

    def new(self, everything: bool = False) -> list[RowT]:
        """The rows stored since the last call (``everything``: read from the first id)."""
        rows = self._read(0 if everything else max(0, self._newest - self._window))
        fresh = sorted((r for r in rows if r.id not in self._seen), key=lambda r: r.id)
        self._seen.update(r.id for r in fresh)
        if fresh:
            self._newest = max(self._newest, fresh[-1].id)
        return fresh
