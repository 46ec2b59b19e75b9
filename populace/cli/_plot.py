"""``populace plot``: a population's curves, lineage tree and schedules as PNG or HTML files.

Run ``populace plot --storage sqlite:///runs.db train --out plots`` to write
``plots/train-curves.png``, ``plots/train-lineage.png`` and ``plots/train-schedule.png``; add
``--html`` for the interactive views instead, params animation included (``train-params.html``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from populace import analysis
from populace.analysis import PopulationData
from populace.analysis import matplotlib as static
from populace.cli._common import (
    CommandError,
    load_population,
    name_argument,
    out_option,
    storage_option,
    writing_into,
)

__all__ = ["plot_command", "write_plots"]

KINDS = ["curves", "lineage", "schedule", "params"]
PNG: dict[str, Callable[..., Any]] = {
    "curves": static.plot_curves,
    "lineage": static.plot_lineage,
    "schedule": static.plot_schedule,
}
HTML: dict[str, Callable[..., Any]] = {
    "curves": analysis.plot_curves,
    "lineage": analysis.plot_lineage,
    "schedule": analysis.plot_schedule,
    "params": analysis.plot_params,
}


def write_plots(
    population: PopulationData, directory: Path, kinds: list[str], html: bool = False
) -> list[Path]:
    """Write ``<directory>/<name>-<kind>.png`` (``.html`` with ``html``) per kind; return the paths.

    Raises:
        CommandError: the plotting library is missing, or a kind has no PNG form (params).
    """
    library, plots, suffix = ("plotly", HTML, "html") if html else ("matplotlib", PNG, "png")
    if importlib.util.find_spec(library) is None:
        raise CommandError(f"plots need {library}: pip install 'populace[analysis]'")
    interactive_only = [k for k in kinds if k not in plots]
    if interactive_only:
        raise CommandError(f"{', '.join(interactive_only)} is interactive only: add --html")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in kinds:
        path = directory / f"{population.name}-{kind}.{suffix}"
        plots[kind](population, path)
        paths.append(path)
    return paths


@click.command("plot")
@storage_option
@name_argument
@out_option
@click.option(
    "--kind",
    type=click.Choice([*KINDS, "all"]),
    default="all",
    show_default=True,
    help="curves: every member's score across exploits; lineage: who copied whom, when; "
    "schedule: each hyperparameter and the score over steps; params: a hyperparameter against "
    "the score, animated (--html only).",
)
@click.option(
    "--html",
    is_flag=True,
    help="Write interactive HTML views (plotly.js inlined, works offline) instead of PNG.",
)
def plot_command(storage: str, name: str, out: Path, kind: str, html: bool) -> None:
    """Plot population NAME: its curves, lineage tree and schedules, as PNG or HTML files.

    The best member's curve, ancestry and schedule are drawn in red. --kind all writes every
    kind the format has (params only as HTML). Prints the path of every file written.
    """
    population = load_population(storage, name, read_only=True)
    kinds = [k for k in KINDS if k in (HTML if html else PNG)] if kind == "all" else [kind]
    with writing_into(out):
        paths = write_plots(population, out, kinds, html)
    for path in paths:
        click.echo(str(path))
