"""Stitched score curves as a matplotlib Figure: the twin of the interactive curves view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from populace.analysis._views import PopulationView, curves_info
from populace.analysis.matplotlib._common import BEST_COLOUR, FADED, Destination, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from populace.analysis._data import PopulationData

__all__ = ["plot_curves"]


def plot_curves(
    population: PopulationData,
    path: Destination | None = None,
    *,
    metric: str | None = None,
    figsize: tuple[float, float] = (10.0, 5.0),
    dpi: int = 120,
) -> Figure:
    """Draw every member's score (or ``metric``) curve stitched across exploits, the best in red.

    Each fork (a generation starting from a copy) is a small diamond. Saved to ``path`` (PNG)
    when given.

    Raises:
        ConfigurationError: ``metric`` was never reported.
        MissingDependencyError: matplotlib is not installed.
    """
    info = curves_info(PopulationView.read(population), metric)
    figure = new_figure(figsize)
    ax = figure.add_subplot()
    for curve in sorted(info.curves, key=lambda c: c.member == info.best):
        best = curve.member == info.best
        style = {"color": BEST_COLOUR, "linewidth": 2.2} if best else FADED
        ax.plot(
            [p.step for p in curve.points], [p.value for p in curve.points], gid="curve", **style
        )
        ax.plot(
            [f.step for f in curve.forks],
            [f.value for f in curve.forks],
            "D",
            markersize=4 if best else 2.5,
            color=style["color"],
            gid="fork",
        )
    ax.set_xlabel("step")
    ax.set_ylabel(metric or "score")
    title = f"{metric or 'score'} of {info.name!r}, stitched across exploits"
    if info.best is not None:
        title += f"; best member {info.best} in red"
    ax.set_title(title)
    return finish(figure, path, dpi)
