"""The executor contract and the worker loop every executor runs."""

from __future__ import annotations

import abc
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from populace._member import Member, Unwind
from populace.errors import CheckpointError, ConfigurationError, PopulaceError, ReportError

if TYPE_CHECKING:
    from populace._population import Population

__all__ = ["BaseExecutor", "RestartBudget", "TrainFn", "run_worker", "shared_storage_url"]

TrainFn = Callable[[Member], object]
_log = logging.getLogger("populace")


class BaseExecutor(abc.ABC):
    """Decides where workers run; what a worker does is always :func:`run_worker`.

    ``run`` returns when no member can train any more (all finished or failed). An error of
    populace's own (a bad report, an unsafe checkpoint) stops the run; any other exception raised
    by ``train`` fails only that trial, which is retried from the member's last checkpoint up to
    ``retries`` times before the member is marked failed. Leases are always released, so the
    storage stays consistent and the run can be resumed.
    """

    @abc.abstractmethod
    def run(self, population: Population, train: TrainFn) -> None:
        """Train the population until no member has work left."""


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

    def exhausted(self, workers: str) -> RuntimeError:
        """The error that stops a run whose workers keep dying."""
        return RuntimeError(
            f"{workers} died {self.limit} times within {self.window:g} s; giving up (a crash "
            "loop: see the workers' errors above)"
        )


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


def _record_failure(population: Population, member: int, retries: int) -> None:
    failed = population.record_failure(member, traceback.format_exc(), retries + 1)
    _log.warning(
        "member %d: train() raised%s",
        member,
        ", marked failed" if failed else "; retrying from its last checkpoint",
        exc_info=True,
    )


def run_worker(
    population: Population,
    train: TrainFn,
    owner: str,
    *,
    retries: int = 2,
    lease_seconds: float = 3600.0,
    device: str | None = None,
    poll_seconds: float = 0.2,
    halt: threading.Event | None = None,
) -> None:
    """Ask for trials and run ``train`` on them until every member has finished or failed.

    When nothing can be handed out but members are still running (leased by other workers, or
    waiting at a barrier), it waits and asks again. Setting ``halt`` (from another thread) stops
    the loop early without an exception: between trials, while it waits, or at the next
    ``member.report`` of the trial in progress (a long step without reports finishes first).
    """
    halt = halt if halt is not None else threading.Event()
    while not halt.is_set():
        trial = population.ask(owner, lease_seconds)
        if trial is None:
            if population.done:
                return
            halt.wait(poll_seconds)
            continue
        member = population.member(trial, population.waiting_behind(owner), device, halt)
        try:
            train(member)
        except Unwind:
            continue
        except CheckpointError:
            # A damaged checkpoint (a disk fault) costs the member the steps since an intact
            # one, or this trial; an unsafe checkpoint (the user's bug) stops the run.
            if trial.checkpoint is None or population.checkpoint_intact(trial.checkpoint.ref):
                raise
            if not population.restore_past_damaged_checkpoint(trial):
                _record_failure(population, trial.member, retries)
            continue
        except PopulaceError:
            raise
        except Exception:
            _record_failure(population, trial.member, retries)
            continue
        finally:
            population.release(trial.member, owner)
        if not member.finished:
            raise ReportError(
                f"train() returned before member {member.id} reached its budget of "
                f"{member.budget} steps (last reported step: {population.step_of(member)}); "
                "it must train until member.budget and report at the end"
            )
