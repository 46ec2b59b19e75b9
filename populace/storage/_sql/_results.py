"""Reported scores: stored behind a compare-and-set that moves the member forward, read back.

The member's row moves to the new step only while it runs in the reporting generation, behind
that step, leased to the reporting worker (if it names itself); otherwise nothing is stored and
the refusal says which of these failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from populace.controller import MemberState
from populace.errors import PopulaceError, ReportError, StorageError
from populace.storage._records import PendingResult, ResultRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._rows import result_record
from populace.storage._sql._statements import STATEMENTS as SQL

__all__ = [
    "all_results",
    "best_saved_results",
    "insert_results",
    "refusal",
    "saved_results",
    "stored_result",
]


def insert_results(
    c: sa.Connection,
    population: int,
    member: int,
    generation: int,
    step: int,
    score: float,
    *,
    ready: bool,
    checkpoint: str | None,
    now: float,
    owner: str | None,
    earlier: Sequence[PendingResult],
    metrics: Mapping[str, float] | None = None,
) -> int:
    """Store a result, and the ``earlier`` ones of its batch, in the caller's transaction;
    return its id.

    Raises:
        ReportError, StorageError: the member refused it (see :func:`refusal`).
    """
    key = {"population": population, "member": member, "b_generation": generation}
    first = earlier[0].step if earlier else step
    params = {
        **key,
        "b_owner": owner,
        "b_anyone": owner is None,
        "b_first": first,
        "new_step": step,
        "now": now,
        "b_score": score,
        "b_ready": ready,
        "ref": checkpoint,
        "b_metrics": metrics_json(metrics),
    }
    advance = SQL.advance_member if checkpoint is None else SQL.advance_member_with_checkpoint
    if c.execute(advance, params).rowcount != 1:
        m = t.members.c
        mine = sa.and_(m.population_id == population, m.member_id == member)
        row = c.execute(sa.select(t.members).where(mine)).first()
        raise refusal(row, population, member, generation, first, owner)
    if earlier:
        rows = [
            {
                **key,
                "b_owner": owner,
                "new_step": pending.step,
                "now": pending.reported_at,
                "b_score": pending.score,
                "b_ready": False,
                "ref": None,
                "b_metrics": metrics_json(pending.metrics),
            }
            for pending in earlier
        ]
        c.execute(SQL.insert_result, rows)
    inserted = c.execute(SQL.insert_result, params).inserted_primary_key
    return int(inserted[0])  # type: ignore[index]


def metrics_json(metrics: Mapping[str, float] | None) -> str | None:
    """Extra metrics as stored: a JSON object with sorted keys, or NULL for none."""
    return json.dumps(dict(metrics), sort_keys=True) if metrics else None


def refusal(
    row: Any, population: int, member: int, generation: int, step: int, owner: str | None
) -> PopulaceError:
    """Why the member's row ``row`` (None: there is none) refuses a result at ``step``."""
    if row is None:
        return StorageError(f"member {member} does not exist in population {population}")
    if row.state != MemberState.RUNNING:
        return ReportError(f"member {member} is {row.state}; it takes no more results")
    if row.generation != generation:
        return StorageError(
            f"member {member} moved to generation {row.generation} (it exploited); a result "
            f"for generation {generation} is stale"
        )
    if owner is not None and row.lease_owner != owner:
        return StorageError(
            f"member {member} is leased by {row.lease_owner or 'nobody'}, not {owner}: a "
            "result from a worker that lost its lease is refused"
        )
    return ReportError(
        f"step {step} of member {member} does not come after its current step {row.step}: "
        "steps count completed training steps and must increase (the first report is at "
        "step 1 or later)"
    )


def stored_result(
    c: sa.Connection, population: int, member: int, generation: int, step: int
) -> Any:
    """The row of the member's result at ``step`` of ``generation``, or None."""
    r = t.results.c
    return c.execute(
        sa.select(t.results).where(
            r.population_id == population,
            r.member_id == member,
            r.generation == generation,
            r.step == step,
        )
    ).first()


def all_results(c: sa.Connection, population: int, after: int = 0) -> list[ResultRecord]:
    """Every result of the population with an id above ``after``, in the order stored."""
    r = t.results.c
    return _results(c, r.population_id == population, r.id > after)


def saved_results(c: sa.Connection, population: int, from_step: int) -> list[ResultRecord]:
    """The results saved with a checkpoint at ``from_step`` or later, in the order stored."""
    return _results(c, *_saved(population), t.results.c.step >= from_step)


def best_saved_results(
    c: sa.Connection, population: int, count: int, maximize: bool
) -> list[ResultRecord]:
    """The ``count`` best results saved with a checkpoint, best first (ties: stored first)."""
    r = t.results.c
    score = r.score.desc() if maximize else r.score.asc()
    return _results(c, *_saved(population), order=(score, r.id), limit=count)


def _saved(population: int) -> tuple[Any, ...]:
    r = t.results.c
    return r.population_id == population, r.ready.is_(True), r.checkpoint.is_not(None)


def _results(
    c: sa.Connection,
    *where: Any,
    order: tuple[Any, ...] = (t.results.c.id,),
    limit: int | None = None,
) -> list[ResultRecord]:
    query = sa.select(t.results).where(*where).order_by(*order).limit(limit)
    return [result_record(row) for row in c.execute(query).all()]
