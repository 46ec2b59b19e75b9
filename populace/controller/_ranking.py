"""Time-fair comparison sets: who a ready member is ranked against, and how.

A member ready at step ``t`` is compared with each other member's latest ready-point record at a
step in ``[t - interval, t]``. Members ahead are therefore seen as they were at (or just before)
``t``, not with scores earned by training longer; members behind by more than one interval, or
without a ready point yet, are left out rather than compared with stale scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from populace.controller._snapshot import MemberState, PopulationSnapshot, ReadyRecord

__all__ = ["Candidate", "comparison_set"]


@dataclass(frozen=True)
class Candidate:
    """A member's entry in a comparison: its record, with ``fitness`` higher-is-better."""

    member: int
    generation: int
    step: int
    score: float
    fitness: float
    checkpoint: str | None
    params: Mapping[str, Any] = field(hash=False)
    recent: tuple[float, ...] = ()

    @property
    def rank_key(self) -> tuple[float, int]:
        """Sort key, best first; equal fitness ranks the lower member id higher."""
        return (-self.fitness, self.member)

    def beats(self, other: Candidate) -> bool:
        """Whether this candidate ranks above ``other``."""
        return self.rank_key < other.rank_key


def _latest_in_window(records: Sequence[ReadyRecord], low: int, high: int) -> ReadyRecord | None:
    inside = [r for r in records if low <= r.step <= high]
    return max(inside, key=lambda r: (r.step, r.generation), default=None)


def comparison_set(
    snapshot: PopulationSnapshot, step: int, interval: int, maximize: bool
) -> list[Candidate]:
    """Return every member comparable at ``step``, best first (ties by member id)."""
    sign = 1.0 if maximize else -1.0
    candidates = []
    for member in snapshot.members:
        if member.state == MemberState.FAILED:
            continue
        record = _latest_in_window(member.records, step - interval, step)
        if record is None:
            continue
        recent = member.recent_scores if record.generation == member.generation else ()
        candidates.append(
            Candidate(
                member=member.id,
                generation=record.generation,
                step=record.step,
                score=record.score,
                fitness=sign * record.score,
                checkpoint=record.checkpoint,
                params=record.params,
                recent=tuple(sign * s for s in recent),
            )
        )
    candidates.sort(key=lambda c: c.rank_key)
    return candidates
