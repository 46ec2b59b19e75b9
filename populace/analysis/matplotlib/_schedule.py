"""Hyperparameter schedules as a matplotlib Figure: each dimension and the score over steps."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from populace.analysis._schedule import Schedule, stitch
from populace.analysis.matplotlib._common import (
    BEST_COLOUR,
    FADED,
    Destination,
    Run,
    finish,
    new_figure,
)
from populace.errors import ConfigurationError
from populace.space import BaseDimension, Choice, Fixed, IntUniform, LogUniform
from populace.space._values import is_real, scalar_key
from populace.storage import SegmentRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from populace.analysis._data import PopulationData

__all__ = ["plot_schedule"]


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
    run = Run(population)
    names = _param_names(run.space, params)
    member = run.best if member is None else member
    if member is not None and member not in {s.member for s in run.segments}:
        raise ConfigurationError(f"population {run.name!r} has no member {member}")
    schedule = None if member is None else stitch(run.segments, member)
    figure = new_figure(figsize or (10.0, 2.3 * (len(names) + 1) + 0.6))
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
    return finish(figure, path, dpi)


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


def _draw_param(ax: Axes, run: Run, name: str, schedule: Schedule | None) -> None:
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


def _draw_scores(ax: Axes, run: Run, schedule: Schedule | None) -> None:
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
