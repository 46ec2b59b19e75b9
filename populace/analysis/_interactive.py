"""Interactive plots of a stored population: plotly figures, shown in Jupyter or saved as HTML.

    from populace.analysis import plot_curves, plot_lineage, plot_params, plot_schedule

    population = pop.load("sqlite:///runs.db", "train")
    population.plot_curves()  # the last expression of a notebook cell: an interactive figure
    plot_lineage(population, "lineage.html")  # one self-contained file, works offline

They read the stored data once and need plotly (``pip install 'populace[analysis]'``), imported on
first use. PNG files come from the matplotlib twins in :mod:`populace.analysis.matplotlib`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from populace._imports import require
from populace.analysis import _plotly
from populace.analysis._views import PopulationView
from populace.errors import ConfigurationError

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from populace.analysis._data import PopulationData

__all__ = ["plot_curves", "plot_lineage", "plot_params", "plot_schedule"]

Destination = str | os.PathLike[str]  # where an HTML file is written


def _view(population: PopulationData | PopulationView) -> PopulationView:
    return population if isinstance(population, PopulationView) else PopulationView.read(population)


def _check(path: Destination | None, kind: str) -> None:
    if path is not None and Path(path).suffix.lower() != ".html":
        raise ConfigurationError(
            f"plot_{kind} writes interactive HTML, not {Path(path).name!r}: give a path ending in "
            f".html, or use populace.analysis.matplotlib.plot_{kind} for a PNG"
        )


def _figure(spec: dict[str, Any], path: Destination | None) -> Figure:
    """``spec`` as a plotly Figure, written to ``path`` with plotly.js inlined when given."""
    go = require("plotly.graph_objects", "analysis")
    figure = go.Figure(spec)
    if path is not None:
        figure.write_html(path, include_plotlyjs=True, full_html=True, include_mathjax=False)
    return figure


def plot_curves(
    population: PopulationData | PopulationView,
    path: Destination | None = None,
    *,
    metric: str | None = None,
) -> Figure:
    """Every member's score (or ``metric``) curve, stitched across exploits, with the forks marked.

    Args:
        population: A stored population (``pop.load(...)``, ``pop.run(...)``) or a view of one.
        path: Where to write a self-contained HTML file (plotly.js inlined), if anywhere.
        metric: An extra metric reported with ``member.report(..., metrics=...)``; None: the score.

    Returns:
        A ``plotly.graph_objects.Figure``; a notebook shows it when it ends a cell.

    Raises:
        ConfigurationError: ``path`` does not end in ``.html``, or ``metric`` was never reported.
        MissingDependencyError: plotly is not installed.
    """
    _check(path, "curves")
    return _figure(_plotly.curves_figure(_view(population), metric), path)


def plot_lineage(
    population: PopulationData | PopulationView,
    path: Destination | None = None,
    *,
    collapse: bool = True,
    member: int | None = None,
) -> Figure:
    """The lineage tree: who trained when, who copied whom, where ``member``'s model came from.

    ``member`` defaults to the best member; ``collapse`` greys out the generations that left no
    descendant in the final population (see :func:`populace.analysis._plotly.lineage_figure`).
    Written to ``path`` (HTML) when given.

    Raises:
        ConfigurationError: ``path`` does not end in ``.html``, or ``member`` is not in the
            population.
        MissingDependencyError: plotly is not installed.
    """
    _check(path, "lineage")
    return _figure(_plotly.lineage_figure(_view(population), collapse, member), path)


def plot_schedule(
    population: PopulationData | PopulationView,
    path: Destination | None = None,
    member: int | None = None,
    params: Sequence[str] | None = None,
) -> Figure:
    """Each hyperparameter and the score over steps: every member faint, ``member``'s bold.

    ``member`` defaults to the best member; ``params`` picks the subplots (default: every
    dimension but Fixed ones). Written to ``path`` (HTML) when given.

    Raises:
        ConfigurationError: ``path`` does not end in ``.html``, ``member`` is not in the
            population, or ``params`` names a parameter the space does not have.
        MissingDependencyError: plotly is not installed.
    """
    _check(path, "schedule")
    return _figure(_plotly.schedule_figure(_view(population), member, params), path)


def plot_params(
    population: PopulationData | PopulationView,
    path: Destination | None = None,
    *,
    x: str | None = None,
    y: str | None = None,
) -> Figure:
    """Hyperparameter ``x`` against the score (or against ``y``), animated over the run.

    ``x`` defaults to the first dimension that is not Fixed. A slider and a play button move
    through at most 40 frames, from the initial points to the final ones. Written to ``path``
    (HTML) when given.

    Raises:
        ConfigurationError: ``path`` does not end in ``.html``, or ``x`` or ``y`` is not in the
            space.
        MissingDependencyError: plotly is not installed.
    """
    _check(path, "params")
    return _figure(_plotly.params_figure(_view(population), x, y), path)
