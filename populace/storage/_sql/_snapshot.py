"""The population snapshot: four queries, whatever the population size, and their rows assembled.

The queries (members with their current params, ready records in the comparison window, each
member's recent scores, the watermark) run in one transaction that sees one state of the
database. Turning their rows into a :class:`PopulationSnapshot` needs no database, so
:func:`assemble_snapshot` is tested on plain tuples.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from populace.controller import Evaluation, MemberSnapshot, PopulationSnapshot, RecordTable
from populace.storage._sql._statements import STATEMENTS as SQL

__all__ = ["MemberRow", "RecentRow", "RecordRow", "assemble_snapshot", "read_snapshot"]

MemberRow = Sequence[Any]
"""(member, generation, state, step, last_decision_step, start_step, params as JSON,
checkpoint, checkpoint_step, evaluated_step, parent_member, parent_generation, child_member,
child_generation)."""

RecordRow = tuple[int, int, int, float, str | None, str]
"""A ready record: (member, generation, step, score, checkpoint, params as JSON)."""

RecentRow = tuple[int, float]
"""(member, score): one of the member's latest scores, each member's oldest first."""


def read_snapshot(
    c: sa.Connection,
    population: int,
    step: int,
    interval: int,
    recent: int,
    scores_until: int,
) -> PopulationSnapshot:
    """What the controller needs to decide at ``step``, read through ``c``.

    Ready records at steps in ``[step - interval, step]`` from every generation, and the
    ``recent`` latest scores at or before ``scores_until`` of each member's current generation
    (none when ``recent`` is 0).
    """
    key = {"population": population}
    members = c.execute(SQL.snapshot_members, key).all()
    window = {**key, "low": step - interval, "high": step}
    records = c.execute(SQL.snapshot_records, window).all()
    latest = {**key, "recent": recent, "high": scores_until}
    scores = c.execute(SQL.snapshot_recent, latest).all() if recent > 0 else []
    watermark = c.execute(SQL.watermark, key).scalar_one()
    return assemble_snapshot(members, records, scores, int(watermark))


def assemble_snapshot(
    members: Iterable[MemberRow],
    records: Sequence[RecordRow],
    recent: Iterable[RecentRow],
    watermark: int,
) -> PopulationSnapshot:
    """The snapshot the rows of the four snapshot queries describe.

    Rows that carry the same params text share one parsed dict: a thousand members of a few
    generations parse a few dicts, not a thousand.
    """
    params = functools.cache(json.loads)  # a fresh cache per snapshot
    scores: dict[int, list[float]] = defaultdict(list)
    for member_id, value in recent:
        scores[member_id].append(value)
    snapshots = tuple(
        MemberSnapshot(
            id=member_id,
            generation=generation,
            params=params(text),
            state=state,
            step=step,
            start_step=start_step,
            last_decision_step=last_decision_step,
            recent_scores=tuple(scores.get(member_id, ())),
            checkpoint=checkpoint,
            checkpoint_step=checkpoint_step,
            evaluated_step=evaluated_step,
            evaluation=_evaluation(evaluation),
        )
        for (
            member_id,
            generation,
            state,
            step,
            last_decision_step,
            start_step,
            text,
            checkpoint,
            checkpoint_step,
            evaluated_step,
            *evaluation,
        ) in members
    )
    return PopulationSnapshot(snapshots, _record_table(records, params), watermark)


def _evaluation(fields: Sequence[int | None]) -> Evaluation | None:
    """A FIRE evaluation from (parent, parent generation, child, child generation), if set."""
    parent, parent_generation, child, child_generation = fields
    if child is None or parent is None or parent_generation is None or child_generation is None:
        return None
    return Evaluation(parent, parent_generation, child, child_generation)


def _record_table(
    records: Sequence[RecordRow], params: Callable[[str], Mapping[str, Any]]
) -> RecordTable:
    columns: list[tuple[Any, ...]] = list(zip(*records, strict=True)) or [()] * 6
    member, generation, step, score, checkpoint, params_text = columns
    return RecordTable.from_columns(
        list(member),
        list(generation),
        list(step),
        list(score),
        list(checkpoint),
        [params(text) for text in params_text],
    )
