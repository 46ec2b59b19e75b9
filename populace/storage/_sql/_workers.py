"""The worker processes of a population: registered, seen by their heartbeats, stopped."""

from __future__ import annotations

import sqlalchemy as sa

from populace.storage._records import WorkerRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._rows import worker_record

__all__ = ["list_workers", "register_worker", "stop_worker"]


def register_worker(
    c: sa.Connection,
    population: int,
    owner: str,
    host: str,
    pid: int,
    now: float,
    lease_seconds: float | None,
) -> WorkerRecord:
    """Record the worker ``owner`` as started at ``now``, restarting its record if it has one.

    Raises:
        sqlalchemy.exc.IntegrityError: the population does not exist.
    """
    w = t.workers.c
    values = {
        "host": host,
        "pid": pid,
        "started_at": now,
        "last_seen": now,
        "stopped_at": None,
        "lease_seconds": lease_seconds,
    }
    mine = sa.and_(w.population_id == population, w.owner == owner)
    if c.execute(t.workers.update().where(mine).values(values)).rowcount == 0:
        c.execute(t.workers.insert().values(population_id=population, owner=owner, **values))
    return WorkerRecord(owner, host, pid, now, now, None, lease_seconds)


def stop_worker(c: sa.Connection, population: int, owner: str, now: float) -> None:
    """Record the worker ``owner`` as seen and stopped at ``now``."""
    w = t.workers.c
    c.execute(
        t.workers.update()
        .where(w.population_id == population, w.owner == owner)
        .values(last_seen=now, stopped_at=now)
    )


def list_workers(c: sa.Connection, population: int, version: int) -> list[WorkerRecord]:
    """The population's workers in the order they started, from a database at schema
    ``version`` (one opened read-only is read as it is)."""
    if version < 2:  # workers were not recorded yet
        return []
    w = t.workers.c
    # Version 2 has no lease_seconds.
    columns = [col for col in t.workers.c if version >= 3 or col.name != "lease_seconds"]
    rows = c.execute(
        sa.select(*columns).where(w.population_id == population).order_by(w.started_at, w.owner)
    ).all()
    return [worker_record(row) for row in rows]
