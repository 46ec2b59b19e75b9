"""Populations: created whole (every member at generation 0, with its first segment), found by
name, moved to a new checkpoint folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from populace.controller import MemberState
from populace.storage._records import PopulationRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._rows import dumps, population_record

__all__ = [
    "all_populations",
    "created_population",
    "insert_population",
    "move_checkpoints",
    "population_named",
]


def insert_population(
    c: sa.Connection,
    name: str,
    config: Mapping[str, Any],
    checkpoints: str,
    initial_params: Sequence[Mapping[str, Any]],
    now: float,
) -> int:
    """Insert the population, its members and their first segments; return its id.

    Raises:
        sqlalchemy.exc.IntegrityError: a population is called ``name`` already.
    """
    pid = c.execute(
        t.populations.insert().values(
            name=name, config=dumps(config), checkpoints=checkpoints, created_at=now
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    c.execute(
        t.members.insert(),
        [
            dict(
                population_id=pid,
                member_id=i,
                generation=0,
                state=MemberState.RUNNING,
                step=0,
                last_decision_step=0,
                checkpoint=None,
                checkpoint_step=0,
                updated_at=now,
            )
            for i in range(len(initial_params))
        ],
    )
    c.execute(
        t.segments.insert(),
        [
            dict(
                population_id=pid,
                member_id=i,
                generation=0,
                start_step=0,
                params=dumps(dict(p)),
                created_at=now,
            )
            for i, p in enumerate(initial_params)
        ],
    )
    return int(pid)


def created_population(
    c: sa.Connection, name: str, config: Mapping[str, Any], checkpoints: str, now: float
) -> PopulationRecord | None:
    """The population called ``name`` if it is the one these arguments create, else None."""
    found = population_named(c, name)
    if found is None or (found.checkpoints, found.created_at) != (checkpoints, now):
        return None
    return found if dumps(found.config) == dumps(config) else None


def move_checkpoints(c: sa.Connection, population: int, checkpoints: str) -> bool:
    """Record ``checkpoints`` as the population's checkpoint folder; False if there is no such
    population."""
    p = t.populations.c
    update = t.populations.update().where(p.id == population).values(checkpoints=checkpoints)
    return bool(c.execute(update).rowcount == 1)


def population_named(c: sa.Connection, name: str) -> PopulationRecord | None:
    """The population called ``name``, or None."""
    row = c.execute(sa.select(t.populations).where(t.populations.c.name == name)).first()
    return None if row is None else population_record(row)


def all_populations(c: sa.Connection) -> list[PopulationRecord]:
    """Every population, oldest first."""
    rows = c.execute(sa.select(t.populations).order_by(t.populations.c.id)).all()
    return [population_record(row) for row in rows]
