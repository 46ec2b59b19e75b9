"""One member as JSON-able data: what ``populace show`` prints, as text or as JSON.

Everything comes from a few whole-population reads (members, lineage, decisions), never one
query per generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from populace.analysis import MemberResult, PopulationData
from populace.cli._common import CommandError
from populace.storage import DecisionRecord, MemberRecord, SegmentRecord

__all__ = ["member_summary"]

_FORKS = ("exploit", "explore", "evaluate")
"""The decisions that end a generation by starting the next one."""


def member_summary(population: PopulationData, member: int) -> dict[str, Any]:
    """Member ``member`` of ``population``: its state, params, schedule, lineage, checkpoint and
    the traceback it failed with.

    Raises:
        CommandError: the population has no such member.
    """
    # Members first: a live run only adds segments and decisions, so the later reads hold
    # every generation the member has.
    result = _find(population, population.members(), member)
    record = next(r for r in population.storage.members(population.id) if r.id == member)
    segments = [s for s in population.lineage() if s.member == member]
    decisions = [d for d in population.decisions() if d.member == member]
    return {
        "population": population.name,
        "storage": population.storage.url,
        "member": result.id,
        "subpopulation": result.subpopulation,
        "evaluator": result.evaluator,
        "state": result.state,
        "step": result.step,
        "generation": result.generation,
        "score": result.score,
        "metrics": dict(result.metrics),
        "params": dict(result.params),
        "schedule": result.schedule.to_list(),
        "lineage": [_generation(s, decisions) for s in segments],
        "checkpoint": _checkpoint(population, record),
        "error": result.error,
    }


def _find(population: PopulationData, members: Sequence[MemberResult], member: int) -> MemberResult:
    for m in members:
        if m.id == member:
            return m
    ids = [m.id for m in members]
    raise CommandError(
        f"population {population.name!r} has no member {member} (its members are {min(ids)} to "
        f"{max(ids)})"
    )


def _generation(segment: SegmentRecord, decisions: Sequence[DecisionRecord]) -> dict[str, Any]:
    """A generation: where it started from, and the decision that started it (None for the
    first, which starts from scratch)."""
    parent = None
    if segment.parent_member is not None:
        parent = {
            "member": segment.parent_member,
            "generation": segment.parent_generation,
            "step": segment.parent_step,
            "checkpoint": segment.checkpoint,
        }
    child = None
    if segment.child_member is not None:
        child = {"member": segment.child_member, "generation": segment.child_generation}
    started = next(
        (
            d
            for d in decisions
            if d.generation == segment.generation - 1 and d.decision.kind in _FORKS
        ),
        None,
    )
    return {
        "generation": segment.generation,
        "start_step": segment.start_step,
        "params": dict(segment.params),
        "parent": parent,
        "child": child,
        "decision": None
        if started is None
        else {
            "kind": started.decision.kind,
            "step": started.step,
            "reason": started.decision.reason,
        },
    }


def _checkpoint(population: PopulationData, record: MemberRecord) -> dict[str, Any] | None:
    """The checkpoint the member restarts from: its latest, or its parent's right after an
    exploit."""
    if record.checkpoint is None:
        return None
    return {
        "ref": record.checkpoint,
        "step": record.checkpoint_step,
        "path": population.checkpoints.location(record.checkpoint),
    }
