"""The read-only view of a population that the controller decides from.

Storage builds a snapshot in a constant number of queries; the controller never reads anything
else. A snapshot holds, per member, its current state plus the ready-point records that fall in
the comparison window of the decision being made, from every generation of the member (so a
member that exploited after another member's ready point is still seen as it was then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MemberSnapshot", "PopulationSnapshot", "ReadyRecord", "MemberState"]


class MemberState:
    """Lifecycle of a member: running until its budget is spent, or failed for good."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class ReadyRecord:
    """A score reported at a ready point, with its checkpoint (if any) and params."""

    generation: int
    step: int
    score: float
    checkpoint: str | None
    params: Mapping[str, Any] = field(hash=False, default_factory=dict)


@dataclass(frozen=True)
class MemberSnapshot:
    """One member as the controller sees it.

    ``step`` is the latest reported step, ``start_step`` the step its current generation started
    from, ``last_decision_step`` the step of its last decision (or ``start_step``).
    ``recent_scores`` are the latest scores of the current generation, oldest first.
    """

    id: int
    generation: int
    params: Mapping[str, Any] = field(hash=False)
    state: str
    step: int
    start_step: int
    last_decision_step: int
    records: tuple[ReadyRecord, ...] = ()
    recent_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class PopulationSnapshot:
    """All members, plus the storage watermark (the newest result id the snapshot includes)."""

    members: tuple[MemberSnapshot, ...]
    watermark: int = 0

    def member(self, member_id: int) -> MemberSnapshot:
        """Return the member with this id, or raise KeyError."""
        for member in self.members:
            if member.id == member_id:
                return member
        raise KeyError(f"member {member_id} is not in the snapshot")
