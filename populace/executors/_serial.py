"""The serial executor: every member in this process, one at a time, deterministically."""

from __future__ import annotations

from populace.executors._base import BaseExecutor
from populace.runtime import Population, TrainFn, new_owner, run_worker

__all__ = ["SerialExecutor"]


class SerialExecutor(BaseExecutor):
    """Runs members one at a time in this process, least-advanced first.

    A member keeps the worker while it is the least advanced; at a ready point where another
    member is behind it, it yields (its checkpoint is already saved) and resumes later. The
    order depends only on stored steps and member ids, so a seeded run is reproducible.
    """

    def __init__(self, retries: int = 2) -> None:
        self.retries = retries

    def run(self, population: Population, train: TrainFn) -> None:
        run_worker(population, train, new_owner(), retries=self.retries)
