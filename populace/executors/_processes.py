"""Local worker processes: one per worker, each running the same worker loop as the serial one."""

from __future__ import annotations

import _thread
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from populace import errors
from populace.errors import ConfigurationError, PopulaceError
from populace.executors._base import BaseExecutor, TrainFn, shared_storage_url
from populace.executors._worker import WorkerSettings, work

if TYPE_CHECKING:
    from populace._population import Population

__all__ = ["ProcessesExecutor"]

_log = logging.getLogger("populace")
_FATAL = 3  # exit code of a worker stopped by an error of populace's own (it is not restarted)


def _device(index: int) -> str | None:
    """``cuda:<index mod n>`` when the training code uses torch and CUDA devices exist."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return f"cuda:{index % torch.cuda.device_count()}"


def _interrupt_once(signum: int, frame: Any) -> None:
    """Raise KeyboardInterrupt once; a second Ctrl-C must not cut the cleanup short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _worker_main(
    url: str, name: str, train: TrainFn, index: int, settings: WorkerSettings, errors_out: Any
) -> None:
    """Entry point of a worker process: reopen the population and work on it."""
    from populace._run import load  # imported here: the child starts from a fresh interpreter

    signal.signal(signal.SIGINT, _interrupt_once)
    try:
        work(load(url, name), train, settings, _device(index))
    except PopulaceError as exc:
        errors_out.put((type(exc).__name__, str(exc)))
        sys.exit(_FATAL)
    except KeyboardInterrupt:
        sys.exit(130)
    # Everything is committed to storage: skip the interpreter's teardown, which takes seconds
    # once torch and friends are imported, so the run ends when its last member does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class ProcessesExecutor(BaseExecutor):
    """Runs ``workers`` workers: this process and ``workers - 1`` spawned ones (spawn keeps CUDA
    and threads safe).

    Each worker claims members under leases it renews every ``heartbeat_seconds``; a worker that
    dies loses only the interval in flight: its lease is taken over at once on this host (its
    process is gone) or after ``lease_seconds`` elsewhere, and the member resumes from its last
    checkpoint. A worker killed by a signal is restarted (up to ``restarts`` times in all). A
    member that continues keeps its worker and its ``train`` call: no save/load round trip
    unless it pauses (a member behind waits for a worker) or exploits. Worker ``i`` trains on
    ``cuda:i mod n`` when CUDA devices exist (``member.device``).
    """

    def __init__(
        self,
        workers: int,
        *,
        retries: int = 2,
        lease_seconds: float = 60.0,
        heartbeat_seconds: float = 10.0,
        restarts: int = 100,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self.settings = WorkerSettings(retries, lease_seconds, heartbeat_seconds)
        self.restarts = restarts
        self.on_tick = on_tick

    def run(self, population: Population, train: TrainFn) -> None:
        url = shared_storage_url(population, "worker processes")
        try:
            pickle.dumps(train)
        except Exception:
            raise ConfigurationError(
                f"worker processes import train by name, but {train!r} cannot be pickled: define "
                "it at module level (not a lambda or a nested function)"
            ) from None
        context = multiprocessing.get_context("spawn")
        errors_out = context.Queue()

        def start(index: int) -> BaseProcess:
            process = context.Process(
                target=_worker_main,
                name=f"populace-worker-{index}",
                args=(url, population.name, train, index, self.settings, errors_out),
                daemon=True,
            )
            process.start()
            return process

        # The driver is worker 0: it has the training code imported already, so training
        # starts at once while the other workers' interpreters start.
        processes = {i: start(i) for i in range(1, self.workers)}
        failure: list[BaseException] = []
        supervisor = threading.Thread(
            target=self._supervise_or_interrupt,
            args=(processes, start, errors_out, population, failure),
            daemon=True,
        )
        supervisor.start()
        try:
            work(population, train, self.settings, _device(0))
            supervisor.join()
        except BaseException as exc:
            self._stop(processes)
            if failure and isinstance(exc, KeyboardInterrupt):
                raise failure[0] from None  # the supervisor interrupted us to report it
            raise
        if failure:
            raise failure[0]

    def _supervise_or_interrupt(
        self,
        processes: dict[int, BaseProcess],
        start: Callable[[int], BaseProcess],
        errors_out: Any,
        population: Population,
        failure: list[BaseException],
    ) -> None:
        try:
            self._supervise(processes, start, errors_out, population)
        except BaseException as exc:
            failure.append(exc)
            _thread.interrupt_main()

    def _supervise(
        self,
        processes: dict[int, BaseProcess],
        start: Callable[[int], BaseProcess],
        errors_out: Any,
        population: Population,
    ) -> None:
        restarts = 0
        while processes:
            wait([p.sentinel for p in processes.values()], timeout=0.5)
            if self.on_tick is not None:
                self.on_tick()
            for index, process in list(processes.items()):
                if process.exitcode is None:
                    continue
                del processes[index]
                if process.exitcode == _FATAL:
                    kind, message = errors_out.get(timeout=10)
                    raise getattr(errors, kind, PopulaceError)(message)
                if process.exitcode > 0 and process.exitcode != 130:
                    raise ConfigurationError(
                        f"worker {index} exited with code {process.exitcode} (its traceback is "
                        "above); a script that calls pop.run at import time must guard it with "
                        "`if __name__ == '__main__':`, since worker processes import it"
                    )
                if process.exitcode != 0 and not population.done:
                    if restarts >= self.restarts:
                        raise RuntimeError(f"worker processes died {restarts} times; giving up")
                    _log.warning(
                        "worker %d exited with code %s; restarting it", index, process.exitcode
                    )
                    restarts += 1
                    processes[index] = start(index)

    @staticmethod
    def _stop(processes: dict[int, BaseProcess]) -> None:
        """Interrupt the workers (they release their leases), then make sure they are gone."""
        running = list(processes.values())
        for process in running:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                process.kill()
                process.join()
