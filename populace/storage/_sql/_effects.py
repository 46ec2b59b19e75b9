"""What a committed decision does to its member: the PBT semantics, as rows.

A decision is taken by a member at a ready point ``step`` of its generation ``generation``:

- **Continue**: the member trains on with the same weights and hyperparameters; ``step`` becomes
  its last decision step, so it is not asked again there.
- **Stop**: the same, and the member is finished (its budget is spent): it takes no more results.
- **Exploit**: the member copies a stronger member's model. It starts generation
  ``generation + 1`` from the parent's checkpoint, at the step the parent saved it
  (``parent_step``), with explored hyperparameters; its step, last decision step and checkpoint
  step all become ``parent_step`` (it may move back), and the new generation's segment names the
  parent, its generation and step as where it came from.
- **Explore** (explore-only PBT): the member keeps its own weights and changes only its
  hyperparameters. It starts generation ``generation + 1`` from its own latest checkpoint at
  ``step`` (which stays its step and last decision step), and the new segment names the member
  itself, in ``generation``, as its parent.
- **Evaluate** (FIRE PBT): an evaluator starts an evaluation like an exploit (a new generation
  from the parent's checkpoint, at ``parent_step``, with the child's params); its segment also
  names the child and the child's generation, and the parent, if still in
  ``parent_generation``, records ``parent_step`` as when its weights were last evaluated.
- **Wait** is never stored: committing one is refused before it gets here.

A new generation never rewrites an old one: its segment is a new row, so the segments of a
member are its lineage. The member's row changes only while it still stands in ``generation``
(a compare-and-set), which is what makes applying a decision safe under concurrent commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from populace.controller import Decision, Evaluate, Exploit, Explore, MemberState, Stop
from populace.errors import StorageError
from populace.storage._records import SegmentRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._rows import dumps
from populace.storage._sql._statements import STATEMENTS as SQL

__all__ = ["Effects", "apply_decision", "effects_of", "stands_before"]


@dataclass(frozen=True)
class Effects:
    """The writes of one decision: the member row's new values, and the segment of the
    generation it starts (None if it stays in its generation)."""

    member: Mapping[str, Any] = field(hash=False)
    segment: SegmentRecord | None = None


def effects_of(
    decision: Decision,
    member: int,
    generation: int,
    step: int,
    own_checkpoint: str | None,
    now: float,
) -> Effects:
    """The effects of ``decision``, taken by ``member`` at ``step`` of ``generation``.

    ``own_checkpoint`` is the member's latest checkpoint: where an explore starts from.
    """
    if isinstance(decision, (Exploit, Evaluate)):
        # An evaluation is an exploit that also names the child whose params it trains with.
        child = (
            (decision.child, decision.child_generation)
            if isinstance(decision, Evaluate)
            else (None, None)
        )
        return _new_generation(
            SegmentRecord(
                member,
                generation + 1,
                decision.parent_step,
                dict(decision.params),
                decision.parent,
                decision.parent_generation,
                decision.parent_step,
                decision.parent_checkpoint,
                now,
                *child,
            ),
            now,
        )
    if isinstance(decision, Explore):
        return _new_generation(
            SegmentRecord(
                member,
                generation + 1,
                step,
                dict(decision.params),
                member,
                generation,
                step,
                own_checkpoint,
                now,
            ),
            now,
        )
    values: dict[str, Any] = {"last_decision_step": step, "updated_at": now}
    if isinstance(decision, Stop):
        values["state"] = MemberState.FINISHED
    return Effects(values)


def _new_generation(segment: SegmentRecord, now: float) -> Effects:
    """The member starts ``segment``: from its checkpoint, at its start step, deciding afresh."""
    start = segment.start_step
    member = {
        "generation": segment.generation,
        "step": start,
        "last_decision_step": start,
        "checkpoint": segment.checkpoint,
        "checkpoint_step": start,
        "evaluated_step": None,
        "updated_at": now,
    }
    return Effects(member, segment)


def apply_decision(
    c: sa.Connection,
    population: int,
    member: int,
    generation: int,
    step: int,
    decision: Decision,
    now: float,
) -> None:
    """Write the effects of ``decision`` in the caller's transaction.

    Raises:
        StorageError: the member is no longer at ``generation``.
    """
    own = None
    if isinstance(decision, Explore):
        key = {"population": population, "member": member}
        own = c.execute(SQL.member_checkpoint, key).scalar()
    effects = effects_of(decision, member, generation, step, own, now)
    if effects.segment is not None:
        c.execute(t.segments.insert().values(_segment_row(population, effects.segment)))
    m = t.members.c
    mine = sa.and_(m.population_id == population, m.member_id == member)
    update = t.members.update().where(mine, m.generation == generation).values(**effects.member)
    if c.execute(update).rowcount != 1:
        raise StorageError(f"member {member} is no longer at generation {generation}")
    if isinstance(decision, Evaluate):
        parent = sa.and_(
            m.population_id == population,
            m.member_id == decision.parent,
            m.generation == decision.parent_generation,
        )
        c.execute(t.members.update().where(parent).values(evaluated_step=decision.parent_step))


def _segment_row(population: int, segment: SegmentRecord) -> dict[str, Any]:
    return {
        "population_id": population,
        "member_id": segment.member,
        "generation": segment.generation,
        "start_step": segment.start_step,
        "params": dumps(dict(segment.params)),
        "parent_member": segment.parent_member,
        "parent_generation": segment.parent_generation,
        "parent_step": segment.parent_step,
        "checkpoint": segment.checkpoint,
        "child_member": segment.child_member,
        "child_generation": segment.child_generation,
        "created_at": segment.created_at,
    }


def stands_before(
    c: sa.Connection, population: int, member: int, generation: int, step: int
) -> bool:
    """Whether the member still stands before its stored decision at ``step``: running in
    ``generation`` with no decision since an earlier step.

    A database written before rewinds deleted the decisions they undo can hold such a decision;
    applying it again keeps the member from being ready at that step forever.
    """
    row = c.execute(SQL.member, {"population": population, "member": member}).first()
    return (
        row is not None
        and row.generation == generation
        and row.state == MemberState.RUNNING
        and row.last_decision_step < step
    )
