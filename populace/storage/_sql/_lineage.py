"""Lineage: every generation of every member, and the chain of copies behind one member."""

from __future__ import annotations

import sqlalchemy as sa

from populace.storage._records import SegmentRecord
from populace.storage._sql import _schema as t
from populace.storage._sql._rows import segment_record

__all__ = ["ancestry", "segments"]


def segments(c: sa.Connection, population: int) -> list[SegmentRecord]:
    """Every segment of the population, by member and generation."""
    s = t.segments.c
    query = (
        sa.select(t.segments)
        .where(s.population_id == population)
        .order_by(s.member_id, s.generation)
    )
    return [segment_record(row) for row in c.execute(query)]


def ancestry(c: sa.Connection, population: int, member: int) -> list[SegmentRecord]:
    """The segments that produced ``member``'s current model, oldest first: its current
    generation, the one it was copied from, and so on back to a start from scratch. One
    recursive query, however long the run."""
    m, s = t.members.c, t.segments.c
    # (member, generation, how many copies back): the current generation, then its parent's.
    chain = (
        sa.select(m.member_id.label("member"), m.generation, sa.literal(0).label("depth"))
        .where(m.population_id == population, m.member_id == member)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        sa.select(s.parent_member, s.parent_generation, chain.c.depth + 1).where(
            s.population_id == population,
            s.member_id == chain.c.member,
            s.generation == chain.c.generation,
            s.parent_member.is_not(None),
        )
    )
    query = (
        sa.select(t.segments)
        .join(chain, sa.and_(s.member_id == chain.c.member, s.generation == chain.c.generation))
        .where(s.population_id == population)
        .order_by(chain.c.depth.desc())
    )
    return [segment_record(row) for row in c.execute(query)]
