"""The population's stored rows read once, and what every view shares: axes, checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from populace.analysis._schedule import ancestry
from populace.analysis._stitched import Generation, group_results
from populace.controller import FirePBT
from populace.errors import ConfigurationError
from populace.space import Choice, Fixed, IntUniform, LogUniform, SearchSpace
from populace.space._values import is_real, scalar_key
from populace.storage import DecisionRecord, MemberRecord, ResultRecord, SegmentRecord

if TYPE_CHECKING:
    from populace.analysis._data import PopulationData

__all__ = [
    "Axis",
    "PopulationView",
    "category_label",
    "check_member",
    "check_metric",
    "metric_names",
    "param_axes",
]


@dataclass(frozen=True, eq=False)
class PopulationView:
    """A population's stored rows, read once, that every view draws from.

    Build it with :meth:`read`, or directly from rows a caller already holds (the dashboard keeps
    its lists up to date as rows arrive and builds a fresh view per request). The lists are taken
    as given: results in the order they were stored, segments and members in any order.
    ``best`` and the other derived tables are computed on first use.
    """

    name: str
    maximize: bool
    space: SearchSpace
    fire: FirePBT | None
    members: Sequence[MemberRecord]
    segments: Sequence[SegmentRecord]
    results: Sequence[ResultRecord]
    decisions: Sequence[DecisionRecord]

    @classmethod
    def read(cls, data: PopulationData) -> PopulationView:
        """Read every row of ``data`` once: members, lineage, results and decisions."""
        return cls(
            data.name,
            data.maximize,
            data.space,
            data.fire,
            data.storage.members(data.id),
            data.lineage(),
            data.results(),
            data.decisions(),
        )

    def is_evaluator(self, member: int) -> bool:
        """Whether ``member`` is a FIRE PBT evaluator (it trains others' params, not its own)."""
        return self.fire is not None and self.fire.is_evaluator(member)

    def label(self, member: int) -> str:
        """``member``'s name in a view: its id, with its FIRE PBT role (``3 P1``, ``8 eval``)."""
        if self.fire is None:
            return str(member)
        if self.fire.is_evaluator(member):
            return f"{member} eval"
        return f"{member} P{self.fire.subpopulation(member) + 1}"

    @cached_property
    def population(self) -> list[int]:
        """The members' ids (FIRE evaluators left out), in order."""
        return sorted(m.id for m in self.members if not self.is_evaluator(m.id))

    @cached_property
    def failed(self) -> frozenset[int]:
        return frozenset(m.id for m in self.members if m.state == "failed")

    @cached_property
    def trained(self) -> list[SegmentRecord]:
        """Every generation by (member, generation), but a FIRE evaluator's idle generation 0."""
        return sorted(
            (s for s in self.segments if not (self.is_evaluator(s.member) and s.generation == 0)),
            key=lambda s: (s.member, s.generation),
        )

    @cached_property
    def segment(self) -> dict[Generation, SegmentRecord]:
        """Each segment under its (member, generation)."""
        return {(s.member, s.generation): s for s in self.segments}

    @cached_property
    def grouped(self) -> dict[Generation, list[ResultRecord]]:
        return group_results(self.results)

    @cached_property
    def latest(self) -> dict[int, ResultRecord]:
        """Each member's latest result in its current generation (none before its first)."""
        return {
            m.id: rows[-1] for m in self.members if (rows := self.grouped.get((m.id, m.generation)))
        }

    @cached_property
    def best(self) -> int | None:
        """The member with the best latest score in its current generation (ties: lowest id).

        The rule of :attr:`PopulationData.best`: under FIRE PBT only the greedy P1 competes.
        """
        scored = [
            (r.score if self.maximize else -r.score, member)
            for member, r in self.latest.items()
            if self.fire is None or self._in_p1(member)
        ]
        return min(scored, key=lambda s: (-s[0], s[1]))[1] if scored else None

    def _in_p1(self, member: int) -> bool:
        assert self.fire is not None
        return not self.fire.is_evaluator(member) and self.fire.subpopulation(member) == 0

    def end(self, segment: SegmentRecord) -> int:
        """The last step a generation reported (its start while it reported nothing)."""
        rows = self.grouped.get((segment.member, segment.generation))
        return max(segment.start_step, rows[-1].step) if rows else segment.start_step

    def chain(self, member: int) -> list[SegmentRecord]:
        """The generations behind ``member``'s current model, oldest first; [] for no member."""
        return ancestry(self.segments, member) if (member, 0) in self.segment else []


def metric_names(view: PopulationView) -> list[str]:
    """The extra metrics reported with the scores (``member.report(..., metrics=...)``), sorted."""
    return sorted({name for r in view.results for name in r.metrics})


class Axis(NamedTuple):
    """How a hyperparameter is drawn: ``scale`` is linear, log or category (``categories``)."""

    name: str
    scale: str
    categories: tuple[Any, ...] = ()


def category_label(value: Any) -> str:
    """A categorical value's tick label: strings as they are, others as Python writes them."""
    return value if isinstance(value, str) else repr(value)


def _param_axis(view: PopulationView, name: str) -> Axis:
    """Choices and non-numeric values are categories; LogUniform and log IntUniform are log."""
    dimension = view.space[name]
    if isinstance(dimension, Choice):
        return Axis(name, "category", tuple(dimension.values))
    if isinstance(dimension, LogUniform) or (isinstance(dimension, IntUniform) and dimension.log):
        return Axis(name, "log")
    observed = [s.params[name] for s in view.segments if name in s.params]
    if isinstance(dimension, Fixed):
        observed.append(dimension.value)
    if all(is_real(v) for v in observed):
        return Axis(name, "linear")
    return Axis(name, "category", tuple({scalar_key(v): v for v in observed}.values()))


def param_axes(view: PopulationView, params: Sequence[str] | None) -> list[Axis]:
    """The dimensions to draw: ``params`` checked against the space, or all but Fixed ones."""
    if params is None:
        return [_param_axis(view, n) for n, d in view.space.items() if not isinstance(d, Fixed)]
    unknown = [n for n in params if n not in view.space]
    if unknown:
        raise ConfigurationError(f"unknown params {unknown}; the space has {list(view.space)}")
    return [_param_axis(view, n) for n in params]


def check_metric(view: PopulationView, metric: str | None) -> None:
    """Refuse a ``metric`` no result carries (before any result, every name is accepted)."""
    if metric is not None and view.results and metric not in metric_names(view):
        raise ConfigurationError(
            f"population {view.name!r} has no metric {metric!r}; it has {metric_names(view)}"
        )


def check_member(view: PopulationView, member: int | None) -> int | None:
    """``member`` checked to be in the population, or the best member by default."""
    if member is None:
        return view.best
    if (member, 0) not in view.segment:
        raise ConfigurationError(f"population {view.name!r} has no member {member}")
    return member
