"""Prebuilt SQL statements of the hot paths, with bind parameters.

Building a SQLAlchemy expression costs more than running it on SQLite, so the statements that run
on every report and decision are built once per process and reused.
"""

from __future__ import annotations

from functools import cached_property

import sqlalchemy as sa
from sqlalchemy import bindparam as p

from populace.controller import MemberState
from populace.storage._sql import _schema as t

__all__ = ["STATEMENTS"]

m, s, r, d, w = t.members.c, t.segments.c, t.results.c, t.decisions.c, t.workers.c

_current_segment = sa.and_(
    s.population_id == m.population_id, s.member_id == m.member_id, s.generation == m.generation
)
_result_segment = sa.and_(
    s.population_id == r.population_id, s.member_id == r.member_id, s.generation == r.generation
)
_member_key = sa.and_(m.population_id == p("population"), m.member_id == p("member"))


class _Statements:
    @cached_property
    def advance_member(self) -> sa.Update:
        return (
            t.members.update()
            .where(
                _member_key,
                m.generation == p("b_generation"),
                m.step < p("b_first"),
                m.state == MemberState.RUNNING,
                # a writer that names itself must hold the lease: never two trainers at once
                sa.or_(p("b_anyone", type_=sa.Boolean), m.lease_owner == p("b_owner")),
            )
            .values(step=p("new_step"), updated_at=p("now"))
        )

    @cached_property
    def advance_member_with_checkpoint(self) -> sa.Update:
        return self.advance_member.values(checkpoint=p("ref"), checkpoint_step=p("new_step"))

    @cached_property
    def insert_result(self) -> sa.Insert:
        return t.results.insert().values(
            population_id=p("population"),
            member_id=p("member"),
            generation=p("b_generation"),
            step=p("new_step"),
            score=p("b_score"),
            ready=p("b_ready"),
            checkpoint=p("ref"),
            owner=p("b_owner"),
            created_at=p("now"),
            metrics=p("b_metrics"),
        )

    @cached_property
    def snapshot_members(self) -> sa.Select:
        return (
            sa.select(
                m.member_id,
                m.generation,
                m.state,
                m.step,
                m.last_decision_step,
                s.start_step,
                s.params,
                m.checkpoint,
                m.checkpoint_step,
                m.evaluated_step,
                s.parent_member,
                s.parent_generation,
                s.child_member,
                s.child_generation,
            )
            .join(t.segments, _current_segment)
            .where(m.population_id == p("population"))
            .order_by(m.member_id)
        )

    @cached_property
    def snapshot_records(self) -> sa.Select:
        return (
            sa.select(r.member_id, r.generation, r.step, r.score, r.checkpoint, s.params)
            .join(t.segments, _result_segment)
            .where(
                r.population_id == p("population"),
                r.ready.is_(True),
                r.step >= p("low"),
                r.step <= p("high"),
            )
        )

    @cached_property
    def snapshot_recent(self) -> sa.Select:
        # Each member's ``recent``-th latest step is found by one index seek (OFFSET on the
        # unique key), once per member in a materialised CTE; then only the scores at or after
        # it are read. Numbering every stored score instead (a window function) grows with the
        # whole history: FIRE reads 128-point curves at every decision.
        older = t.results.alias("older")
        oldest_kept = (
            sa.select(older.c.step)
            .where(
                older.c.population_id == m.population_id,
                older.c.member_id == m.member_id,
                older.c.generation == m.generation,
                older.c.step <= p("high"),
            )
            .order_by(older.c.step.desc())
            .limit(1)
            .offset(p("recent") - 1)
            .scalar_subquery()
        )
        since = (
            sa.select(
                m.member_id,
                m.generation,
                # fewer than ``recent`` scores: all of them (stored steps are >= 1)
                sa.func.coalesce(oldest_kept, -1).label("low"),
            )
            .where(m.population_id == p("population"))
            .cte("since")
            .prefix_with("MATERIALIZED")  # else SQLite runs the seek once per stored score
        )
        return (
            sa.select(r.member_id, r.score)
            .join(
                since,
                sa.and_(
                    r.population_id == p("population"),
                    r.member_id == since.c.member_id,
                    r.generation == since.c.generation,
                ),
            )
            .where(r.step >= since.c.low, r.step <= p("high"))
            .order_by(r.member_id, r.step)
        )

    @cached_property
    def watermark(self) -> sa.Select:
        return sa.select(sa.func.coalesce(sa.func.max(r.id), 0)).where(
            r.population_id == p("population")
        )

    @cached_property
    def find_decision(self) -> sa.Select:
        return sa.select(d.decision).where(
            d.population_id == p("population"),
            d.member_id == p("member"),
            d.generation == p("b_generation"),
            d.step == p("b_step"),
        )

    @cached_property
    def insert_decision(self) -> sa.Insert:
        return t.decisions.insert().values(
            population_id=p("population"),
            member_id=p("member"),
            generation=p("b_generation"),
            step=p("b_step"),
            decision=p("b_decision"),
            compared=p("b_compared"),
            watermark=p("b_watermark"),
            created_at=p("now"),
        )

    @cached_property
    def member_checkpoint(self) -> sa.Select:
        return sa.select(m.checkpoint).where(_member_key)

    @cached_property
    def members(self) -> sa.Select:
        return (
            sa.select(t.members, s.params, s.start_step, s.parent_member, s.child_member)
            .join(t.segments, _current_segment)
            .where(m.population_id == p("population"))
            .order_by(m.member_id)
        )

    @cached_property
    def member(self) -> sa.Select:
        return self.members.where(m.member_id == p("member"))

    @cached_property
    def claim(self) -> sa.Update:
        free = sa.or_(
            m.lease_owner.is_(None),
            m.lease_until < p("now"),
            m.lease_owner == p("owner"),
            m.lease_owner.in_(p("dead", expanding=True)),
        )
        stopped = sa.exists().where(
            w.population_id == p("population"), w.owner == p("owner"), w.stopped_at.is_not(None)
        )
        return (
            t.members.update()
            .where(_member_key, m.state == MemberState.RUNNING, free, ~stopped)
            .values(lease_owner=p("owner"), lease_until=p("until"))
        )

    @cached_property
    def renew(self) -> sa.Update:
        return (
            t.members.update()
            .where(m.population_id == p("population"), m.lease_owner == p("owner"))
            .values(lease_until=p("until"))
        )

    @cached_property
    def release(self) -> sa.Update:
        return (
            t.members.update()
            .where(_member_key, m.lease_owner == p("owner"))
            .values(lease_owner=None, lease_until=None)
        )

    @cached_property
    def worker_seen(self) -> sa.Update:
        return (
            t.workers.update()
            .where(w.population_id == p("population"), w.owner == p("b_owner"))
            .values(last_seen=p("now"))
        )


STATEMENTS = _Statements()
