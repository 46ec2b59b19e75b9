"""``populace best``: the best member, its schedule and where its checkpoint lies on disk;
``--out`` writes a directory checkpoint's files out as a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from populace.analysis import PopulationData
from populace.cli._common import (
    CommandError,
    format_params,
    format_value,
    load_population,
    name_argument,
    schedule_lines,
    storage_option,
)

__all__ = ["best_command", "best_summary", "print_best", "write_best_folder"]


def best_summary(population: PopulationData) -> dict[str, Any]:
    """The best member as JSON-able data.

    Raises:
        CommandError: no member has reported a score yet.
    """
    best = population.best
    if best is None:
        raise CommandError(f"population {population.name!r} has no scores yet")
    checkpoint = best.checkpoint
    return {
        "population": population.name,
        "storage": population.storage.url,
        "member": best.id,
        "state": best.state,
        "step": best.step,
        "generation": best.generation,
        "score": best.score,
        "params": dict(best.params),
        "schedule": best.schedule.to_list(),
        "checkpoint": None
        if checkpoint is None
        else {
            "ref": checkpoint.ref,
            "member": checkpoint.member,
            "step": checkpoint.step,
            "path": population.checkpoints.location(checkpoint.ref),
        },
    }


def write_best_folder(population: PopulationData, out: Path) -> Path:
    """Write the best member's directory checkpoint into the new or empty folder ``out``.

    Raises:
        CommandError: no member has a score, the best one has no checkpoint, or its checkpoint
            is an object rather than a folder.
        CheckpointError: ``out`` holds something, or a file of the checkpoint is damaged.
    """
    best = population.best
    checkpoint = None if best is None else best.checkpoint
    if checkpoint is None:
        raise CommandError(f"the best member of population {population.name!r} has no checkpoint")
    if not checkpoint.is_directory:
        raise CommandError(
            f"the best checkpoint of population {population.name!r} is an object, not a folder "
            "(pop.Directory): --out writes only directory checkpoints; load this one with "
            f"pop.load(...).best.checkpoint.load() (its file: "
            f"{population.checkpoints.location(checkpoint.ref)})"
        )
    return checkpoint.load_directory(out)


def render_best(summary: dict[str, Any]) -> list[str]:
    """The summary as lines of text, one schedule entry a line."""
    lines = [
        f"population {summary['population']!r} in {summary['storage']}",
        f"best member: {summary['member']} ({summary['state']}, generation "
        f"{summary['generation']})",
        f"score: {format_value(summary['score'])} at step {summary['step']}",
        f"params: {format_params(summary['params'])}",
        *schedule_lines(summary["schedule"]),
    ]
    checkpoint = summary["checkpoint"]
    if checkpoint is not None:
        lines.append(f"checkpoint: {checkpoint['ref']} (step {checkpoint['step']})")
        lines.append(f"checkpoint file: {checkpoint['path']}")
        if "folder" in checkpoint:
            lines.append(f"checkpoint folder: {checkpoint['folder']} (written)")
    return lines


def print_best(population: PopulationData) -> None:
    click.echo("\n".join(render_best(best_summary(population))))


@click.command("best")
@storage_option
@name_argument
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the best member's directory checkpoint (pop.Directory) into this new or empty "
    "folder.",
)
def best_command(storage: str, name: str, as_json: bool, out: Path | None) -> None:
    """Show the best member of population NAME.

    Prints its score, params, the schedule that produced it (one line per generation it
    descends from) and its checkpoint: the ref and the file that holds it. With --out, a
    directory checkpoint's files are written into that folder, whole or not at all.
    """
    population = load_population(storage, name, read_only=True)
    summary = best_summary(population)
    if out is not None:
        summary["checkpoint"]["folder"] = str(write_best_folder(population, out))
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo("\n".join(render_best(summary)))
