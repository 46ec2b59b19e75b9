"""What ``populace status`` shows, as JSON-able data: the populations of a storage, or the
members and workers of one.

The text tables and ``status --json`` are both made from these dicts, so they never disagree;
their keys are a documented interface for scripts (see ``populace status --help``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from populace.analysis import MemberResult
from populace.controller import MemberState
from populace.runtime import Population, load
from populace.runtime._leases import dead_owners
from populace.runtime._worker import WorkerSettings
from populace.storage import BaseStorage, MemberRecord, SegmentRecord, WorkerRecord

__all__ = ["population_status", "storage_status", "worker_condition", "worker_rows"]

_COUNTED = (MemberState.RUNNING, MemberState.FINISHED, MemberState.FAILED)


def storage_status(storage: BaseStorage) -> dict[str, Any]:
    """Every population in ``storage``: its size, members per state and best score."""
    populations = []
    for record in storage.list_populations():
        population = load(storage, record.name)
        members = population.members()
        states = Counter(m.state for m in members)
        best = population.best
        populations.append(
            {
                "name": record.name,
                "members": len(members),
                **{state: states[state] for state in _COUNTED},
                "best_score": None if best is None else best.score,
            }
        )
    return {"storage": storage.url, "populations": populations}


def population_status(population: Population, now: float) -> dict[str, Any]:
    """The members of ``population`` and the workers that ever trained it, as seen at ``now``."""
    # Members first: a live run only adds segments, so each member's is in the later read.
    members = population.members()
    records = population.storage.members(population.id)
    leases = {m.id: m.lease_owner for m in records}
    segments = {(s.member, s.generation): s for s in population.lineage()}
    return {
        "population": population.name,
        "storage": population.storage.url,
        "fire": population.fire is not None,
        "members": [_member(m, segments[(m.id, m.generation)], leases.get(m.id)) for m in members],
        "workers": worker_rows(population.storage.workers(population.id), records, now),
    }


def _member(member: MemberResult, segment: SegmentRecord, lease: str | None) -> dict[str, Any]:
    """A member; its parent is the one its current generation was copied from."""
    parent = segment.parent_member
    child = segment.child_member
    running = member.state == MemberState.RUNNING
    evaluating = {"parent": parent, "child": child} if running and child is not None else None
    return {
        "member": member.id,
        "state": member.state,
        "step": member.step,
        "generation": member.generation,
        "score": member.score,
        "params": dict(member.params),
        "parent": None if parent is None else {"member": parent, "step": segment.parent_step},
        "lease_owner": lease,
        "role": "evaluator" if member.evaluator else _subpopulation(member.subpopulation),
        "evaluating": evaluating,
    }


def _subpopulation(number: int | None) -> str | None:
    return None if number is None else f"P{number}"


def worker_condition(worker: WorkerRecord, now: float, dead: set[str]) -> tuple[str, str | None]:
    """``("running", None)``, ``("stopped", None)`` or ``("dead", why)``: its process on this
    host is gone (``dead`` holds such owners), or it was not seen for longer than its lease."""
    if worker.stopped_at is not None:
        return "stopped", None
    if worker.owner in dead:
        return "dead", f"process {worker.pid} on this host is gone"
    # A worker recorded before workers stored their lease had the default one.
    lease = worker.lease_seconds or WorkerSettings.lease_seconds
    if now - worker.last_seen > lease:
        return "dead", (
            f"not seen for {now - worker.last_seen:.0f} s, longer than its {lease:g} s lease"
        )
    return "running", None


def worker_rows(
    workers: Sequence[WorkerRecord], members: Sequence[MemberRecord], now: float
) -> list[dict[str, Any]]:
    """Every worker that ever trained the population, running ones first: its heartbeat, its
    lease length, the members it holds now, and whether it is running, stopped or dead."""
    dead = dead_owners(w.owner for w in workers)
    out = []
    for w in sorted(workers, key=lambda w: w.stopped_at or 0):
        state, why = worker_condition(w, now, dead)
        out.append(
            {
                "worker": w.owner,
                "host": w.host,
                "pid": w.pid,
                "started_at": w.started_at,
                "last_seen": w.last_seen,
                "stopped_at": w.stopped_at,
                "lease_seconds": w.lease_seconds,
                "members": [m.id for m in members if m.lease_owner == w.owner],
                "state": state,
                "why": why,
            }
        )
    return out
