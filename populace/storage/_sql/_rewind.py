"""Moving a member back to an earlier step of its generation.

A member that restarts from its last checkpoint lost the interval after it: the results reported
there are deleted and its step moves back. A member whose latest checkpoint is damaged moves back
to an earlier checkpoint, and the decisions taken on the deleted results go too, so it decides
afresh when it reaches those steps again, on the scores it reaches them with.
"""

from __future__ import annotations

import sqlalchemy as sa

from populace.controller import MemberState
from populace.errors import StorageError
from populace.storage._sql import _schema as t

__all__ = ["discard_results_after", "restore_checkpoint"]


def discard_results_after(
    c: sa.Connection, population: int, member: int, generation: int, step: int
) -> int:
    """Delete the member's results after ``step`` in ``generation`` and move its step back to
    ``step``; return how many were deleted."""
    m = t.members.c
    deleted = _delete_results_after(c, population, member, generation, step)
    c.execute(
        t.members.update()
        .where(
            m.population_id == population,
            m.member_id == member,
            m.generation == generation,
            m.step > step,
        )
        .values(step=step)
    )
    return deleted


def restore_checkpoint(
    c: sa.Connection,
    population: int,
    member: int,
    generation: int,
    step: int,
    checkpoint: str | None,
    *,
    own_start: bool,
) -> int:
    """Move the running member back to ``checkpoint`` at ``step``, deleting its results and
    decisions after it; return how many results were deleted.

    With ``own_start``, ``checkpoint`` (the member's own at its exploit) becomes the start of
    ``generation``, replacing the damaged copy of its parent's in the lineage.

    Raises:
        StorageError: the member is no longer running in ``generation``.
    """
    m, s = t.members.c, t.segments.c
    moved = c.execute(
        t.members.update()
        .where(
            m.population_id == population,
            m.member_id == member,
            m.generation == generation,
            m.state == MemberState.RUNNING,
        )
        .values(step=step, checkpoint=checkpoint, checkpoint_step=step, last_decision_step=step)
    ).rowcount
    if moved != 1:
        raise StorageError(f"member {member} is no longer running in generation {generation}")
    if own_start:
        c.execute(
            t.segments.update()
            .where(s.population_id == population, s.member_id == member, s.generation == generation)
            .values(
                checkpoint=checkpoint,
                parent_member=member,
                parent_generation=generation - 1,
                parent_step=step,
            )
        )
    deleted = _delete_results_after(c, population, member, generation, step)
    d = t.decisions.c
    c.execute(
        t.decisions.delete().where(
            d.population_id == population,
            d.member_id == member,
            d.generation == generation,
            d.step > step,
        )
    )
    return deleted


def _delete_results_after(
    c: sa.Connection, population: int, member: int, generation: int, step: int
) -> int:
    r = t.results.c
    deleted = c.execute(
        t.results.delete().where(
            r.population_id == population,
            r.member_id == member,
            r.generation == generation,
            r.step > step,
        )
    ).rowcount
    return int(deleted)
