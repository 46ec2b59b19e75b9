"""The executor contract and the worker loop every executor runs."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING

from populace._member import Member, Unwind
from populace.errors import ReportError

if TYPE_CHECKING:
    from populace._population import Population

__all__ = ["BaseExecutor", "TrainFn", "run_worker"]

TrainFn = Callable[[Member], object]


class BaseExecutor(abc.ABC):
    """Decides where workers run; what a worker does is always :func:`run_worker`.

    ``run`` returns when no member can train any more (all finished or failed) and propagates
    the first error a training function raises, after releasing every lease it holds, so
    the storage stays consistent and the run can be resumed.
    """

    @abc.abstractmethod
    def run(self, population: Population, train: TrainFn) -> None:
        """Train the population until no member has work left."""


def run_worker(
    population: Population,
    train: TrainFn,
    owner: str,
    should_pause: Callable[[Member, int], bool],
    device: str | None = None,
) -> None:
    """Ask for trials and run ``train`` on them until the population has nothing to hand out."""
    while (trial := population.ask(owner)) is not None:
        member = population.member(trial, should_pause, device)
        try:
            train(member)
        except Unwind:
            continue
        finally:
            population.release(trial.member, owner)
        if not member.finished:
            raise ReportError(
                f"train() returned before member {member.id} reached its budget of "
                f"{member.budget} steps (last reported step: {population.step_of(member)}); "
                "it must train until member.budget and report at the end"
            )
