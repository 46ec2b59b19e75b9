"""The vectorized executor: the population trained at once in stacked shards, one per worker."""

from __future__ import annotations

from populace.errors import ConfigurationError
from populace.executors._base import BaseExecutor
from populace.executors._loops import WorkerLoop, default_device
from populace.executors._processes import ProcessesExecutor
from populace.runtime import Population, TrainFn, WorkerSettings

__all__ = ["VectorizedExecutor"]


class VectorizedExecutor(BaseExecutor):
    """Trains members together: ``train(batch)`` receives a :class:`~populace.Batch` of the
    running members, with their params as [K] tensors on one device, and trains them in
    lockstep (stacked models); exploits are copies inside the stacked state, so nothing restarts.

    With one worker the whole population is one shard in this process. Members decide at a
    ready point once all of them have reached it, as under the serial executor, so for
    strategies that read the ready records (truncation, tournament) the decisions are the
    serial executor's for the same seed and scores. With ``workers`` > 1 the population is
    split into that many shards of at most ``ceil(K / workers)`` members, one per worker
    process (this process and ``workers - 1`` spawned ones, supervised as by
    :class:`~populace.ProcessesExecutor`, and needing a storage they all reach); shards run
    asynchronously, and a member that exploits a member of another shard loads its parent's
    stored checkpoint into its slot.

    Members left at different steps (an interrupted run of another executor, a lost lease)
    are trained least-advanced first until they stand together. An exception of ``train``
    (not populace's own) is retried for the whole shard from its checkpoints, up to
    ``retries`` times; then its members fail. A member whose score is NaN or infinite fails
    alone.

    Args:
        workers: How many shards, each trained by its own worker process.
        device: Where the stacked members train; default ``"cuda"`` when available (worker
            ``i`` on ``cuda:<i mod n>``), else ``"cpu"``.
        retries: Retries of a failing ``train`` before the shard's members are failed.
    """

    def __init__(self, workers: int = 1, *, device: str | None = None, retries: int = 2) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self.device = device
        self.retries = retries

    def run(self, population: Population, train: TrainFn) -> None:
        loop = WorkerLoop(shards=self.workers, device=self.device)
        if self.workers == 1:
            loop.run(population, train, WorkerSettings(retries=self.retries), default_device(0))
            return
        processes = ProcessesExecutor(self.workers, retries=self.retries)
        processes.loop = loop
        processes.run(population, train)
