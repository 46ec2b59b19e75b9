"""``populace show``: one member of a population, everything about it in one place."""

from __future__ import annotations

import json
from typing import Any

import click

from populace.cli._common import (
    format_params,
    format_value,
    load_population,
    name_argument,
    print_table,
    schedule_lines,
    storage_option,
)
from populace.cli._member_data import member_summary

__all__ = ["show_command"]

LINEAGE_COLUMNS = ("generation", "from step", "params", "started from", "decision")


def _role(summary: dict[str, Any]) -> list[str]:
    if summary["evaluator"]:
        return ["role: evaluator (FIRE PBT)"]
    if summary["subpopulation"] is not None:
        return [f"role: sub-population P{summary['subpopulation']} (FIRE PBT)"]
    return []


def _header(summary: dict[str, Any]) -> list[str]:
    score = summary["score"]
    return [
        f"member {summary['member']} of population {summary['population']!r} in "
        f"{summary['storage']}",
        *_role(summary),
        f"state: {summary['state']} at step {summary['step']}, generation {summary['generation']}",
        f"score: {'-' if score is None else format_value(score)}",
        *([f"metrics: {format_params(summary['metrics'])}"] if summary["metrics"] else []),
        f"params: {format_params(summary['params'])}",
        *schedule_lines(summary["schedule"]),
        "",
    ]


def _started_from(member: int, generation: dict[str, Any]) -> str:
    parent, child = generation["parent"], generation["child"]
    if parent is None:
        return "scratch"
    whose = "its own" if parent["member"] == member else f"member {parent['member']}'s"
    text = f"{whose} checkpoint (generation {parent['generation']}, step {parent['step']})"
    return text if child is None else f"{text} with member {child['member']}'s params"


def _lineage_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for g in summary["lineage"]:
        decision = g["decision"]
        rows.append(
            [
                str(g["generation"]),
                str(g["start_step"]),
                format_params(g["params"]) or "-",  # an idle FIRE evaluator has none
                _started_from(summary["member"], g),
                "-"
                if decision is None
                else f"{decision['kind']} at step {decision['step']}: {decision['reason']}",
            ]
        )
    return rows


def _footer(summary: dict[str, Any]) -> list[str]:
    checkpoint, error = summary["checkpoint"], summary["error"]
    lines = ["", "checkpoint: -"]
    if checkpoint is not None:
        lines[1:] = [
            f"checkpoint: {checkpoint['ref']} (step {checkpoint['step']})",
            f"checkpoint file: {checkpoint['path']}",
        ]
    if error is not None:
        lines += ["", "traceback:", *(f"  {line}" for line in error.rstrip().splitlines())]
    return lines


def print_member(summary: dict[str, Any]) -> None:
    """Print the summary as text: a header, the lineage as a table, the checkpoint and the
    traceback of a failed member."""
    click.echo("\n".join(_header(summary)))
    print_table("lineage:", LINEAGE_COLUMNS, _lineage_rows(summary))
    click.echo("\n".join(_footer(summary)))


@click.command("show")
@storage_option
@name_argument
@click.argument("member", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the member as one JSON object.")
def show_command(storage: str, name: str, member: int, as_json: bool) -> None:
    """Show MEMBER (its id) of population NAME: everything about it in one place.

    Its role under FIRE PBT (sub-population or evaluator), state, step, generation, latest
    score (and the extra metrics reported with it) and params; its schedule (the params its
    model trained with over steps, stitched across exploits); its lineage (each of its
    generations: the step it started at, its params, whose checkpoint it copied, and the
    decision that started it with its reason); the checkpoint it restarts from; and, if it
    failed, the traceback train() raised. Nothing in the storage is changed.

    \b
    With --json, one object with the keys population, storage, member, subpopulation,
    evaluator, state, step, generation, score, metrics: {name: value}, params,
    schedule: [{step, member, generation, params}], lineage: [{generation, start_step,
    params, parent: {member, generation, step, checkpoint}, child: {member, generation},
    decision: {kind, step, reason}}], checkpoint: {ref, step, path} and error (the
    traceback); null where there is none.
    """
    population = load_population(storage, name, read_only=True)
    summary = member_summary(population, member)
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        print_member(summary)
