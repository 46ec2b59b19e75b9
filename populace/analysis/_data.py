"""The population as data: members, the best one, schedules, lineage, results, decisions, plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from typing import TYPE_CHECKING, Any

from populace.analysis import _export, _interactive
from populace.analysis._schedule import Schedule, stitch
from populace.checkpoints import BaseCheckpointStore, Checkpoint
from populace.controller import FirePBT
from populace.space import SearchSpace
from populace.storage import (
    BaseStorage,
    DecisionRecord,
    PopulationRecord,
    ResultRecord,
    SegmentRecord,
)

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

__all__ = ["MemberResult", "PopulationData"]


@dataclass(frozen=True)
class MemberResult:
    """A member's outcome: its latest score, the params and checkpoint behind it, its schedule.

    Under FIRE PBT, ``subpopulation`` is the member's sub-population (1 is the greedy P1, which
    gives the final model) and ``evaluator`` is true for the evaluators, whose rows follow the
    members'; in plain PBT they are None and False.
    """

    id: int
    state: str
    step: int
    generation: int
    score: float | None
    params: Mapping[str, Any] = field(hash=False)
    checkpoint: Checkpoint | None
    schedule: Schedule = field(hash=False, repr=False)
    error: str | None = field(default=None, repr=False)
    subpopulation: int | None = None
    evaluator: bool = False
    metrics: Mapping[str, float] = field(default_factory=dict, hash=False)
    """The extra metrics reported with the latest score."""


class PopulationData:
    """Read-only analysis of a stored population; every read goes to the storage."""

    def __init__(
        self,
        storage: BaseStorage,
        record: PopulationRecord,
        checkpoints: BaseCheckpointStore,
        space: SearchSpace,
    ) -> None:
        self._storage = storage
        self._record = record
        self._store = checkpoints
        self.space = space

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def id(self) -> int:
        return self._record.id

    @property
    def storage(self) -> BaseStorage:
        return self._storage

    @property
    def checkpoints(self) -> BaseCheckpointStore:
        return self._store

    @cached_property
    def maximize(self) -> bool:
        return self._record.config["controller"]["direction"] == "maximize"

    @cached_property
    def fire(self) -> FirePBT | None:
        """The FIRE PBT configuration, or None for plain PBT."""
        algorithm = self._record.config["controller"].get("algorithm")
        return None if algorithm is None else FirePBT.from_dict(algorithm)

    def _role(self, member: int) -> tuple[int | None, bool]:
        """(sub-population, evaluator) of ``member``."""
        fire = self.fire
        if fire is None:
            return None, False
        if fire.is_evaluator(member):
            return None, True
        return fire.subpopulation(member) + 1, False

    def results(self) -> list[ResultRecord]:
        """Every reported score, in the order they were stored."""
        return self._storage.results(self.id)

    def decisions(self) -> list[DecisionRecord]:
        """Every committed decision, with the comparison it was made from."""
        return self._storage.decisions(self.id)

    def lineage(self) -> list[SegmentRecord]:
        """Every generation of every member: who copied whom, at which step, with which params."""
        return self._storage.segments(self.id)

    def schedule(self, member: int) -> Schedule:
        """The hyperparameter schedule behind ``member``'s current model."""
        return stitch(self.lineage(), member)

    def members(self) -> list[MemberResult]:
        """Every member's outcome, by id: its latest score in its current generation."""
        records = self._storage.members(self.id)
        segments = self.lineage()
        generation = {m.id: m.generation for m in records}
        latest: dict[int, ResultRecord] = {}
        for r in self.results():
            if r.generation == generation[r.member] and (
                r.member not in latest or r.step > latest[r.member].step
            ):
                latest[r.member] = r
        out = []
        for m in records:
            last = latest.get(m.id)
            checkpoint = None
            if last is not None and last.checkpoint is not None:
                checkpoint = Checkpoint(last.checkpoint, m.id, last.step, self._store)
            out.append(
                MemberResult(
                    m.id,
                    m.state,
                    m.step,
                    m.generation,
                    None if last is None else last.score,
                    dict(m.params),
                    checkpoint,
                    stitch(segments, m.id),
                    m.error,
                    *self._role(m.id),
                    {} if last is None else dict(last.metrics),
                )
            )
        return out

    def to_pandas(self, table: str = "results") -> Any:
        """One table (members, results, decisions or lineage) as a pandas DataFrame."""
        return _export.to_pandas(self, table)

    def export(self, directory: str, format: str = "csv") -> list[Any]:
        """Write every table to ``directory`` as CSV files or one JSON file."""
        return _export.export(self, directory, format)

    def plot_curves(self, path: str | PathLike[str] | None = None, **options: Any) -> Figure:
        """Every member's score curve stitched across exploits, as an interactive plotly Figure.

        Written to ``path`` (HTML) when given; see :func:`populace.analysis.plot_curves`.
        """
        return _interactive.plot_curves(self, path, **options)

    def plot_lineage(self, path: str | PathLike[str] | None = None, **options: Any) -> Figure:
        """The lineage tree as an interactive plotly Figure, written to ``path`` (HTML) when given.

        See :func:`populace.analysis.plot_lineage` for the options.
        """
        return _interactive.plot_lineage(self, path, **options)

    def plot_schedule(
        self,
        path: str | PathLike[str] | None = None,
        member: int | None = None,
        params: Sequence[str] | None = None,
    ) -> Figure:
        """Every hyperparameter and the score over steps, bold for ``member`` (default: the best).

        Written to ``path`` (HTML) when given; see :func:`populace.analysis.plot_schedule`.
        """
        return _interactive.plot_schedule(self, path, member, params)

    def plot_params(self, path: str | PathLike[str] | None = None, **options: Any) -> Figure:
        """A hyperparameter against the score, animated over the run, as a plotly Figure.

        Written to ``path`` (HTML) when given; see :func:`populace.analysis.plot_params`.
        """
        return _interactive.plot_params(self, path, **options)

    @property
    def best(self) -> MemberResult | None:
        """The member with the best latest score (ties: lowest id); None before any score.

        Under FIRE PBT the final model comes from the greedy sub-population P1: its best member.
        """
        scored = [
            m
            for m in self.members()
            if m.score is not None and (self.fire is None or m.subpopulation == 1)
        ]
        if not scored:
            return None
        sign = 1.0 if self.maximize else -1.0
        return min(scored, key=lambda m: (-sign * m.score, m.id))  # type: ignore[operator]
