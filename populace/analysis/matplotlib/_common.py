"""What the matplotlib plots share: the stored data read once, a Figure on the Agg canvas."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from populace._imports import require
from populace.analysis._schedule import Schedule
from populace.storage import ResultRecord, SegmentRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from populace.analysis._data import PopulationData

__all__ = [
    "BEST_COLOUR",
    "FADED",
    "Destination",
    "Run",
    "Span",
    "finish",
    "lane_label",
    "new_figure",
]

Destination = str | os.PathLike[str]  # where a PNG is saved
Generation = tuple[int, int]  # (member, generation)
BEST_COLOUR = "tab:red"
FADED: dict[str, Any] = {"color": "0.45", "linewidth": 0.8, "alpha": 0.5}


@dataclass(frozen=True)
class Span:
    """Steps ``start`` to ``end`` trained by ``member`` in ``generation``."""

    member: int
    generation: int
    start: int
    end: int


class Run:
    """The stored data both plots draw from, read once: segments, scores and the best member."""

    def __init__(self, population: PopulationData) -> None:
        self.name = population.name
        self.maximize = population.maximize
        self.space = population.space
        fire = population.fire
        self.segments = sorted(
            (
                s
                for s in population.lineage()
                # A FIRE evaluator's generation 0 is its idle start: no params, no training.
                if not (fire is not None and fire.is_evaluator(s.member) and s.generation == 0)
            ),
            key=lambda s: (s.member, s.generation),
        )
        self.scores = _scores_by_generation(population.results())
        best = population.best
        self.best = None if best is None else best.id
        self.best_score = None if best is None else best.score

    def end(self, segment: SegmentRecord) -> int:
        """The last step a generation reported (its start when it reported nothing yet)."""
        reported = self.scores.get((segment.member, segment.generation))
        return max(segment.start_step, reported[-1][0]) if reported else segment.start_step

    def spans(self) -> list[Span]:
        return [Span(s.member, s.generation, s.start_step, self.end(s)) for s in self.segments]

    def path(self, schedule: Schedule) -> list[Span]:
        """Where a model trained: each schedule entry up to the next fork, the last to its end."""
        current = {(s.member, s.generation): s for s in self.segments}
        ends = [e.step for e in schedule][1:]
        ends.append(self.end(current[(schedule[-1].member, schedule[-1].generation)]))
        return [
            Span(e.member, e.generation, e.step, end) for e, end in zip(schedule, ends, strict=True)
        ]


def lane_label(population: PopulationData, member: int) -> str:
    """``member``'s lane label: its id, with its FIRE PBT role."""
    fire = population.fire
    if fire is None:
        return str(member)
    if fire.is_evaluator(member):
        return f"{member} eval"
    return f"{member} P{fire.subpopulation(member) + 1}"


def _scores_by_generation(results: Sequence[ResultRecord]) -> dict[Generation, list[Any]]:
    """Every (step, score) a generation reported, by step."""
    scores: dict[Generation, list[Any]] = defaultdict(list)
    for r in results:
        scores[(r.member, r.generation)].append((r.step, r.score))
    for points in scores.values():
        points.sort(key=lambda p: p[0])
    return dict(scores)


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A Figure on the Agg canvas; MissingDependencyError naming the extra without matplotlib."""
    require("matplotlib", "analysis")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def finish(figure: Figure, path: Destination | None, dpi: int) -> Figure:
    if path is not None:
        figure.savefig(path, dpi=dpi)
    return figure
