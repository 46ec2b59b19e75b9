"""Plots of a stored population: its lineage tree and its hyperparameter schedules.

    from populace.analysis import plot_lineage, plot_schedule

    population = pop.load("sqlite:///runs.db", "train")
    plot_lineage(population, "lineage.png")  # or population.plot_lineage("lineage.png")
    plot_schedule(population, "schedule.png")  # or population.plot_schedule("schedule.png")

Both read only the stored data and return a matplotlib Figure, saved as PNG when a path is given.
They need matplotlib (``pip install 'populace[analysis]'``), imported on first use; figures are
drawn on the Agg canvas without pyplot, so no window opens and no global state changes.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from populace._imports import require
from populace.analysis._schedule import Schedule, stitch
from populace.errors import ConfigurationError
from populace.space import BaseDimension, Choice, Fixed, IntUniform, LogUniform
from populace.space._values import is_real, scalar_key
from populace.storage import ResultRecord, SegmentRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from populace.analysis._data import PopulationData

__all__ = ["plot_lineage", "plot_schedule"]

Destination = str | os.PathLike[str]  # where a PNG is saved
Generation = tuple[int, int]  # (member, generation)
BEST_COLOUR = "tab:red"
FADED: dict[str, Any] = {"color": "0.45", "linewidth": 0.8, "alpha": 0.5}


@dataclass(frozen=True)
class _Span:
    """Steps ``start`` to ``end`` trained by ``member`` in ``generation``."""

    member: int
    generation: int
    start: int
    end: int


class _Run:
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

    def spans(self) -> list[_Span]:
        return [_Span(s.member, s.generation, s.start_step, self.end(s)) for s in self.segments]

    def path(self, schedule: Schedule) -> list[_Span]:
        """Where a model trained: each schedule entry up to the next fork, the last to its end."""
        current = {(s.member, s.generation): s for s in self.segments}
        ends = [e.step for e in schedule][1:]
        ends.append(self.end(current[(schedule[-1].member, schedule[-1].generation)]))
        return [
            _Span(e.member, e.generation, e.step, end)
            for e, end in zip(schedule, ends, strict=True)
        ]


def _lane_label(population: PopulationData, member: int) -> str:
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


def _figure(figsize: tuple[float, float]) -> Figure:
    """A Figure on the Agg canvas; MissingDependencyError naming the extra without matplotlib."""
    require("matplotlib", "analysis")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _finish(figure: Figure, path: Destination | None, dpi: int) -> Figure:
    if path is not None:
        figure.savefig(path, dpi=dpi)
    return figure


# --- lineage --------------------------------------------------------------------------------------


def plot_lineage(
    population: PopulationData,
    path: Destination | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: int = 120,
) -> Figure:
    """Draw the lineage tree: who trained when, who copied whom, and where the best model came from.

    x is the step and each member has a lane. A line per generation is coloured by the last score
    it reported; an arrow goes from the parent (lane, step) to the child for every exploit, and
    the best member's ancestry is highlighted. Under FIRE PBT each lane names its sub-population
    (``3 P1``) or says it is an evaluator (``8 eval``), whose generations are its evaluations.
    Saved to ``path`` (PNG) when given.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    run = _Run(population)
    members = sorted({s.member for s in run.segments})
    height = min(max(3.0, 0.35 * len(members) + 1.8), 30.0)
    figure = _figure(figsize or (10.0, height))
    ax = figure.add_subplot()
    best = stitch(run.segments, run.best) if run.best is not None else None
    if best is not None:
        _draw_ancestry(ax, run.path(best))
    _draw_generations(ax, figure, run)
    _draw_exploits(ax, run.segments, best)
    ax.set_yticks(members, [_lane_label(population, m) for m in members])
    ax.set_ylim(max(members, default=0) + 0.7, min(members, default=0) - 0.7)
    ax.set_xlabel("step")
    ax.set_ylabel("member")
    title = f"lineage of {run.name!r}"
    if run.best is not None:
        title += f": best member {run.best} (score {run.best_score:.4g}), its ancestry in red"
    ax.set_title(title)
    return _finish(figure, path, dpi)


def _draw_generations(ax: Axes, figure: Figure, run: _Run) -> None:
    """One line per generation in its member's lane, coloured by its last score."""
    import matplotlib
    from matplotlib.collections import LineCollection

    spans = run.spans()
    last = [run.scores.get((s.member, s.generation), [(0, math.nan)])[-1][1] for s in spans]
    colours = matplotlib.colormaps["viridis" if run.maximize else "viridis_r"]
    lines = LineCollection(
        [[(s.start, s.member), (s.end, s.member)] for s in spans],
        cmap=colours.with_extremes(bad="0.75"),
        linewidths=3,
        capstyle="butt",
        zorder=2,
        gid="generations",
    )
    if any(math.isfinite(score) for score in last):
        lines.set_array(last)
        figure.colorbar(lines, ax=ax, label="last score of the generation", pad=0.01)
    else:
        lines.set_color("0.75")
    ax.add_collection(lines)
    ax.autoscale_view()
    starts = [s for s in spans if s.generation > 0]
    ax.scatter(
        [s.start for s in starts], [s.member for s in starts], marker="|", s=120, c="k", zorder=3
    )


def _draw_ancestry(ax: Axes, path: list[_Span]) -> None:
    """A wide halo under the stretches of every lane that the best model was trained in."""
    from matplotlib.collections import LineCollection

    halo = LineCollection(
        [[(s.start, s.member), (s.end, s.member)] for s in path],
        colors=BEST_COLOUR,
        linewidths=9,
        alpha=0.35,
        capstyle="butt",
        zorder=1,
        gid="ancestry",
    )
    ax.add_collection(halo)


def _draw_exploits(ax: Axes, segments: Sequence[SegmentRecord], best: Schedule | None) -> None:
    """An arrow from the parent's (step, lane) to the child's for every exploit (not explore)."""
    from matplotlib.patches import FancyArrowPatch

    on_path = {(e.member, e.generation) for e in best or ()}
    for s in segments:
        if s.parent_member is None or s.parent_step is None or s.parent_member == s.member:
            continue
        highlighted = (s.member, s.generation) in on_path
        ax.add_patch(
            FancyArrowPatch(
                (s.parent_step, s.parent_member),
                (s.start_step, s.member),
                arrowstyle="-|>",
                mutation_scale=10,
                connectionstyle="arc3,rad=0.2",
                color=BEST_COLOUR if highlighted else "0.3",
                linewidth=1.8 if highlighted else 0.9,
                zorder=4 if highlighted else 3,
                gid="exploit",
            )
        )


# --- schedules ------------------------------------------------------------------------------------


def plot_schedule(
    population: PopulationData,
    path: Destination | None = None,
    member: int | None = None,
    params: Sequence[str] | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    dpi: int = 120,
) -> Figure:
    """Draw each hyperparameter over steps, and the score, for every member and for one model.

    Every member's lane is a thin faded line; the bold step line is ``member``'s stitched schedule
    (default: the best member), the hyperparameters its model was trained with across every copy.
    LogUniform dimensions get a log axis. ``params`` picks the subplots (default: every dimension
    but Fixed ones). Saved to ``path`` (PNG) when given.

    Raises:
        ConfigurationError: ``member`` is not in the population, or ``params`` names a parameter
            the space does not have.
        MissingDependencyError: matplotlib is not installed.
    """
    run = _Run(population)
    names = _param_names(run.space, params)
    member = run.best if member is None else member
    if member is not None and member not in {s.member for s in run.segments}:
        raise ConfigurationError(f"population {run.name!r} has no member {member}")
    schedule = None if member is None else stitch(run.segments, member)
    figure = _figure(figsize or (10.0, 2.3 * (len(names) + 1) + 0.6))
    axes = figure.subplots(len(names) + 1, 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes[:-1], names, strict=True):
        _draw_param(ax, run, name, schedule)
    _draw_scores(axes[-1], run, schedule)
    axes[-1].set_xlabel("step")
    title = f"schedules of {run.name!r}"
    if member is not None:
        title += f": bold = the model of member {member}"
        axes[0].legend(loc="best", fontsize="small")
    figure.suptitle(title)
    return _finish(figure, path, dpi)


def _param_names(
    space: Mapping[str, BaseDimension[Any]], params: Sequence[str] | None
) -> list[str]:
    """The dimensions to draw: ``params`` checked against the space, or all but Fixed ones."""
    if params is None:
        return [n for n, d in space.items() if not isinstance(d, Fixed)]
    unknown = [n for n in params if n not in space]
    if unknown:
        raise ConfigurationError(f"unknown params {unknown}; the space has {list(space)}")
    return list(params)


def _draw_param(ax: Axes, run: _Run, name: str, schedule: Schedule | None) -> None:
    """Every member's value of ``name`` as a faded step line, the schedule's as a bold one."""
    dimension = run.space[name]
    observed = [s.params[name] for s in run.segments]
    categories = _categories(dimension, observed)
    position = _positions(categories)
    lanes: dict[int, list[SegmentRecord]] = defaultdict(list)
    for s in run.segments:
        lanes[s.member].append(s)
    for segments in lanes.values():
        xs = [x for s in segments for x in (s.start_step, run.end(s))]
        ys = [position(s.params[name]) for s in segments for _ in (0, 1)]
        ax.plot(xs, ys, gid="member", **FADED)
    if schedule is not None:
        spans = run.path(schedule)
        values = [position(e.params[name]) for e in schedule]
        ax.plot(
            [s.start for s in spans] + [spans[-1].end],
            [*values, values[-1]],
            drawstyle="steps-post",
            color=BEST_COLOUR,
            linewidth=2.2,
            gid="schedule",
            label=f"schedule of member {schedule[-1].member}",
        )
    if categories is not None:
        ax.set_yticks(range(len(categories)), [repr(c) for c in categories])
    elif isinstance(dimension, LogUniform) or (isinstance(dimension, IntUniform) and dimension.log):
        ax.set_yscale("log")
    ax.set_ylabel(name)


def _categories(dimension: BaseDimension[Any], observed: Sequence[Any]) -> list[Any] | None:
    """The values to put on a categorical axis; None for a numeric dimension."""
    if isinstance(dimension, Choice):
        return list(dimension.values)
    if all(is_real(v) for v in observed):
        return None
    return list({scalar_key(v): v for v in observed}.values())


def _positions(categories: list[Any] | None) -> Any:
    """Map a value to its y position: itself, or its index among the categories."""
    if categories is None:
        return lambda value: value
    index = {scalar_key(v): i for i, v in enumerate(categories)}
    return lambda value: index[scalar_key(value)]


def _draw_scores(ax: Axes, run: _Run, schedule: Schedule | None) -> None:
    """Every member's scores (broken at each fork), and the bold scores of the schedule's model."""
    lanes: dict[int, list[Any]] = defaultdict(list)
    for s in run.segments:
        lanes[s.member] += [*run.scores.get((s.member, s.generation), []), (math.nan, math.nan)]
    for points in lanes.values():
        ax.plot(*zip(*points, strict=True), gid="member", **FADED)
    if schedule is not None:
        points = [
            (step, score)
            for span in run.path(schedule)
            for step, score in run.scores.get((span.member, span.generation), [])
            if span.start < step <= span.end
        ]
        if points:
            ax.plot(*zip(*points, strict=True), color=BEST_COLOUR, linewidth=2.2, gid="schedule")
    ax.set_ylabel("score")
