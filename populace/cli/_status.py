"""``populace status``: the populations in a storage, or the members of one."""

from __future__ import annotations

import time
from collections import Counter

import click

from populace.analysis import MemberResult
from populace.cli._common import (
    format_params,
    format_value,
    load_population,
    open_storage,
    print_table,
    storage_option,
)
from populace.controller import MemberState
from populace.runtime import Population, load
from populace.runtime._leases import dead_owners
from populace.runtime._worker import WorkerSettings
from populace.storage import BaseStorage, SegmentRecord, WorkerRecord

__all__ = ["member_rows", "population_rows", "status_command", "worker_rows", "worker_state"]

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


def _score(score: float | None) -> str:
    return "-" if score is None else format_value(score)


def population_rows(storage: BaseStorage) -> list[list[str]]:
    """One row per population: its size, members per state and best score."""
    rows = []
    for record in storage.list_populations():
        population = load(storage, record.name)
        members = population.members()
        states = Counter(m.state for m in members)
        best = population.best
        counts = [MemberState.RUNNING, MemberState.FINISHED, MemberState.FAILED]
        rows.append(
            [
                record.name,
                str(len(members)),
                *(str(states[state]) for state in counts),
                _score(None if best is None else best.score),
            ]
        )
    return rows


def member_rows(population: Population) -> list[list[str]]:
    """One row per member; its parent is the one its current generation was copied from."""
    # Members first: a live run only adds segments, so each member's is in the later read.
    members = population.members()
    leases = {m.id: m.lease_owner for m in population.storage.members(population.id)}
    segments = {(s.member, s.generation): s for s in population.lineage()}
    rows = []
    for m in members:
        segment = segments[(m.id, m.generation)]
        parent = (
            "-"
            if segment.parent_member is None
            else f"{segment.parent_member} (step {segment.parent_step})"
        )
        row = [
            str(m.id),
            m.state,
            str(m.step),
            str(m.generation),
            _score(m.score),
            format_params(m.params),
            parent,
            leases.get(m.id) or "-",
        ]
        if population.fire is not None:
            row += _fire_cells(m, segment)
        rows.append(row)
    return rows


def _fire_cells(member: MemberResult, segment: SegmentRecord) -> list[str]:
    """The role of a FIRE PBT row, and what it evaluates if it is an evaluator."""
    if not member.evaluator:
        return [f"P{member.subpopulation}", "-"]
    if segment.child_member is None or member.state != MemberState.RUNNING:
        return ["evaluator", "-"]
    return [
        "evaluator",
        f"member {segment.parent_member} with member {segment.child_member}'s params",
    ]


WORKER_COLUMNS = ("worker", "host", "pid", "started", "last seen", "state")


def _ago(now: float, then: float) -> str:
    return f"{now - then:.0f} s ago"


def worker_state(worker: WorkerRecord, now: float, dead: set[str]) -> str:
    """``running``, ``stopped ...``, or ``dead (...)`` saying why: its process on this host is
    gone (``dead`` holds such owners), or it was not seen for longer than its lease."""
    if worker.stopped_at is not None:
        return f"stopped {_ago(now, worker.stopped_at)}"
    if worker.owner in dead:
        return f"dead (process {worker.pid} on this host is gone)"
    # A worker recorded before workers stored their lease had the default one.
    lease = worker.lease_seconds or WorkerSettings.lease_seconds
    if now - worker.last_seen > lease:
        return (
            f"dead (not seen for {now - worker.last_seen:.0f} s, longer than its {lease:g} s lease)"
        )
    return "running"


def worker_rows(population: Population, now: float) -> list[list[str]]:
    """One row per worker that ever trained the population; running ones first."""
    workers = population.storage.workers(population.id)
    dead = dead_owners(w.owner for w in workers)
    rows = []
    for w in sorted(workers, key=lambda w: w.stopped_at or 0):
        state = worker_state(w, now, dead)
        rows.append(
            [w.owner, w.host, str(w.pid), _ago(now, w.started_at), _ago(now, w.last_seen), state]
        )
    return rows


@click.command("status")
@storage_option
@click.argument("name", required=False)
def status_command(storage: str, name: str | None) -> None:
    """Show the populations in a storage, or the members of population NAME.

    Without NAME: one line per population with its members per state and best score. With
    NAME: one line per member with its state, step, generation, latest score, params, parent
    (the member its current generation was copied from, and at which step) and lease owner,
    then one line per worker: its host and pid, when it was last seen (a heartbeat) and whether
    it runs, stopped or died (its process on this host is gone, or it was not seen for longer
    than its lease). Nothing in the storage is changed.
    Output is plain text when stdout is not a terminal.
    """
    if name is not None:
        population = load_population(storage, name, read_only=True)
        title = f"population {name!r} in {population.storage.url}"
        columns = MEMBER_COLUMNS + (FIRE_COLUMNS if population.fire is not None else ())
        print_table(title, columns, member_rows(population))
        workers = worker_rows(population, time.time())
        if workers:
            click.echo()
            print_table("workers", WORKER_COLUMNS, workers)
        return
    store = open_storage(storage, read_only=True)
    rows = population_rows(store)
    if not rows:
        click.echo(f"no populations in {store.url}")
        return
    print_table(f"populations in {store.url}", POPULATION_COLUMNS, rows)
