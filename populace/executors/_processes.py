"""Local worker processes: one per worker, each running the same worker loop as the serial one."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from populace import errors
from populace.errors import ConfigurationError, PopulaceError, WorkerError
from populace.executors._base import shared_storage_url
from populace.executors._loops import WorkerLoop, default_device
from populace.executors._supervised import SupervisedExecutor
from populace.executors._train_pickle import pickle_train, unpickle_train
from populace.runtime import Population, TrainFn, WorkerSettings, load
from populace.storage import SQLStorage

__all__ = ["ProcessesExecutor", "refuse_run_while_importing_main"]

_log = logging.getLogger("populace")
_PR_SET_PDEATHSIG = 1
_Message = tuple[Any, ...]
"""What a worker process tells the driver: ("started",) once it has opened the population;
then, if it stops early, ("error", kind, message), ("exit", code) or ("interrupted",)."""


def refuse_run_while_importing_main() -> None:
    """Refuse to start a run inside a worker process that is still importing the driver's script.

    Spawned worker processes import the script that started the run (multiprocessing's spawn
    does, so that its functions and classes can be unpickled there); a script that calls
    ``pop.run`` at import time would start a run of its own in every worker. A notebook or an
    interactive session has no script to import, so this never fires there.

    Raises:
        ConfigurationError: called while a spawned process imports its parent's main module.
    """
    # multiprocessing sets it while a spawned child imports __main__ and unpickles its target,
    # as multiprocessing.spawn._check_not_importing_main reads it.
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ConfigurationError(
            "a worker process importing the script that calls pop.run was about to start a run "
            "of its own: guard the call with `if __name__ == '__main__':`, since worker "
            "processes import the script that started the run"
        )


def _interrupt_once(signum: int, frame: Any) -> None:
    """Raise KeyboardInterrupt once; a second Ctrl-C must not cut the cleanup short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _end_with_driver() -> None:
    """Have Linux send this worker SIGINT when the driver dies, so it unwinds as on Ctrl-C.

    A driver killed by a signal (SIGTERM from a scheduler or ``kill``) cannot stop its workers;
    without this they would train on, unseen, as orphans. Elsewhere this is a no-op: the
    workers' heartbeats lapse and their members are resumed by the next run.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the line above
        raise KeyboardInterrupt


def _tell(driver: Connection, message: _Message) -> None:
    """Send ``message`` to the driver, unless it is gone (then nobody is listening)."""
    with contextlib.suppress(OSError):
        driver.send(message)


def _worker_main(
    url: str,
    name: str,
    train: bytes,
    index: int,
    settings: WorkerSettings,
    loop: WorkerLoop,
    log_level: int,
    driver: Connection,
) -> None:
    """Entry point of a worker process: load ``train`` (pickled by
    :func:`~populace.executors._train_pickle.pickle_train`), reopen the population, work on it,
    and tell the driver how it ended (its exit code cannot say: ``train`` may call ``sys.exit``
    with any code)."""
    signal.signal(signal.SIGINT, _interrupt_once)
    # A spawned process starts without the driver's logging setup: log what the driver logs.
    logging.getLogger("populace").setLevel(log_level)
    try:
        _end_with_driver()
        function = unpickle_train(train)  # here, so that a failure reaches the driver's caller
        # Wait for the database as long as an operation would (it may be restarting), rather
        # than fail at once as a command a person typed does.
        population = load(SQLStorage(url), name)
        driver.send(("started",))
        loop.run(population, function, settings, default_device(index))
    except PopulaceError as exc:
        _tell(driver, ("error", type(exc).__name__, str(exc)))
        sys.exit(1)
    except SystemExit as exc:
        code = exc.code
        _tell(driver, ("exit", code if code is None or isinstance(code, int) else str(code)))
        raise
    except KeyboardInterrupt:
        _tell(driver, ("interrupted",))
        sys.exit(130)
    # Everything is committed to storage: skip the interpreter's teardown, which takes seconds
    # once torch and friends are imported, so the run ends when its last member does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@dataclass(eq=False)
class _Spawned:
    """A worker process and the read end of the pipe on which it tells how it ended."""

    process: BaseProcess
    reader: Connection

    def messages(self) -> list[_Message]:
        """Everything the worker sent; call it once the process has exited."""
        received = []
        try:
            while self.reader.poll():
                received.append(self.reader.recv())
        except (EOFError, OSError):  # it died in the middle of a message
            pass
        self.reader.close()
        return received


def _died(index: int, exitcode: int, messages: list[_Message]) -> bool:
    """Whether worker ``index`` died (and may be restarted) rather than finished its work.

    Raises:
        PopulaceError: the error of populace's own that stopped the worker, as raised there.
        SystemExit: ``train`` called ``sys.exit`` in the worker; the driver exits the same way.
        ConfigurationError: the worker exited before it started (importing the script raised;
            a ``train`` it cannot load is reported as a populace error).
        WorkerError: the worker exited with an unexpected error after it started.
    """
    said = {message[0]: message[1:] for message in messages}
    if "error" in said:
        kind, text = said["error"]
        raise getattr(errors, kind, PopulaceError)(text)
    if "exit" in said:
        (code,) = said["exit"]
        _log.warning("worker %d: train() called sys.exit(%r); stopping the run", index, code)
        raise SystemExit(code)
    if exitcode > 0 and "started" not in said:
        raise ConfigurationError(
            f"worker {index} exited with code {exitcode} before it started (its traceback is above)"
        )
    if exitcode > 0 and "interrupted" not in said:
        raise WorkerError(f"worker {index} exited with code {exitcode} (its traceback is above)")
    return exitcode != 0


@dataclass(frozen=True)
class _Launch:
    """What every worker process of one run is started with."""

    context: Any  # a spawn context of multiprocessing
    target: tuple[str, str, bytes]  # storage URL, population name, pickled train
    log_level: int


class ProcessesExecutor(SupervisedExecutor[_Spawned]):
    """Runs ``workers`` workers: this process and ``workers - 1`` spawned ones (spawn keeps CUDA
    and threads safe).

    Each worker claims members under leases it renews every ``heartbeat_seconds``; a worker that
    dies loses only the interval in flight: its lease is taken over at once on this host (its
    process is gone) or after ``lease_seconds`` elsewhere, and the member resumes from its last
    checkpoint. A worker killed by a signal is restarted, any number of times over a run but at
    most ``restarts`` times in ten minutes (more is a crash loop, which stops the run). A
    member that continues keeps its worker and its ``train`` call: no save/load round trip
    unless it pauses (a member behind waits for a worker) or exploits. Worker ``i`` trains on
    ``cuda:i mod n`` when CUDA devices exist (``member.device``).

    ``train`` reaches the spawned workers by name when it lives in an importable module, and by
    value, with the objects it uses, when it does not: defined in a notebook, an interactive
    session or the script that was run, a lambda or a nested function (see
    :mod:`populace.executors._train_pickle`). A script still needs its ``pop.run`` call under
    ``if __name__ == "__main__":``: spawned processes import it.

    An error of populace's own in a spawned worker is raised here as it was raised there, and
    ``sys.exit(n)`` in its ``train`` raises ``SystemExit(n)`` here, as in the serial executor.
    Either stops the run: this process's own worker stops at its next ``member.report`` (a long
    step without reports finishes first), and the spawned ones are interrupted.
    """

    kind = "worker processes"
    loop = WorkerLoop()
    """What every worker runs: the member loop (the vectorized executor sets a shard loop)."""
    _launch: _Launch

    def run(self, population: Population, train: TrainFn) -> None:
        url = shared_storage_url(population, self.kind)
        self._launch = _Launch(
            multiprocessing.get_context("spawn"),
            (url, population.name, pickle_train(train)),
            logging.getLogger("populace").getEffectiveLevel(),
        )
        # The driver is worker 0: it has the training code imported already, so training
        # starts at once while the other workers' interpreters start.
        spawned = {slot: self._start(slot) for slot in range(1, self.workers)}
        halt = threading.Event()  # set by whichever of the driver's threads stops the run
        failure: list[BaseException] = []
        supervisor = threading.Thread(
            target=self._supervise_or_halt, args=(spawned, population, halt, failure), daemon=True
        )
        supervisor.start()
        try:
            self.loop.run(population, train, self.settings, default_device(0), halt)
            supervisor.join()
        except BaseException:
            halt.set()
            supervisor.join()
            self._stop(list(spawned.values()), population)
            raise
        if failure:
            self._stop(list(spawned.values()), population)
            raise failure[0]

    def _supervise_or_halt(
        self,
        spawned: dict[int, _Spawned],
        population: Population,
        halt: threading.Event,
        failure: list[BaseException],
    ) -> None:
        try:
            self._supervise(spawned, population, halt)
        except BaseException as exc:
            failure.append(exc)
            halt.set()

    def _start(self, slot: int) -> _Spawned:
        launch = self._launch
        url, name, train = launch.target
        reader, writer = launch.context.Pipe(duplex=False)
        process = launch.context.Process(
            target=_worker_main,
            name=f"populace-worker-{slot}",
            args=(url, name, train, slot, self.settings, self.loop, launch.log_level, writer),
            daemon=True,
        )
        process.start()
        writer.close()  # the worker holds the only write end now
        return _Spawned(process, reader)

    def _ended(self, handles: Sequence[_Spawned], timeout: float) -> list[_Spawned]:
        wait([s.process.sentinel for s in handles], timeout=timeout)
        return [s for s in handles if s.process.exitcode is not None]

    def _died(self, slot: int, handle: _Spawned, population: Population) -> bool:
        exitcode = handle.process.exitcode
        assert exitcode is not None  # only ended workers are judged
        return _died(slot, exitcode, handle.messages())

    def _stop(self, handles: Sequence[_Spawned], population: Population) -> None:
        """Interrupt the workers (they release their leases), then make sure they are gone."""
        for worker in handles:
            process = worker.process
            if process.pid is None or process.exitcode is not None:
                continue
            if worker.reader.poll():  # it said something, so it has started
                os.kill(process.pid, signal.SIGINT)
            else:  # it holds no lease yet, and a SIGINT would print its interpreter's traceback
                process.terminate()
        deadline = time.monotonic() + 10
        for worker in handles:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.reader.close()
