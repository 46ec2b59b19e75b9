"""``populace plot``: a population's lineage tree and hyperparameter schedules as PNG files.

Run ``populace plot --storage sqlite:///runs.db train --out plots`` to write
``plots/train-lineage.png`` and ``plots/train-schedule.png``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from populace.analysis import PopulationData, plot_lineage, plot_schedule
from populace.cli._common import (
    CommandError,
    load_population,
    name_argument,
    out_option,
    storage_option,
    writing_into,
)

__all__ = ["plot_command", "write_plots"]

PLOTS = {"lineage": plot_lineage, "schedule": plot_schedule}


def write_plots(population: PopulationData, directory: Path, kinds: list[str]) -> list[Path]:
    """Write ``<directory>/<name>-<kind>.png`` for each kind; return the paths."""
    if importlib.util.find_spec("matplotlib") is None:
        raise CommandError("plots need matplotlib: pip install 'populace[analysis]'")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in kinds:
        path = directory / f"{population.name}-{kind}.png"
        PLOTS[kind](population, path)
        paths.append(path)
    return paths


@click.command("plot")
@storage_option
@name_argument
@out_option
@click.option(
    "--kind",
    type=click.Choice([*PLOTS, "all"]),
    default="all",
    show_default=True,
    help="lineage: who copied whom, when; schedule: each hyperparameter and the score over steps.",
)
def plot_command(storage: str, name: str, out: Path, kind: str) -> None:
    """Plot population NAME: its lineage tree and its hyperparameter schedules, as PNG files.

    The best member's ancestry and schedule are drawn in bold red. Prints the path of every
    file written.
    """
    population = load_population(storage, name, read_only=True)
    with writing_into(out):
        paths = write_plots(population, out, list(PLOTS) if kind == "all" else [kind])
    for path in paths:
        click.echo(str(path))
