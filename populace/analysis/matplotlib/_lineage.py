"""The lineage tree as a matplotlib Figure: who trained when, who copied whom."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from populace.analysis._views import PopulationView, Span
from populace.analysis._views._lineage import model_path
from populace.analysis.matplotlib._common import BEST_COLOUR, Destination, finish, new_figure
from populace.storage import SegmentRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from populace.analysis._data import PopulationData

__all__ = ["plot_lineage"]


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
    view = PopulationView.read(population)
    members = sorted({s.member for s in view.trained})
    height = min(max(3.0, 0.35 * len(members) + 1.8), 30.0)
    figure = new_figure(figsize or (10.0, height))
    ax = figure.add_subplot()
    stretches = model_path(view, view.best)
    if stretches:
        _draw_ancestry(ax, stretches)
    _draw_generations(ax, figure, view)
    _draw_exploits(ax, view.trained, stretches)
    ax.set_yticks(members, [view.label(m) for m in members])
    ax.set_ylim(max(members, default=0) + 0.7, min(members, default=0) - 0.7)
    ax.set_xlabel("step")
    ax.set_ylabel("member")
    title = f"lineage of {view.name!r}"
    if view.best is not None:
        score = view.latest[view.best].score
        title += f": best member {view.best} (score {score:.4g}), its ancestry in red"
    ax.set_title(title)
    return finish(figure, path, dpi)


def _draw_generations(ax: Axes, figure: Figure, view: PopulationView) -> None:
    """One line per generation in its member's lane, coloured by its last score."""
    import matplotlib
    from matplotlib.collections import LineCollection

    segments = view.trained
    last = [_last_score(view, s) for s in segments]
    colours = matplotlib.colormaps["viridis" if view.maximize else "viridis_r"]
    lines = LineCollection(
        [[(s.start_step, s.member), (view.end(s), s.member)] for s in segments],
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
    starts = [s for s in segments if s.generation > 0]
    ax.scatter(
        [s.start_step for s in starts],
        [s.member for s in starts],
        marker="|",
        s=120,
        c="k",
        zorder=3,
    )


def _last_score(view: PopulationView, segment: SegmentRecord) -> float:
    """The last score a generation reported; NaN before its first."""
    rows = view.grouped.get((segment.member, segment.generation))
    return rows[-1].score if rows else math.nan


def _draw_ancestry(ax: Axes, path: list[Span]) -> None:
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


def _draw_exploits(ax: Axes, segments: Sequence[SegmentRecord], stretches: Sequence[Span]) -> None:
    """An arrow from the parent's (step, lane) to the child's for every exploit (not explore)."""
    from matplotlib.patches import FancyArrowPatch

    on_path = {(s.member, s.generation) for s in stretches}
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
