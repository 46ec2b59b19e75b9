"""What the example tests share: stand-ins for the ``Member`` and ``Batch`` the runtime hands
``train`` and ``train_batch``, the params as the vectorized runtime passes them, and a vectorized
run checked for what every such run must store."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch

import populace as pop


def as_tensors(params: Sequence[dict[str, float]]) -> dict[str, torch.Tensor]:
    """The members' params as the vectorized runtime hands them: [K] float64 tensors."""
    return {
        name: torch.tensor([p[name] for p in params], dtype=torch.float64) for name in params[0]
    }


def stub_member(
    member: int,
    params: Mapping[str, Any],
    report: Callable[..., None],
    *,
    budget: int = 1,
    generation: int = 0,
    checkpoint: Any = None,
) -> SimpleNamespace:
    """A stand-in Member whose ``report(step, score, checkpoint)`` is ``report``."""
    return SimpleNamespace(
        id=member,
        generation=generation,
        params=params,
        checkpoint=checkpoint,
        budget=budget,
        report=report,
    )


def stub_batch(
    members: tuple[int, ...],
    params: Sequence[dict[str, float]],
    report: Callable[..., None],
    *,
    budget: int,
    step: int = 0,
    checkpoint: Any = None,
) -> SimpleNamespace:
    """A stand-in Batch on the CPU at ``step`` whose ``report(step, scores, state)`` is
    ``report``; ``params`` the members' own, in order."""
    return SimpleNamespace(
        members=members,
        size=len(members),
        params=as_tensors(params),
        device="cpu",
        step=step,
        budget=budget,
        checkpoint=checkpoint,
        report=report,
    )


def resume_serially(train: Callable[[Any], None], best: pop.MemberResult, budget: int) -> list[int]:
    """The steps ``train`` reports resuming ``best`` from its checkpoint up to ``budget`` (as a
    child of generation 1)."""
    steps: list[int] = []
    member = stub_member(
        best.id,
        best.params,
        lambda step, score, checkpoint: steps.append(step),
        budget=budget,
        generation=1,
        checkpoint=best.checkpoint,
    )
    train(member)
    return steps


def vectorized_run(
    train_batch: Callable[[pop.Batch], None],
    space: pop.SearchSpace,
    population: int,
    budget: int,
    **options: Any,
) -> pop.Population:
    """A vectorized run, interval 2, checked to store every member's score at every step and to
    decide at every ready point; its best member has a checkpoint at ``budget``."""
    result = pop.run(
        train_batch,
        space,
        population=population,
        budget=budget,
        interval=2,
        storage="memory",
        progress=False,
        executor="vectorized",
        **options,
    )
    stored = {(r.member, r.step) for r in result.results()}
    assert stored >= {(m, s) for m in range(population) for s in range(1, budget + 1)}
    decisions = result.decisions()
    assert {d.step for d in decisions} == set(range(2, budget + 1, 2))  # every ready point
    assert len([d for d in decisions if d.step == 2]) == population
    best = result.best
    assert best is not None and best.checkpoint is not None and best.checkpoint.step == budget
    return result
