"""Executors by name, for ``pop.run(executor=...)`` and the command line."""

from __future__ import annotations

from populace.errors import ConfigurationError
from populace.executors._base import BaseExecutor
from populace.executors._processes import ProcessesExecutor
from populace.executors._ray import RayExecutor
from populace.executors._serial import SerialExecutor
from populace.executors._vectorized import VectorizedExecutor

__all__ = ["EXECUTORS", "check_executor", "make_executor"]

EXECUTORS = ("serial", "processes", "ray", "vectorized")


def check_executor(choice: str | BaseExecutor | None, workers: int) -> None:
    """Raise ConfigurationError unless ``choice`` names an executor that can run ``workers``."""
    if choice is None or isinstance(choice, BaseExecutor):
        return
    if choice not in EXECUTORS:
        raise ConfigurationError(
            f"executor must be one of {', '.join(map(repr, EXECUTORS))} or an executor instance, "
            f"got {choice!r}"
        )
    if choice == "serial" and workers > 1:
        raise ConfigurationError(f"the serial executor runs one worker, got workers={workers}")


def make_executor(choice: str | BaseExecutor | None, workers: int, retries: int) -> BaseExecutor:
    """The executor ``choice`` names (None: serial for one worker, else processes); an
    instance is used as given."""
    check_executor(choice, workers)
    if isinstance(choice, BaseExecutor):
        return choice
    if choice == "ray":
        return RayExecutor(workers, retries=retries)
    if choice == "vectorized":
        return VectorizedExecutor(workers, retries=retries)
    if choice == "processes" or (choice is None and workers > 1):
        return ProcessesExecutor(workers, retries=retries)
    return SerialExecutor(retries)
