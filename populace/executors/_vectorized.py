"""The vectorized executor: the whole population in this process, trained at once as one shard."""

from __future__ import annotations

from typing import cast

from populace._imports import require
from populace.executors._base import BaseExecutor
from populace.runtime import BatchTrainFn, Population, TrainFn, WorkerSettings, work_vectorized

__all__ = ["VectorizedExecutor"]


class VectorizedExecutor(BaseExecutor):
    """Trains every member together: ``train(batch)`` receives a :class:`~populace.Batch` of all
    running members, with their params as [K] tensors on one device, and trains them in
    lockstep (stacked models); exploits are copies inside the stacked state, so nothing restarts.

    Members decide at a ready point once all of them have reached it, as under the serial
    executor, so for strategies that read the ready records (truncation, tournament) the
    decisions are the serial executor's for the same seed and scores. Members left at different
    steps (an interrupted run of another executor, a lost lease) are trained least-advanced
    first until they stand together. An exception of ``train`` (not populace's own) is retried
    for the whole shard from its checkpoints, up to ``retries`` times; then its members fail.
    A member whose score is NaN or infinite fails alone.

    Args:
        device: Where the stacked members train; default ``"cuda"`` when available, else
            ``"cpu"``.
        retries: Retries of a failing ``train`` before the shard's members are failed.
    """

    def __init__(self, device: str | None = None, retries: int = 2) -> None:
        self.device = device
        self.retries = retries

    def run(self, population: Population, train: TrainFn) -> None:
        torch = require("torch", "torch")
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        work_vectorized(
            population,
            cast(BatchTrainFn, train),
            WorkerSettings(retries=self.retries),
            torch.device(device),
        )
