"""What a tracker sees of a population: the stored rows read so far, with curves stitched
across exploits."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from populace.analysis._schedule import ancestry
from populace.analysis._stitched import CurvePoint, Generation, chain_curve, group_results
from populace.storage import DecisionRecord, ResultRecord, SegmentRecord

if TYPE_CHECKING:
    from populace.analysis import PopulationData

__all__ = ["TrackedPopulation"]

_STARTS = ("exploit", "explore", "evaluate")  # decisions that start a new generation


class TrackedPopulation:
    """The population as a tracker sees it: its lineage, results and decisions read so far.

    Read-only for trackers; the feed adds rows as it reads them. A result whose step is at or
    below a result stored before it in the same generation replaces the later steps: the
    member rewound to a checkpoint (storage deleted them), so the view follows the storage.
    """

    def __init__(self, name: str, maximize: bool) -> None:
        self.name = name
        self.maximize = maximize
        self._segments: dict[Generation, SegmentRecord] = {}
        self._results: dict[Generation, list[ResultRecord]] = {}
        self._starts: dict[Generation, DecisionRecord] = {}
        self._chains: dict[int, list[SegmentRecord]] = {}  # until the next add

    @classmethod
    def from_data(cls, data: PopulationData) -> TrackedPopulation:
        """Everything stored for ``data``'s population, read once."""
        view = cls(data.name, data.maximize)
        view.add(data.lineage(), data.decisions(), data.results())
        return view

    def add(
        self,
        segments: Iterable[SegmentRecord],
        decisions: Iterable[DecisionRecord],
        results: Iterable[ResultRecord],
    ) -> None:
        """Take in rows read from storage (results in the order they were stored)."""
        self._segments.update(((s.member, s.generation), s) for s in segments)
        self._chains.clear()
        for d in decisions:
            if d.decision.kind in _STARTS:
                self._starts[(d.member, d.generation + 1)] = d
        for key, rows in group_results(list(results)).items():
            kept = self._results.setdefault(key, [])
            for row in sorted(rows, key=lambda r: r.id):
                if kept and kept[-1].step >= row.step:
                    kept[:] = [r for r in kept if r.step < row.step or r.id > row.id]
                bisect.insort(kept, row, key=lambda r: r.step)

    @property
    def segments(self) -> list[SegmentRecord]:
        """Every generation of every member seen so far (the lineage)."""
        return list(self._segments.values())

    def members(self) -> list[int]:
        """The ids of the members seen so far."""
        return sorted({member for member, _ in self._segments})

    def segment(self, member: int, generation: int) -> SegmentRecord | None:
        return self._segments.get((member, generation))

    def results(self, member: int, generation: int) -> Sequence[ResultRecord]:
        """The results of one generation, by step."""
        return self._results.get((member, generation), ())

    def started_by(self, member: int, generation: int) -> DecisionRecord | None:
        """The decision (exploit, explore or evaluate) that started this generation, if read."""
        return self._starts.get((member, generation))

    def chain(self, member: int) -> list[SegmentRecord]:
        """The generations that produced ``member``'s current model, oldest first."""
        if member not in self._chains:
            found = (member, 0) in self._segments
            self._chains[member] = ancestry(self.segments, member) if found else []
        return self._chains[member]

    def curve(self, member: int, metric: str | None = None) -> list[CurvePoint]:
        """``member``'s score (or extra ``metric``) curve stitched across exploits."""
        return chain_curve(self.chain(member), self._results, metric)

    def metric_names(self, member: int) -> list[str]:
        """The extra metrics reported along ``member``'s chain, sorted."""
        keys = ((s.member, s.generation) for s in self.chain(member))
        return sorted({name for k in keys for r in self._results.get(k, ()) for name in r.metrics})
