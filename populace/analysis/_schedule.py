"""Hyperparameter schedules stitched across exploits, and the lineage they come from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from populace.storage import SegmentRecord

__all__ = ["Schedule", "ScheduleEntry", "ancestry", "stitch"]


@dataclass(frozen=True)
class ScheduleEntry:
    """From ``step`` on, the model trained with ``params`` as ``member`` in ``generation``."""

    step: int
    member: int
    generation: int
    params: Mapping[str, Any] = field(hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "member": self.member,
            "generation": self.generation,
            "params": dict(self.params),
        }


class Schedule(Sequence[ScheduleEntry]):
    """The hyperparameters a model trained with, over steps, across every copy it went through."""

    def __init__(self, entries: Sequence[ScheduleEntry]) -> None:
        self._entries = tuple(entries)

    def __getitem__(self, index: int) -> ScheduleEntry:  # type: ignore[override]
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ScheduleEntry]:
        return iter(self._entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self._entries == other._entries

    def __hash__(self) -> int:
        return hash(self._entries)

    def params_at(self, step: int) -> Mapping[str, Any]:
        """The params in force while training step ``step`` (steps after ``entry.step``)."""
        current = self._entries[0]
        for entry in self._entries[1:]:
            if entry.step >= step:
                break
            current = entry
        return current.params

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self._entries]

    def __repr__(self) -> str:
        lines = [
            f"  from step {e.step:>6}: "
            + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                for k, v in e.params.items()
            )
            + f"  (member {e.member}, generation {e.generation})"
            for e in self._entries
        ]
        return "Schedule(\n" + "\n".join(lines) + "\n)"


def ancestry(segments: Sequence[SegmentRecord], member: int) -> list[SegmentRecord]:
    """The chain of segments that produced ``member``'s current model, oldest first."""
    by_key = {(s.member, s.generation): s for s in segments}
    current = max((s for s in segments if s.member == member), key=lambda s: s.generation)
    chain = [current]
    while current.parent_member is not None:
        current = by_key[(current.parent_member, current.parent_generation)]  # type: ignore[index]
        chain.append(current)
    return chain[::-1]


def stitch(segments: Sequence[SegmentRecord], member: int) -> Schedule:
    """Build ``member``'s schedule: each ancestor's params from its start to the next fork."""
    chain = ancestry(segments, member)
    return Schedule([ScheduleEntry(s.start_step, s.member, s.generation, s.params) for s in chain])
