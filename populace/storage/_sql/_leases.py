"""Leases and failures: which worker trains a member, and when a member has failed for good.

A claim is one compare-and-set ``UPDATE``: it succeeds only on a running member that is free
(unleased, expired, held by a dead owner or by the claimer) for an owner not recorded as stopped.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from populace.controller import MemberState
from populace.storage._records import MemberRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._rows import member_record
from populace.storage._sql._statements import STATEMENTS as SQL

__all__ = ["claim", "count_failure", "counted_failure", "release", "renew"]


def claim(
    c: sa.Connection,
    population: int,
    member: int,
    owner: str,
    until: float,
    now: float,
    dead_owners: Collection[str],
) -> MemberRecord | None:
    """Lease the member to ``owner`` until ``until``; the member as claimed, or None."""
    params = {
        "population": population,
        "member": member,
        "owner": owner,
        "until": until,
        "now": now,
        "dead": list(dead_owners),
    }
    if c.execute(SQL.claim, params).rowcount != 1:
        return None
    # Read the member inside the claiming transaction: a copy read before the claim may predate
    # another worker's progress.
    return member_record(c.execute(SQL.member, params).one())


def renew(c: sa.Connection, population: int, owner: str, until: float, now: float | None) -> int:
    """Extend every lease ``owner`` holds (and, with ``now``, mark it seen); return how many."""
    key = {"population": population, "owner": owner}
    renewed = c.execute(SQL.renew, {**key, "until": until}).rowcount
    if now is not None:
        c.execute(SQL.worker_seen, {"population": population, "b_owner": owner, "now": now})
    return int(renewed)


def release(c: sa.Connection, population: int, member: int, owner: str) -> None:
    """Drop ``owner``'s lease on the member, if it holds it."""
    c.execute(SQL.release, {"population": population, "member": member, "owner": owner})


def count_failure(
    c: sa.Connection, population: int, member: int, error: str, limit: int, now: float
) -> bool:
    """Count a failure of the member; at ``limit`` failures it fails for good and its lease is
    dropped. Return whether it failed for good now."""
    m = t.members.c
    key = sa.and_(m.population_id == population, m.member_id == member)
    c.execute(
        t.members.update().where(key).values(failures=m.failures + 1, error=error, updated_at=now)
    )
    failed = c.execute(
        t.members.update()
        .where(key, m.failures >= limit, m.state == MemberState.RUNNING)
        .values(state=MemberState.FAILED, lease_owner=None, lease_until=None)
    ).rowcount
    return bool(failed == 1)


def counted_failure(
    c: sa.Connection, population: int, member: int, error: str, now: float
) -> bool | None:
    """Whether the member failed for good, if this very failure (``error`` at ``now``) is
    counted already; None if it is not."""
    m = t.members.c
    row = c.execute(
        sa.select(m.state, m.error, m.updated_at).where(
            m.population_id == population, m.member_id == member
        )
    ).first()
    if row is None or (row.error, row.updated_at) != (error, now):
        return None
    return bool(row.state == MemberState.FAILED)
