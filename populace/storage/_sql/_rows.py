"""Database rows as the immutable records storage returns, and values as the JSON it stores.

Params, configurations and decisions are stored as compact JSON text; every other column maps to
a record field as it is.
"""

from __future__ import annotations

import json
from typing import Any

from populace.controller import decision_from_dict
from populace.storage._records import (
    DecisionRecord,
    MemberRecord,
    PopulationRecord,
    ResultRecord,
    SegmentRecord,
    WorkerRecord,
)

__all__ = [
    "decision_record",
    "dumps",
    "member_record",
    "population_record",
    "result_record",
    "segment_record",
    "worker_record",
]


def dumps(value: Any) -> str:
    """``value`` as compact JSON: one text per value, so equal values compare equal as text."""
    return json.dumps(value, separators=(",", ":"))


def population_record(row: Any) -> PopulationRecord:
    """A ``populace_populations`` row."""
    return PopulationRecord(
        row.id, row.name, json.loads(row.config), row.checkpoints, row.created_at
    )


def member_record(row: Any) -> MemberRecord:
    """A ``populace_members`` row joined with its current segment's params, start step and
    parent."""
    return MemberRecord(
        id=row.member_id,
        generation=row.generation,
        params=json.loads(row.params),
        state=row.state,
        step=row.step,
        start_step=row.start_step,
        last_decision_step=row.last_decision_step,
        checkpoint=row.checkpoint,
        checkpoint_step=row.checkpoint_step,
        parent_member=row.parent_member,
        child_member=row.child_member,
        error=row.error,
        failures=row.failures,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


def segment_record(row: Any) -> SegmentRecord:
    """A ``populace_segments`` row: one generation of a member."""
    return SegmentRecord(
        row.member_id,
        row.generation,
        row.start_step,
        json.loads(row.params),
        row.parent_member,
        row.parent_generation,
        row.parent_step,
        row.checkpoint,
        row.created_at,
        row.child_member,
        row.child_generation,
    )


_decode = json.JSONDecoder().decode


def result_record(row: Any) -> ResultRecord:
    """A ``populace_results`` row (read by position: a run's whole history can be 10^5 rows)."""
    id, _, member, generation, step, score, ready, checkpoint, owner, created_at, metrics = row
    return ResultRecord(
        id,
        member,
        generation,
        step,
        score,
        bool(ready),
        checkpoint,
        created_at,
        owner,
        {} if metrics is None else _decode(metrics),
    )


def decision_record(row: Any) -> DecisionRecord:
    """A ``populace_decisions`` row, its decision and comparison parsed back."""
    return DecisionRecord(
        row.id,
        row.member_id,
        row.generation,
        row.step,
        decision_from_dict(json.loads(row.decision)),
        tuple(tuple(x) for x in json.loads(row.compared)),
        row.watermark,
        row.created_at,
    )


def worker_record(row: Any) -> WorkerRecord:
    """A ``populace_workers`` row; one of schema version 2 has no ``lease_seconds``."""
    return WorkerRecord(
        row.owner,
        row.host,
        row.pid,
        row.started_at,
        row.last_seen,
        row.stopped_at,
        row._mapping.get("lease_seconds"),
    )
