"""``populace status``: the populations in a storage, or the members of one, as tables or JSON."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from populace.cli._common import (
    format_params,
    format_value,
    load_population,
    open_storage,
    print_table,
    storage_option,
)
from populace.cli._status_data import population_status, storage_status, worker_condition
from populace.storage import WorkerRecord

__all__ = ["status_command", "worker_state"]

POPULATION_COLUMNS = ("population", "members", "running", "finished", "failed", "best score")
MEMBER_COLUMNS = (
    "member",
    "state",
    "step",
    "generation",
    "score",
    "params",
    "parent",
    "lease owner",
)
FIRE_COLUMNS = ("role", "evaluating")
"""Added under FIRE PBT: each row's sub-population or evaluator, and what an evaluator
evaluates."""
WORKER_COLUMNS = ("worker", "host", "pid", "started", "last seen", "state")


def _score(score: float | None) -> str:
    return "-" if score is None else format_value(score)


def _ago(now: float, then: float) -> str:
    return f"{now - then:.0f} s ago"


def _population_row(population: dict[str, Any]) -> list[str]:
    counts = ("members", "running", "finished", "failed")
    return [
        population["name"],
        *(str(population[c]) for c in counts),
        _score(population["best_score"]),
    ]


def _member_row(member: dict[str, Any], fire: bool) -> list[str]:
    parent = member["parent"]
    row = [
        str(member["member"]),
        member["state"],
        str(member["step"]),
        str(member["generation"]),
        _score(member["score"]),
        format_params(member["params"]),
        "-" if parent is None else f"{parent['member']} (step {parent['step']})",
        member["lease_owner"] or "-",
    ]
    if fire:
        evaluating = member["evaluating"]
        row += [
            member["role"],
            "-"
            if evaluating is None
            else f"member {evaluating['parent']} with member {evaluating['child']}'s params",
        ]
    return row


def _state_text(state: str, why: str | None, stopped_at: float | None, now: float) -> str:
    if state == "stopped" and stopped_at is not None:
        return f"stopped {_ago(now, stopped_at)}"
    return state if why is None else f"{state} ({why})"


def worker_state(worker: WorkerRecord, now: float, dead: set[str]) -> str:
    """``running``, ``stopped ...``, or ``dead (...)`` saying why: its process on this host is
    gone (``dead`` holds such owners), or it was not seen for longer than its lease."""
    return _state_text(*worker_condition(worker, now, dead), worker.stopped_at, now)


def _worker_row(worker: dict[str, Any], now: float) -> list[str]:
    state = _state_text(worker["state"], worker["why"], worker["stopped_at"], now)
    return [
        worker["worker"],
        worker["host"],
        str(worker["pid"]),
        _ago(now, worker["started_at"]),
        _ago(now, worker["last_seen"]),
        state,
    ]


def _print_population(data: dict[str, Any], now: float) -> None:
    fire = data["fire"]
    title = f"population {data['population']!r} in {data['storage']}"
    columns = MEMBER_COLUMNS + (FIRE_COLUMNS if fire else ())
    print_table(title, columns, [_member_row(m, fire) for m in data["members"]])
    if data["workers"]:
        click.echo()
        print_table("workers", WORKER_COLUMNS, [_worker_row(w, now) for w in data["workers"]])


def _print_storage(data: dict[str, Any]) -> None:
    if not data["populations"]:
        click.echo(f"no populations in {data['storage']}")
        return
    rows = [_population_row(p) for p in data["populations"]]
    print_table(f"populations in {data['storage']}", POPULATION_COLUMNS, rows)


@click.command("status")
@storage_option
@click.argument("name", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object instead of tables (keys below)."
)
def status_command(storage: str, name: str | None, as_json: bool) -> None:
    """Show the populations in a storage, or the members of population NAME.

    Without NAME: one line per population with its members per state and best score. With
    NAME: one line per member with its state, step, generation, latest score, params, parent
    (the member its current generation was copied from, and at which step) and lease owner,
    then one line per worker: its host and pid, when it was last seen (a heartbeat) and whether
    it runs, stopped or died (its process on this host is gone, or it was not seen for longer
    than its lease). Nothing in the storage is changed.
    Output is plain text when stdout is not a terminal.

    With --json, the same as one JSON object with these keys (null where a table shows -;
    times in seconds since the epoch):

    \b
    without NAME:
      storage, populations: [{name, members, running, finished, failed, best_score}]
    with NAME:
      population, storage, fire (whether it is FIRE PBT),
      members: [{member, state, step, generation, score, params,
                 parent: {member, step}, lease_owner,
                 role: "P1".."Pn" or "evaluator" (FIRE PBT),
                 evaluating: {parent, child} (a running FIRE evaluator)}],
      workers: [{worker, host, pid, started_at, last_seen, stopped_at, lease_seconds,
                 members (the ids it holds now), state: "running", "stopped" or "dead",
                 why (why dead)}]
    """
    now = time.time()
    if name is not None:
        data = population_status(load_population(storage, name, read_only=True), now)
    else:
        data = storage_status(open_storage(storage, read_only=True))
    if as_json:
        click.echo(json.dumps(data, indent=1))
    elif name is not None:
        _print_population(data, now)
    else:
        _print_storage(data)
