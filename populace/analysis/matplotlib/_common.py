"""What the matplotlib plots share: the house style, a Figure on the Agg canvas."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from populace._imports import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "BEST_COLOUR",
    "FADED",
    "Destination",
    "finish",
    "new_figure",
]

Destination = str | os.PathLike[str]  # where a PNG is saved
BEST_COLOUR = "tab:red"
FADED: dict[str, Any] = {"color": "0.45", "linewidth": 0.8, "alpha": 0.5}


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
