"""Hyperparameter schedules as a matplotlib Figure: each dimension and the score over steps."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from populace.analysis._views import Axis, PopulationView, Span
from populace.analysis._views._lineage import model_path
from populace.analysis._views._view import param_axes
from populace.analysis.matplotlib._common import BEST_COLOUR, FADED, Destination, finish, new_figure
from populace.errors import ConfigurationError
from populace.space._values import scalar_key
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
    view = PopulationView.read(population)
    dimensions = param_axes(view, params)
    member = view.best if member is None else member
    if member is not None and member not in {s.member for s in view.trained}:
        raise ConfigurationError(f"population {view.name!r} has no member {member}")
    stretches = model_path(view, member)
    figure = new_figure(figsize or (10.0, 2.3 * (len(dimensions) + 1) + 0.6))
    axes = figure.subplots(len(dimensions) + 1, 1, sharex=True, squeeze=False)[:, 0]
    for ax, dimension in zip(axes[:-1], dimensions, strict=True):
        _draw_param(ax, view, dimension, stretches)
    _draw_scores(axes[-1], view, stretches)
    axes[-1].set_xlabel("step")
    title = f"schedules of {view.name!r}"
    if member is not None:
        title += f": bold = the model of member {member}"
        axes[0].legend(loc="best", fontsize="small")
    figure.suptitle(title)
    return finish(figure, path, dpi)


def _draw_param(ax: Axes, view: PopulationView, axis: Axis, stretches: Sequence[Span]) -> None:
    """Every member's value of ``axis`` as a faded step line; the model that trained in
    ``stretches`` as a bold one."""
    name = axis.name
    categories = list(axis.categories) if axis.scale == "category" else None
    position = _positions(categories)
    lanes: dict[int, list[SegmentRecord]] = defaultdict(list)
    for s in view.trained:
        lanes[s.member].append(s)
    for segments in lanes.values():
        xs = [x for s in segments for x in (s.start_step, view.end(s))]
        ys = [position(s.params[name]) for s in segments for _ in (0, 1)]
        ax.plot(xs, ys, gid="member", **FADED)
    if stretches:
        values = [position(s.params[name]) for s in stretches]
        ax.plot(
            [s.start for s in stretches] + [stretches[-1].end],
            [*values, values[-1]],
            drawstyle="steps-post",
            color=BEST_COLOUR,
            linewidth=2.2,
            gid="schedule",
            label=f"schedule of member {stretches[-1].member}",
        )
    if categories is not None:
        ax.set_yticks(range(len(categories)), [repr(c) for c in categories])
    elif axis.scale == "log":
        ax.set_yscale("log")
    ax.set_ylabel(name)


def _positions(categories: list[Any] | None) -> Any:
    """Map a value to its y position: itself, or its index among the categories."""
    if categories is None:
        return lambda value: value
    index = {scalar_key(v): i for i, v in enumerate(categories)}
    return lambda value: index[scalar_key(value)]


def _draw_scores(ax: Axes, view: PopulationView, stretches: Sequence[Span]) -> None:
    """Every member's scores (broken at each fork), and the bold scores of the model that
    trained in ``stretches``."""
    lanes: dict[int, list[Any]] = defaultdict(list)
    for s in view.trained:
        rows = view.grouped.get((s.member, s.generation), [])
        lanes[s.member] += [*((r.step, r.score) for r in rows), (math.nan, math.nan)]
    for points in lanes.values():
        ax.plot(*zip(*points, strict=True), gid="member", **FADED)
    if stretches:
        points = [
            (r.step, r.score)
            for span in stretches
            for r in view.grouped.get((span.member, span.generation), [])
            if span.start < r.step <= span.end
        ]
        if points:
            ax.plot(*zip(*points, strict=True), color=BEST_COLOUR, linewidth=2.2, gid="schedule")
    ax.set_ylabel("score")
