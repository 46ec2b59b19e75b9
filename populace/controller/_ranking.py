"""Time-fair comparison sets: who a ready member is ranked against, and how.

A member ready at step ``t`` is compared with each other member's latest ready-point record at a
step in ``[t - interval, t]``. Members ahead are therefore seen as they were at (or just before)
``t``, not with scores earned by training longer; members behind by more than one interval, or
without a ready point yet, are left out rather than compared with stale scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from populace.controller._snapshot import PopulationSnapshot

__all__ = ["Candidate", "Ranking", "comparison_set"]


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
    by_fitness: bool = False
    """Whether ``fitness`` is an algorithm's (FIRE's parents) rather than the signed score."""

    @property
    def standing(self) -> str:
        """What ranks this candidate, for decision reasons: ``score 0.91`` or ``fitness 0.2``."""
        if self.by_fitness:
            return f"fitness {self.fitness:.6g}"
        return f"score {self.score:.6g}"

    @property
    def rank_key(self) -> tuple[float, int]:
        """Sort key, best first; equal fitness ranks the lower member id higher."""
        return (-self.fitness, self.member)

    def beats(self, other: Candidate) -> bool:
        """Whether this candidate ranks above ``other``."""
        return self.rank_key < other.rank_key


class Ranking(Sequence[Candidate]):
    """The comparison set, best first (ties by member id), materialised on access.

    ``members`` and ``copyable`` are arrays in rank order, so strategies can pick among
    thousands of members without building a :class:`Candidate` for each.
    """

    def __init__(
        self,
        snapshot: PopulationSnapshot,
        rows: np.ndarray,
        sign: float,
        fitness: Mapping[int, float] | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._rows = rows
        self._sign = sign
        self._fitness = fitness
        table = snapshot.records
        self.members: np.ndarray = table.member[rows]
        self.copyable: np.ndarray = table.has_checkpoint[rows]

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...
    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = int(self._rows[index])
        table = self._snapshot.records
        member = int(table.member[row])
        generation = int(table.generation[row])
        state = self._snapshot.member(member)
        recent = state.recent_scores if state.generation == generation else ()
        score = float(table.score[row])
        return Candidate(
            member,
            generation,
            int(table.step[row]),
            score,
            self._sign * score if self._fitness is None else self._fitness[member],
            table.checkpoint[row],
            table.params[row],
            tuple(self._sign * s for s in recent),
            self._fitness is not None,
        )

    def __iter__(self) -> Iterator[Candidate]:
        return (self[i] for i in range(len(self)))

    def position(self, member: int) -> int | None:
        """Where ``member`` ranks (0 is best), or None if it is not comparable."""
        found = np.flatnonzero(self.members == member)
        return int(found[0]) if len(found) else None

    def compared(self) -> list[tuple[int, int, float]]:
        """``(member, step, score)`` of every entry, best first: what a decision is stored with."""
        table = self._snapshot.records
        return list(
            zip(
                self.members.tolist(),
                table.step[self._rows].tolist(),
                table.score[self._rows].tolist(),
                strict=True,
            )
        )


def comparison_set(
    snapshot: PopulationSnapshot,
    step: int,
    interval: int,
    maximize: bool,
    among: np.ndarray | None = None,
    fitness: Mapping[int, float] | None = None,
) -> Ranking:
    """Return every member comparable at ``step``, best first (ties by member id).

    ``among`` keeps only these member ids (a FIRE sub-population). ``fitness`` ranks by these
    higher-is-better values instead of scores, keeping only the members it names.
    """
    table = snapshot.records
    inside = (table.step >= step - interval) & (table.step <= step)
    if len(snapshot.failed):
        inside &= ~np.isin(table.member, snapshot.failed)
    if among is not None:
        inside &= np.isin(table.member, among)
    if fitness is not None:
        inside &= np.isin(table.member, np.fromiter(fitness, dtype=np.int64, count=len(fitness)))
    rows = np.flatnonzero(inside)
    # Each member's latest record in the window, by (step, generation).
    rows = rows[np.lexsort((table.generation[rows], table.step[rows], table.member[rows]))]
    members = table.member[rows]
    rows = rows[np.append(members[1:] != members[:-1], True)] if len(rows) else rows
    sign = 1.0 if maximize else -1.0
    if fitness is None:
        key = -sign * table.score[rows]
    else:
        key = -np.asarray([fitness[int(m)] for m in table.member[rows]], dtype=np.float64)
    rows = rows[np.lexsort((table.member[rows], key))]
    return Ranking(snapshot, rows, sign, fitness)
