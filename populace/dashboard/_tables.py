"""The dashboard's tables as JSON-able rows: populations, members, decisions, failures, workers.

Pure functions of a :class:`LivePopulation`, so the page and the tests see the same data.
"""

from __future__ import annotations

import time
from typing import Any

from populace.analysis._views import metric_names
from populace.cli import _status_data as status_data
from populace.controller import MemberState, decision_to_dict
from populace.dashboard._live import LivePopulation
from populace.storage import DecisionRecord

__all__ = [
    "decision_detail",
    "decision_rows",
    "failure_rows",
    "member_rows",
    "summary",
    "worker_rows",
]


def member_rows(live: LivePopulation) -> dict[str, Any]:
    """Every member with its latest score and parent, and which one is best."""
    view = live.view()
    latest = view.latest
    rows = []
    for m in view.members:
        segment = view.segment.get((m.id, m.generation))
        parent = None
        if segment is not None and segment.parent_member is not None:
            parent = {"member": segment.parent_member, "step": segment.parent_step}
        rows.append(
            {
                "member": m.id,
                "state": m.state,
                "step": m.step,
                "generation": m.generation,
                "score": latest[m.id].score if m.id in latest else None,
                "params": dict(m.params),
                "parent": parent,
                "failures": m.failures,
                "lease_owner": m.lease_owner,
                "label": view.label(m.id),
            }
        )
    return {"members": rows, "best": view.best}


def summary(live: LivePopulation) -> dict[str, Any]:
    """A population at a glance: its size, progress, best score and state."""
    controller = live.record.config["controller"]
    view = live.view()
    latest = view.latest
    states = [m.state for m in view.members]
    running = states.count(MemberState.RUNNING)
    failed = states.count(MemberState.FAILED)
    results = view.results
    return {
        "name": live.record.name,
        "members": len(states),
        "running": running,
        "failed": failed,
        "budget": controller["budget"],
        "interval": controller["interval"],
        "direction": controller["direction"],
        "step": max((m.step for m in view.members), default=0),
        "results": len(results),
        "latest_step": results[-1].step if results else None,
        "decisions": len(view.decisions),
        "best_member": view.best,
        "best_score": None if view.best is None else latest[view.best].score,
        "state": "running" if running else ("failed" if failed == len(states) else "finished"),
        "metrics": metric_names(view),
        "params": list(live.record.config["space"]),
        "created_at": live.record.created_at,
    }


def decision_rows(live: LivePopulation, limit: int, kinds: set[str] | None) -> dict[str, Any]:
    """The ``limit`` newest decisions of the given kinds (all: None), with their reasons; the
    comparison behind each is fetched apart (:func:`decision_detail`), being one row a member."""
    chosen = [d for d in reversed(live.decisions) if kinds is None or d.decision.kind in kinds]
    return {"total": len(chosen), "decisions": [_decision(d) for d in chosen[:limit]]}


def decision_detail(live: LivePopulation, id: int) -> dict[str, Any] | None:
    """Decision ``id`` with the comparison it was made from (each member's step and score in
    the snapshot it was decided on), best first; None if there is none."""
    found = next((d for d in live.decisions if d.id == id), None)
    if found is None:
        return None
    sign = -1.0 if live.maximize else 1.0
    compared = sorted(found.compared, key=lambda c: (sign * c[2], c[0]))
    return {
        **_decision(found),
        "compared": [{"member": m, "step": step, "score": s} for m, step, s in compared],
    }


def _decision(d: DecisionRecord) -> dict[str, Any]:
    details = decision_to_dict(d.decision)
    return {
        "id": d.id,
        "member": d.member,
        "generation": d.generation,
        "step": d.step,
        "kind": details.pop("kind"),
        "reason": details.pop("reason"),
        "details": details,
        "compared_count": len(d.compared),
        "at": d.created_at,
    }


def failure_rows(live: LivePopulation) -> list[dict[str, Any]]:
    """Every member that failed or has failed tries, with the error (a traceback) stored."""
    return [
        {
            "member": m.id,
            "state": m.state,
            "step": m.step,
            "failures": m.failures,
            "error": m.error,
        }
        for m in live.members
        if m.error is not None or m.failures
    ]


def worker_rows(live: LivePopulation) -> list[dict[str, Any]]:
    """Every worker that ever trained the population, running first, with its heartbeat: the
    rows of ``populace status --json``."""
    return status_data.worker_rows(live.workers, live.members, time.time())
