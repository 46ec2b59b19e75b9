"""Decisions committed once per (population, member, generation, step), with their effects.

The first commit for a key inserts the decision and applies its effects (see ``_effects``) in
one transaction; a later one returns the stored decision, applying its effects only if the member
still stands before them. The unique key settles a race: the losing transaction fails with an
IntegrityError and, run again, reads the winner's decision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from populace.controller import Decision, decision_from_dict, decision_to_dict
from populace.storage._records import DecisionRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._effects import apply_decision, stands_before
from populace.storage._sql._rows import decision_record, dumps
from populace.storage._sql._statements import STATEMENTS as SQL

__all__ = ["all_decisions", "commit", "find_decision"]


def find_decision(
    c: sa.Connection, population: int, member: int, generation: int, step: int
) -> Decision | None:
    """The decision committed for the key, or None."""
    key = {"population": population, "member": member, "b_generation": generation}
    raw = c.execute(SQL.find_decision, {**key, "b_step": step}).scalar()
    return None if raw is None else decision_from_dict(json.loads(raw))


def commit(
    c: sa.Connection,
    population: int,
    member: int,
    generation: int,
    step: int,
    decision: Decision,
    compared: Sequence[tuple[int, int, float]],
    watermark: int,
    now: float,
) -> Decision:
    """Commit ``decision`` in the caller's transaction unless one is stored for the key; return
    the committed one.

    Raises:
        sqlalchemy.exc.IntegrityError: another transaction committed one for the key meanwhile.
        StorageError: the member is no longer at ``generation``.
    """
    existing = find_decision(c, population, member, generation, step)
    if existing is not None:
        if stands_before(c, population, member, generation, step):
            apply_decision(c, population, member, generation, step, existing, now)
        return existing
    c.execute(
        SQL.insert_decision,
        {
            "population": population,
            "member": member,
            "b_generation": generation,
            "b_step": step,
            "b_decision": dumps(decision_to_dict(decision)),
            "b_compared": dumps([list(x) for x in compared]),
            "b_watermark": watermark,
            "now": now,
        },
    )
    apply_decision(c, population, member, generation, step, decision, now)
    return decision


def all_decisions(c: sa.Connection, population: int, after: int = 0) -> list[DecisionRecord]:
    """Every decision of the population with an id above ``after``, in the order committed."""
    d = t.decisions.c
    query = sa.select(t.decisions).where(d.population_id == population, d.id > after).order_by(d.id)
    return [decision_record(row) for row in c.execute(query).all()]
