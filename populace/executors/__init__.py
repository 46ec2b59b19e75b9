"""Executors decide where workers run; every worker runs the runtime's worker loop."""

from populace.executors._base import BaseExecutor
from populace.executors._processes import ProcessesExecutor
from populace.executors._ray import RayExecutor
from populace.executors._serial import SerialExecutor
from populace.executors._supervised import RestartBudget, SupervisedExecutor
from populace.executors._vectorized import VectorizedExecutor

__all__ = [
    "BaseExecutor",
    "ProcessesExecutor",
    "RayExecutor",
    "RestartBudget",
    "SerialExecutor",
    "SupervisedExecutor",
    "VectorizedExecutor",
]
