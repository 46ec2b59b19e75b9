"""Which loop a worker process runs: members one at a time, or shards of members trained at once."""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass

from populace._imports import require
from populace.runtime import (
    BatchTrainFn,
    Population,
    TrainFn,
    WorkerSettings,
    work,
    work_vectorized,
)

__all__ = ["WorkerLoop", "default_device"]


def default_device(index: int) -> str | None:
    """``cuda:<index mod n>`` when the training code uses torch and CUDA devices exist."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return f"cuda:{index % torch.cuda.device_count()}"


@dataclass(frozen=True)
class WorkerLoop:
    """What a worker runs: ``train(member)`` for one member at a time, or, with
    ``shards`` set, ``train_batch(batch)`` for a shard of at most ``ceil(K / shards)`` members
    at once (the vectorized executor on several workers).

    Attributes:
        shards: How many workers share the population in shards; 0 for the member loop.
        device: Where every worker trains, whatever device its executor gives it.
    """

    shards: int = 0
    device: str | None = None

    def run(
        self,
        population: Population,
        train: TrainFn | BatchTrainFn,
        settings: WorkerSettings,
        device: str | None,
        halt: threading.Event | None = None,
        owner: str | None = None,
    ) -> None:
        """Work on ``population`` on ``self.device`` (else ``device``, else the CPU) until it is
        done or ``halt`` is set."""
        device = self.device or device
        if not self.shards:
            work(population, train, settings, device, owner, halt)  # type: ignore[arg-type]
            return
        torch = require("torch", "torch")
        size = len(population.storage.members(population.id))
        work_vectorized(
            population,
            train,  # type: ignore[arg-type]
            settings,
            torch.device(device or "cpu"),
            owner,
            halt,
            shard_size=math.ceil(size / self.shards),
        )
