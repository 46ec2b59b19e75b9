"""Executors whose workers run apart from the driver: watch them, replace the dead, stop all."""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import ClassVar, Generic, TypeVar

from populace.errors import ConfigurationError, WorkerError
from populace.executors._base import BaseExecutor
from populace.runtime import Population, WorkerSettings

__all__ = ["RestartBudget", "SupervisedExecutor"]

_log = logging.getLogger("populace")
Handle = TypeVar("Handle")
POLL_SECONDS = 0.5


class RestartBudget:
    """How many dead workers an executor replaces: any number over a long run, but no more than
    ``limit`` within ``window`` seconds, a crash loop that restarting cannot cure."""

    def __init__(
        self, limit: int, window: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window = limit, window
        self._clock = clock
        self._restarts: deque[float] = deque()

    def spend(self) -> bool:
        """Count a restart now; False (counting nothing) if the budget of the window is spent."""
        now = self._clock()
        while self._restarts and self._restarts[0] <= now - self.window:
            self._restarts.popleft()
        if len(self._restarts) >= self.limit:
            return False
        self._restarts.append(now)
        return True

    def exhausted(self, workers: str) -> WorkerError:
        """The error that stops a run whose workers keep dying."""
        return WorkerError(
            f"{workers} died {self.limit} times within {self.window:g} s; giving up (a crash "
            "loop: see the workers' errors above)"
        )


class SupervisedExecutor(BaseExecutor, Generic[Handle]):
    """Base of executors that start ``workers`` workers elsewhere (processes, Ray actors) and
    keep them running: it owns the supervision loop, subclasses say how to start, wait for,
    judge and stop one kind of worker.

    A worker that dies (killed by a signal, its host lost) is replaced, any number of times
    over a run but at most ``restarts`` times in ten minutes (more is a crash loop, which stops
    the run with :class:`~populace.errors.WorkerError`). A worker that stopped on an error of
    populace's own, or because ``train`` called ``sys.exit``, stops the run the same way.
    """

    kind: ClassVar[str] = "workers"
    """What the workers are called in messages: "worker processes", "Ray workers"."""

    def __init__(
        self,
        workers: int,
        *,
        retries: int = 2,
        lease_seconds: float = 60.0,
        heartbeat_seconds: float = 10.0,
        restarts: int = 100,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self.settings = WorkerSettings(retries, lease_seconds, heartbeat_seconds)
        self.restarts = restarts

    @abc.abstractmethod
    def _start(self, slot: int) -> Handle:
        """Start the worker of ``slot`` (0 to ``workers - 1``)."""

    @abc.abstractmethod
    def _ended(self, handles: Sequence[Handle], timeout: float) -> list[Handle]:
        """Those of ``handles`` whose worker has ended, waiting up to ``timeout`` seconds for
        one to end."""

    @abc.abstractmethod
    def _died(self, slot: int, handle: Handle, population: Population) -> bool:
        """Whether the ended worker died (and is to be replaced) rather than finished its work;
        a dead worker's members are freed here.

        Raises:
            PopulaceError: the error of populace's own that stopped the worker, as raised there.
            SystemExit: ``train`` called ``sys.exit`` in the worker; the driver exits the same way.
        """

    @abc.abstractmethod
    def _stop(self, handles: Sequence[Handle], population: Population) -> None:
        """Stop the running workers at once and free the members they held."""

    def _watch(self, handles: Sequence[Handle]) -> None:
        """Called on every turn of the supervision loop (a subclass may warn of stuck workers)."""

    def _supervise(
        self,
        running: dict[int, Handle],
        population: Population,
        halt: threading.Event | None = None,
    ) -> None:
        """Watch the ``running`` workers (by slot) until all have ended or ``halt`` is set,
        replacing those that die while members still have work."""
        halt = halt if halt is not None else threading.Event()
        budget = RestartBudget(self.restarts)
        while running and not halt.is_set():
            ended = self._ended(list(running.values()), POLL_SECONDS)
            self._watch(list(running.values()))
            for slot, handle in list(running.items()):
                if handle not in ended:
                    continue
                del running[slot]
                if not self._died(slot, handle, population) or population.done or halt.is_set():
                    continue
                if not budget.spend():
                    raise budget.exhausted(self.kind)
                _log.warning("%s: worker %d died; starting another", self.kind, slot)
                running[slot] = self._start(slot)
