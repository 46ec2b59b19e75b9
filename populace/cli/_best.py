"""``populace best``: the best member, its schedule and where its checkpoint lies on disk."""

from __future__ import annotations

import json
from typing import Any

import click

from populace.analysis import PopulationData
from populace.cli._common import (
    CommandError,
    format_params,
    format_value,
    load_population,
    name_argument,
    storage_option,
)

__all__ = ["best_command", "best_summary", "print_best"]


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


def render_best(summary: dict[str, Any]) -> list[str]:
    """The summary as lines of text, one schedule entry a line."""
    lines = [
        f"population {summary['population']!r} in {summary['storage']}",
        f"best member: {summary['member']} ({summary['state']}, generation "
        f"{summary['generation']})",
        f"score: {format_value(summary['score'])} at step {summary['step']}",
        f"params: {format_params(summary['params'])}",
        "schedule:",
        *(
            f"  from step {e['step']}: {format_params(e['params'])}  "
            f"(member {e['member']}, generation {e['generation']})"
            for e in summary["schedule"]
        ),
    ]
    checkpoint = summary["checkpoint"]
    if checkpoint is not None:
        lines.append(f"checkpoint: {checkpoint['ref']} (step {checkpoint['step']})")
        lines.append(f"checkpoint file: {checkpoint['path']}")
    return lines


def print_best(population: PopulationData) -> None:
    click.echo("\n".join(render_best(best_summary(population))))


@click.command("best")
@storage_option
@name_argument
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def best_command(storage: str, name: str, as_json: bool) -> None:
    """Show the best member of population NAME.

    Prints its score, params, the schedule that produced it (one line per generation it
    descends from) and its checkpoint: the ref and the file that holds it.
    """
    population = load_population(storage, name, read_only=True)
    if as_json:
        click.echo(json.dumps(best_summary(population), indent=1))
    else:
        print_best(population)
