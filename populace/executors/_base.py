"""The executor contract: an executor decides where workers run, never what they do."""

from __future__ import annotations

import abc

from populace.errors import ConfigurationError
from populace.runtime import Population, TrainFn

__all__ = ["BaseExecutor", "shared_storage_url"]


class BaseExecutor(abc.ABC):
    """Decides where workers run; what a worker does is always the runtime's worker loop
    (:func:`populace.runtime.run_worker`, or :func:`populace.runtime.work` in a worker of its
    own).

    The contract (checked by :class:`populace.testing.ExecutorSuite` on every executor):

    - ``run`` returns when no member can train any more: every member finished or failed.
    - What ``train`` raises is treated as the worker loop says: a damaged checkpoint is
      **repaired** (the member goes back to its latest intact checkpoint); an error of
      populace's own (:class:`~populace.errors.PopulaceError`: a bad report, an unsafe
      checkpoint) **stops the run** and is raised from ``run`` as it was raised in the worker;
      any other exception is **retried** from the member's last checkpoint up to ``retries``
      times, then the member fails alone and the others go on.
    - ``sys.exit(n)`` in ``train`` stops the run with ``SystemExit(n)``; Ctrl-C stops it with
      ``KeyboardInterrupt``. A worker that dies otherwise is replaced, and only the trial it had
      in flight is lost; dying over and over raises :class:`~populace.errors.WorkerError`.
    - Whatever way ``run`` ends, every lease its workers held is released, so the storage
      stays consistent and the population resumes with ``pop.run`` again.
    """

    @abc.abstractmethod
    def run(self, population: Population, train: TrainFn) -> None:
        """Train the population until no member has work left."""


def shared_storage_url(population: Population, workers: str) -> str:
    """The storage URL ``workers`` (other processes) reopen the population with.

    Raises:
        ConfigurationError: the storage or the checkpoint store lives in this process's memory.
    """
    url = population.storage.url_for_workers
    if url is None:
        raise ConfigurationError(
            f"{workers} cannot open storage {population.storage.url}: use a SQLite file (one "
            "host) or PostgreSQL (many hosts), not an in-memory storage"
        )
    if population.checkpoints.process_local:
        raise ConfigurationError(
            f"{workers} cannot see checkpoint store {population.checkpoints!r}: it lives in this "
            "process's memory; use a folder (one host) or a shared filesystem URL"
        )
    return url
