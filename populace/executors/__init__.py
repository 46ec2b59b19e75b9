"""Executors decide where workers run; every worker runs the same loop."""

from populace.executors._base import BaseExecutor, TrainFn, run_worker
from populace.executors._processes import ProcessesExecutor
from populace.executors._ray import RayExecutor
from populace.executors._serial import SerialExecutor
from populace.executors._worker import WorkerSettings, work

__all__ = [
    "BaseExecutor",
    "ProcessesExecutor",
    "RayExecutor",
    "SerialExecutor",
    "TrainFn",
    "WorkerSettings",
    "run_worker",
    "work",
]
