"""Experiment trackers fed from the storage while a population trains: TensorBoard, MLflow, W&B.

    import populace as pop
    import populace.trackers

    pop.run(train, space, budget=100, interval=10,
            trackers=[populace.trackers.TensorBoard("runs/tb")])

Each tracker's library is imported when the tracker is constructed (``pip install
'populace[tensorboard]'``, ``[mlflow]`` or ``[wandb]``), so importing this module is cheap.
Subclass :class:`BaseTracker` to feed another tool.
"""

from populace.trackers._base import BaseTracker
from populace.trackers._mlflow import MLflow
from populace.trackers._tensorboard import TensorBoard
from populace.trackers._view import TrackedPopulation
from populace.trackers._wandb import WandB

__all__ = ["BaseTracker", "MLflow", "TensorBoard", "TrackedPopulation", "WandB"]
