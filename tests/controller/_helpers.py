"""Hand-built snapshots and candidates for the controller tests (no storage, no processes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from populace.controller import (
    Candidate,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    Ranking,
    ReadyRecord,
    comparison_set,
)
from populace.space import Choice, Fixed, IntUniform, LogUniform, SearchSpace, Uniform

SPACE = SearchSpace(
    lr=LogUniform(1e-4, 1e-1),
    momentum=Uniform(0.0, 0.99),
    layers=IntUniform(1, 8),
    batch_size=Choice([32, 64, 128, 256], ordered=True),
    optimizer=Choice(["sgd", "adam", "rmsprop"]),
    seed=Fixed(7),
)


def params_for(member: int, generation: int = 0, step: int = 0) -> dict[str, Any]:
    """Valid, distinct params for ``member`` (and its generation/step), all inside ``SPACE``."""
    return {
        "lr": 1e-3 * (1 + member) * (1 + generation / 10),
        "momentum": round(0.5 + member / 100 + step / 10_000, 6),
        "layers": 1 + (member + generation) % 8,
        "batch_size": (32, 64, 128, 256)[member % 4],
        "optimizer": ("sgd", "adam", "rmsprop")[member % 3],
        "seed": 7,
    }


def ckpt(member: int, generation: int, step: int) -> str:
    return f"ckpt-m{member}-g{generation}-s{step}"


def rec(
    member: int,
    step: int,
    score: float,
    *,
    generation: int = 0,
    checkpoint: bool = True,
    params: Mapping[str, Any] | None = None,
) -> ReadyRecord:
    """A ready record of ``member``; its checkpoint name encodes member, generation and step."""
    return ReadyRecord(
        member=member,
        generation=generation,
        step=step,
        score=score,
        checkpoint=ckpt(member, generation, step) if checkpoint else None,
        params=dict(params) if params is not None else params_for(member, generation, step),
    )


@dataclass(frozen=True)
class Entry:
    """A member snapshot and its ready records (the snapshot keeps records in one table)."""

    snapshot: MemberSnapshot
    records: tuple[ReadyRecord, ...]


def member(
    member_id: int,
    records: Sequence[ReadyRecord] = (),
    *,
    step: int | None = None,
    generation: int | None = None,
    state: str = MemberState.RUNNING,
    last_decision_step: int | None = None,
    interval: int = 10,
    params: Mapping[str, Any] | None = None,
    recent: Sequence[float] = (),
) -> Entry:
    """A member snapshot; by default at its latest record's step and ready to decide there."""
    if step is None:
        step = max((r.step for r in records), default=0)
    if generation is None:
        generation = max((r.generation for r in records), default=0)
    if last_decision_step is None:
        last_decision_step = max(0, step - interval)
    state_of = MemberSnapshot(
        id=member_id,
        generation=generation,
        params=dict(params) if params is not None else params_for(member_id, generation),
        state=state,
        step=step,
        start_step=0,
        last_decision_step=last_decision_step,
        recent_scores=tuple(recent),
    )
    return Entry(state_of, tuple(records))


def snapshot(*entries: Entry, watermark: int = 0) -> PopulationSnapshot:
    return PopulationSnapshot.build(
        [e.snapshot for e in entries], [r for e in entries for r in e.records], watermark
    )


def population(
    scores: Mapping[int, float],
    *,
    step: int = 10,
    interval: int = 10,
    without_checkpoint: Sequence[int] = (),
) -> PopulationSnapshot:
    """Every member at ``step`` with one ready record there scoring ``scores[member]``."""
    return snapshot(
        *(
            member(
                m,
                [rec(m, step, s, checkpoint=m not in without_checkpoint)],
                interval=interval,
            )
            for m, s in scores.items()
        )
    )


def cand(
    member_id: int,
    fitness: float,
    *,
    checkpoint: bool = True,
    recent: Sequence[float] = (),
    step: int = 10,
    generation: int = 0,
) -> Candidate:
    """A candidate of a maximized score (score == fitness)."""
    return Candidate(
        member=member_id,
        generation=generation,
        step=step,
        score=fitness,
        fitness=fitness,
        checkpoint=ckpt(member_id, generation, step) if checkpoint else None,
        params=params_for(member_id, generation, step),
        recent=tuple(recent),
    )


def ranked(*candidates: Candidate, interval: int = 10) -> Ranking:
    """The ranking the controller builds from a population holding exactly these candidates.

    Each candidate becomes a member of its generation with one ready record at its step (all at
    the same step, so all are comparable); materialised entries equal the given candidates.
    """
    steps = {c.step for c in candidates}
    assert len(steps) == 1
    snap = PopulationSnapshot.build(
        [
            MemberSnapshot(
                id=c.member,
                generation=c.generation,
                params=dict(c.params),
                state=MemberState.RUNNING,
                step=c.step,
                start_step=0,
                last_decision_step=c.step - interval,
                recent_scores=c.recent,
            )
            for c in candidates
        ],
        [
            ReadyRecord(c.member, c.generation, c.step, c.score, c.checkpoint, dict(c.params))
            for c in candidates
        ],
    )
    ranking = comparison_set(snap, steps.pop(), interval, maximize=True)
    assert [c.member for c in ranking] == [
        c.member for c in sorted(candidates, key=lambda c: c.rank_key)
    ]
    return ranking
