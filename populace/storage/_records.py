"""Immutable records that storage returns: the population as data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from populace.controller import Decision

__all__ = [
    "DecisionRecord",
    "MemberRecord",
    "PendingResult",
    "PopulationRecord",
    "ReportedResult",
    "ResultRecord",
    "SegmentRecord",
    "WorkerRecord",
]


@dataclass(frozen=True)
class PopulationRecord:
    """A population: its name, stored configuration and where its checkpoints live."""

    id: int
    name: str
    config: Mapping[str, Any] = field(hash=False)
    checkpoints: str
    created_at: float


@dataclass(frozen=True)
class MemberRecord:
    """The current state of one member (the mutable part of the population).

    ``checkpoint`` is the latest checkpoint the member can restart from, saved at
    ``checkpoint_step``: its own, or its parent's (``parent_member``) right after an exploit.
    ``child_member`` is set on a FIRE evaluator's evaluation: the member whose params it trains
    ``parent_member``'s weights with.
    """

    id: int
    generation: int
    params: Mapping[str, Any] = field(hash=False)
    state: str
    step: int
    start_step: int
    last_decision_step: int
    checkpoint: str | None
    checkpoint_step: int
    parent_member: int | None = None
    child_member: int | None = None
    error: str | None = None
    failures: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None


@dataclass(frozen=True)
class SegmentRecord:
    """One generation of a member: the params it trained with and where it started from.

    Generation 0 starts from scratch. A later generation starts from ``checkpoint``, saved by
    ``parent_member`` (the member itself after an explore-only decision) in generation
    ``parent_generation`` at ``parent_step``. The segments are the lineage. A FIRE evaluator's
    generation is an evaluation: it trains the parent's weights with the params of
    ``child_member`` (in its generation ``child_generation``).
    """

    member: int
    generation: int
    start_step: int
    params: Mapping[str, Any] = field(hash=False)
    parent_member: int | None
    parent_generation: int | None
    parent_step: int | None
    checkpoint: str | None
    created_at: float
    child_member: int | None = None
    child_generation: int | None = None


@dataclass(frozen=True)
class ResultRecord:
    """A reported score; ``ready`` results were reported at a ready point. ``metrics`` holds
    the extra metrics reported with it, by name (only the score drives decisions)."""

    id: int
    member: int
    generation: int
    step: int
    score: float
    ready: bool
    checkpoint: str | None
    created_at: float
    owner: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict, hash=False)


class PendingResult(NamedTuple):
    """A result reported between ready points and not stored yet (batched in memory)."""

    step: int
    score: float
    reported_at: float
    metrics: Mapping[str, float]


class ReportedResult(NamedTuple):
    """One member's result in a batch of several members' results (see ``record_results``)."""

    member: int
    generation: int
    step: int
    score: float
    ready: bool
    checkpoint: str | None
    now: float
    earlier: Sequence[PendingResult] = ()
    metrics: Mapping[str, float] | None = None


class ProposedDecision(NamedTuple):
    """One member's decision in a batch of several members' (see ``commit_decisions``)."""

    member: int
    generation: int
    step: int
    decision: Decision
    compared: Sequence[tuple[int, int, float]]
    watermark: int
    now: float


@dataclass(frozen=True)
class DecisionRecord:
    """A committed decision with the comparison it was made from and the storage watermark."""

    id: int
    member: int
    generation: int
    step: int
    decision: Decision = field(hash=False)
    compared: tuple[tuple[int, int, float], ...] = field(hash=False)
    watermark: int
    created_at: float


@dataclass(frozen=True)
class WorkerRecord:
    """A worker process of a population: its lease owner id, where it runs, when it was seen.

    ``last_seen`` moves with each heartbeat; ``stopped_at`` is set when the worker stops cleanly,
    so a worker that is not stopped and not seen for longer than ``lease_seconds`` has died.
    """

    owner: str
    host: str
    pid: int
    started_at: float
    last_seen: float
    stopped_at: float | None = None
    lease_seconds: float | None = None
    """How long the worker's leases last: unseen for longer than this, it has died."""
