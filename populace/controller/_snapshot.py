"""The read-only view of a population that the controller decides from.

Storage builds a snapshot in a constant number of queries; the controller never reads anything
else. A snapshot holds every member's current state and, as columns, the ready-point records that
fall in the comparison window of the decision being made, from every generation of every member
(so a member that exploited after another member's ready point is still seen as it was then).
Columns keep a decision over a thousand members within a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from populace.errors import MemberNotFoundError

__all__ = [
    "Evaluation",
    "MemberSnapshot",
    "MemberState",
    "PopulationSnapshot",
    "ReadyRecord",
    "RecordTable",
]


class MemberState:
    """Lifecycle of a member: running until its budget is spent, or failed for good."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class ReadyRecord:
    """A score reported at a ready point, with its checkpoint (if any) and params."""

    member: int
    generation: int
    step: int
    score: float
    checkpoint: str | None
    params: Mapping[str, Any] = field(hash=False, default_factory=dict)


@dataclass(frozen=True, eq=False)
class RecordTable:
    """Ready-point records as columns, one row per record."""

    member: np.ndarray
    generation: np.ndarray
    step: np.ndarray
    score: np.ndarray
    checkpoint: tuple[str | None, ...]
    params: tuple[Mapping[str, Any], ...]

    @cached_property
    def has_checkpoint(self) -> np.ndarray:
        """Whether each record has a checkpoint (only those can be copied)."""
        return np.fromiter(
            (c is not None for c in self.checkpoint), dtype=bool, count=len(self.checkpoint)
        )

    @classmethod
    def from_records(cls, records: Iterable[ReadyRecord]) -> RecordTable:
        """Build the columns from record values (tests and hand-built snapshots)."""
        rows = list(records)
        return cls.from_columns(
            [r.member for r in rows],
            [r.generation for r in rows],
            [r.step for r in rows],
            [r.score for r in rows],
            [r.checkpoint for r in rows],
            [r.params for r in rows],
        )

    @classmethod
    def from_columns(
        cls,
        member: list[int],
        generation: list[int],
        step: list[int],
        score: list[float],
        checkpoint: list[str | None],
        params: list[Mapping[str, Any]],
    ) -> RecordTable:
        """Build the table from one list per column."""
        return cls(
            np.asarray(member, dtype=np.int64),
            np.asarray(generation, dtype=np.int64),
            np.asarray(step, dtype=np.int64),
            np.asarray(score, dtype=np.float64),
            tuple(checkpoint),
            tuple(params),
        )

    def __len__(self) -> int:
        return len(self.member)

    def row(self, i: int) -> ReadyRecord:
        """Record ``i`` as a value."""
        return ReadyRecord(
            int(self.member[i]),
            int(self.generation[i]),
            int(self.step[i]),
            float(self.score[i]),
            self.checkpoint[i],
            self.params[i],
        )


@dataclass(frozen=True)
class MemberSnapshot:
    """One member as the controller sees it.

    ``step`` is the latest reported step, ``start_step`` the step its current generation started
    from, ``last_decision_step`` the step of its last decision (or ``start_step``).
    ``recent_scores`` are the latest scores of the current generation, oldest first.
    ``checkpoint`` is the latest checkpoint the member can restart from, saved at
    ``checkpoint_step``. FIRE PBT's fields: ``evaluation`` is what an evaluator's current
    generation evaluates (None for population members and idle evaluators), and
    ``evaluated_step`` the step of the current generation's checkpoint an evaluator last copied
    (None if none did).
    """

    id: int
    generation: int
    params: Mapping[str, Any] = field(hash=False)
    state: str
    step: int
    start_step: int
    last_decision_step: int
    recent_scores: tuple[float, ...] = ()
    checkpoint: str | None = None
    checkpoint_step: int = 0
    evaluation: Evaluation | None = None
    evaluated_step: int | None = None


@dataclass(frozen=True)
class Evaluation:
    """An evaluator's current evaluation: ``parent``'s weights (its generation
    ``parent_generation``) trained with the params of ``child`` (in ``child_generation``)."""

    parent: int
    parent_generation: int
    child: int
    child_generation: int


@dataclass(frozen=True, eq=False)
class PopulationSnapshot:
    """All members, their ready records in the window, and the storage watermark.

    The watermark is the newest result id the snapshot includes: a decision stored with it says
    exactly which results it was made from.
    """

    members: tuple[MemberSnapshot, ...]
    records: RecordTable = field(default_factory=lambda: RecordTable.from_records(()))
    watermark: int = 0

    @classmethod
    def build(
        cls,
        members: Iterable[MemberSnapshot],
        records: Iterable[ReadyRecord] = (),
        watermark: int = 0,
    ) -> PopulationSnapshot:
        """A snapshot from values (tests and hand-built snapshots)."""
        return cls(tuple(members), RecordTable.from_records(records), watermark)

    @cached_property
    def _by_id(self) -> dict[int, MemberSnapshot]:
        return {m.id: m for m in self.members}

    def member(self, member_id: int) -> MemberSnapshot:
        """Return the member with this id.

        Raises:
            MemberNotFoundError: no member of the snapshot has this id (a ``KeyError`` too).
        """
        try:
            return self._by_id[member_id]
        except KeyError:
            raise MemberNotFoundError(
                f"member {member_id!r} is not in the snapshot (it has {len(self.members)} members)"
            ) from None

    def records_of(self, member_id: int) -> tuple[ReadyRecord, ...]:
        """The member's ready records, by step."""
        rows = np.flatnonzero(self.records.member == member_id)
        return tuple(sorted((self.records.row(int(i)) for i in rows), key=lambda r: r.step))

    @cached_property
    def failed(self) -> np.ndarray:
        """Ids of failed members."""
        return np.asarray(
            [m.id for m in self.members if m.state == MemberState.FAILED], dtype=np.int64
        )
