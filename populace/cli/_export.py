"""``populace export``: a population's tables as CSV, JSON or Parquet files, or its curves as
TensorBoard runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from populace.analysis import PopulationData
from populace.analysis._export import TABLES
from populace.cli._common import (
    CommandError,
    load_population,
    name_argument,
    out_option,
    storage_option,
    writing_into,
)

__all__ = ["export_command"]


def _require(module: str, install: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise CommandError(f"parquet export needs {module}: pip install {install}")


def export_parquet(population: PopulationData, directory: Path) -> list[Path]:
    """Write each table to ``<directory>/<name>-<table>.parquet``; return the paths."""
    _require("pandas", "'populace[analysis]'")
    _require("pyarrow", "pyarrow")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in TABLES:
        path = directory / f"{population.name}-{table}.parquet"
        population.to_pandas(table).to_parquet(path, index=False)
        paths.append(path)
    return paths


@click.command("export")
@storage_option
@name_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "json", "parquet", "tensorboard"]),
    default="csv",
    show_default=True,
    help="csv: one file per table; json: one file; parquet: one file per table (needs "
    "pyarrow); tensorboard: a run per member in OUT/NAME (needs 'populace[tensorboard]').",
)
@out_option
def export_command(storage: str, name: str, format_: str, out: Path) -> None:
    """Export population NAME's tables: members, results, decisions and lineage.

    Prints the path of every file written (of every run folder, for tensorboard).
    """
    population = load_population(storage, name, read_only=True)
    with writing_into(out):
        if format_ == "parquet":
            paths = export_parquet(population, out)
        else:
            paths = population.export(str(out), format_)
    for path in paths:
        click.echo(str(path))
