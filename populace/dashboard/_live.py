"""A population as the dashboard holds it: read whole once, then only the rows added since, so
that pages polling every two seconds cost the run a few small queries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from populace.analysis._views import PopulationView
from populace.controller import FirePBT
from populace.space import SearchSpace
from populace.storage import (
    BaseStorage,
    DecisionRecord,
    MemberRecord,
    PopulationRecord,
    ResultRecord,
    SegmentRecord,
    WorkerRecord,
)
from populace.storage._follow import WINDOW, Follower, RowT

__all__ = ["PARTS", "LivePopulation"]

PARTS = ("members", "segments", "results", "decisions", "workers")
"""What a page can ask to refetch; each has a version that moves when it changes."""

T = TypeVar("T")


class _Rows(Generic[RowT]):
    """Every row of one table in id order, followed: ``rows`` is replaced, never changed in
    place, so a reader holding it sees one state."""

    def __init__(self, read: Callable[[int], Sequence[RowT]], window: int) -> None:
        self._follower = Follower(read, window)
        self.rows: list[RowT] = []

    def update(self) -> bool:
        """Take in the rows stored since the last update; whether there were any."""
        new = self._follower.new()
        if not new:
            return False
        if self.rows and new[0].id < self.rows[-1].id:  # committed late under a lower id
            self.rows = sorted([*self.rows, *new], key=lambda r: r.id)
        else:
            self.rows = [*self.rows, *new]
        return True


class LivePopulation:
    """One population's members, lineage, results, decisions and workers, kept up to date.

    :meth:`refresh` reads at most once per ``every`` seconds however many pages poll, and is
    safe to call from several threads; it re-reads the ``window`` ids behind the newest. A
    member whose step moved back (its results after a checkpoint were discarded) makes the next
    refresh read everything again.
    """

    def __init__(
        self,
        storage: BaseStorage,
        record: PopulationRecord,
        every: float = 1.0,
        window: int = WINDOW,
    ) -> None:
        self.storage = storage
        self.record = record
        controller = record.config["controller"]
        self.maximize = controller["direction"] == "maximize"
        algorithm = controller.get("algorithm")
        self._fire = None if algorithm is None else FirePBT.from_dict(algorithm)
        self._space = SearchSpace.from_dict(record.config["space"])
        self.every = every
        self.window = window
        self.members: list[MemberRecord] = []
        self.segments: list[SegmentRecord] = []
        self.workers: list[WorkerRecord] = []
        self.versions = dict.fromkeys(PARTS, 0)
        self._results, self._decisions = self._followers()
        self._read_at = -float("inf")
        self._lock = threading.Lock()
        self._memo: dict[Any, Any] = {}

    @property
    def results(self) -> list[ResultRecord]:
        """Every result, in the order stored."""
        return self._results.rows

    @property
    def decisions(self) -> list[DecisionRecord]:
        """Every decision, in the order committed."""
        return self._decisions.rows

    def view(self) -> PopulationView:
        """The rows as the analysis views take them, built once per version."""
        with self._lock:  # one state of every list, not one moved on by a refresh meanwhile
            rows = (self.members, self.segments, self.results, self.decisions)
        return self.memo(
            "view",
            lambda: PopulationView(self.record.name, self.maximize, self._space, self._fire, *rows),
        )

    @property
    def version(self) -> tuple[int, ...]:
        return tuple(self.versions.values())

    def memo(self, key: Any, make: Callable[[], T]) -> T:
        """``make()``, computed once per version of the population (figures, tables)."""
        with self._lock:
            version = self.version
            found = self._memo.get(key)
            if found is not None and found[0] == version:
                return found[1]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            self._memo = {k: v for k, v in self._memo.items() if v[0] == self.version}
            if version == self.version:  # else it was made from rows already replaced
                self._memo[key] = (version, value)
        return value

    def refresh(self) -> dict[str, int]:
        """Read what changed since the last read (if older than ``every`` seconds); return the
        version of each part."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.every:
                self._read()
                self._read_at = time.monotonic()
            return dict(self.versions)

    def _read(self) -> None:
        population = self.record.id
        # Members first: a live run only adds segments, so each member's is in the later read.
        members = self.storage.members(population)
        if self._rewound(members):
            self._results, self._decisions = self._followers()
            self.segments = []
            for part in PARTS:
                self._bump(part)
        if members != self.members:
            self._bump("members")
        if [(m.id, m.generation) for m in members] != [
            (m.id, m.generation) for m in self.members
        ] or not self.segments:
            self.segments = self.storage.segments(population)
            self._bump("segments")
        self.members = members
        if self._results.update():
            self._bump("results")
        if self._decisions.update():
            self._bump("decisions")
        workers = self.storage.workers(population)
        if workers != self.workers:
            self.workers = workers
            self._bump("workers")

    def _followers(self) -> tuple[_Rows[ResultRecord], _Rows[DecisionRecord]]:
        """Followers of the results and the decisions, from the first row."""
        storage, population = self.storage, self.record.id
        return (
            _Rows(lambda after: storage.results(population, after=after), self.window),
            _Rows(lambda after: storage.decisions(population, after=after), self.window),
        )

    def _rewound(self, members: list[MemberRecord]) -> bool:
        """Whether a member moved back within its generation: rows read were deleted."""
        before = {m.id: m for m in self.members}
        return any(
            m.id in before
            and m.generation == before[m.id].generation
            and m.step < before[m.id].step
            for m in members
        )

    def _bump(self, part: str) -> None:
        self.versions[part] += 1
