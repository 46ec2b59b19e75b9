"""Workers as Ray actors: the same worker loop, on any node of a Ray cluster."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from populace._imports import require
from populace.errors import ConfigurationError, PopulaceError
from populace.executors._base import shared_storage_url
from populace.executors._loops import WorkerLoop
from populace.executors._supervised import SupervisedExecutor
from populace.runtime import Population, TrainFn, WorkerSettings, load, retire
from populace.storage import SQLStorage

__all__ = ["RayExecutor"]

_log = logging.getLogger("populace")
PENDING_WARNING_SECONDS = 60.0  # an actor not scheduled by then is probably waiting for resources
_STOP_SECONDS = 10.0


@dataclass(frozen=True)
class _TrainExited:
    """What an actor's ``work`` returns when ``train`` called ``sys.exit(code)``."""

    code: int | str | None


class _Worker:
    """The Ray actor of one worker: it reopens the population from storage and works on it."""

    def work(
        self,
        url: str,
        name: str,
        train: bytes,
        settings: WorkerSettings,
        loop: WorkerLoop,
        owner: str,
        log_level: int,
    ) -> _TrainExited | None:
        import ray  # the actor runs where Ray is installed
        from ray import cloudpickle

        # An actor starts without the driver's logging setup: log what the driver logs.
        logging.getLogger("populace").setLevel(log_level)
        try:
            function = cloudpickle.loads(train)
        except Exception as exc:
            raise ConfigurationError(
                f"a Ray worker cannot load train ({exc!r}): its module must be importable on every "
                "node (installed there, or shipped with ray.init(runtime_env={'py_modules': ...}))"
            ) from None
        device = "cuda" if ray.get_gpu_ids() else None
        try:
            # Wait for the database as long as an operation would (it may be restarting).
            loop.run(load(SQLStorage(url), name), function, settings, device, owner=owner)
        except SystemExit as exc:  # Ray would take it for the actor's exit and restart it
            code = exc.code
            return _TrainExited(code if code is None or isinstance(code, int) else str(code))
        return None


@dataclass(eq=False)
class _Actor:
    """A started actor: its lease owner id, its handle, and the call that runs its worker."""

    owner: str
    handle: Any
    result: Any  # ObjectRef of the work call; it resolves when the worker ends or the actor dies
    ready: Any  # ObjectRef resolving once the actor is scheduled; None after that
    since: float


@dataclass(frozen=True)
class _Launch:
    """What every actor of one run is started with."""

    ray: Any  # the ray module
    remote: Any  # the actor class, with its resources
    arguments: tuple[str, str, bytes, int]  # storage URL, population name, train, log level


class RayExecutor(SupervisedExecutor[_Actor]):
    """Runs ``workers`` workers as Ray actors, each reserving ``num_cpus`` CPUs and ``num_gpus``
    GPUs; the driver only supervises them.

    It connects with ``ray.init(address=address)`` unless Ray is initialised already (``None``:
    the cluster in ``RAY_ADDRESS`` or on this host, else a new local one; ``"auto"``: a running
    cluster), and disconnects at the end only if it connected. Actors reach the storage through
    its URL: a SQLite file serves a Ray instance on one host; a cluster of several hosts needs a
    PostgreSQL storage and a checkpoint store every node can reach. An actor that dies is
    restarted (at most ``restarts`` times in ten minutes) and its members are freed at once; on
    Ctrl-C or an error every actor is killed and its leases released, so the population resumes
    with ``pop.run`` again. A worker with a GPU trains on ``member.device == "cuda"``.

    With ``vectorized=True`` each actor trains a shard of ``ceil(K / workers)`` members at once
    with ``train_batch(batch)``, as :class:`~populace.executors.VectorizedExecutor` does on
    local processes.

    Example:
        >>> from populace.executors import RayExecutor
        >>> executor = RayExecutor(8, address="auto", num_gpus=1)
        >>> executor.workers, executor.num_gpus
        (8, 1.0)
    """

    kind = "Ray workers"
    _launch: _Launch

    def __init__(
        self,
        workers: int,
        *,
        address: str | None = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        retries: int = 2,
        lease_seconds: float = 60.0,
        heartbeat_seconds: float = 10.0,
        restarts: int = 100,
        vectorized: bool = False,
    ) -> None:
        super().__init__(
            workers,
            retries=retries,
            lease_seconds=lease_seconds,
            heartbeat_seconds=heartbeat_seconds,
            restarts=restarts,
        )
        for key, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(f"{key} must be a number >= 0, got {value!r}")
        self.address = address
        self.num_cpus = float(num_cpus)
        self.num_gpus = float(num_gpus)
        self.vectorized = vectorized

    def run(self, population: Population, train: TrainFn) -> None:
        url = shared_storage_url(population, self.kind)
        ray = require("ray", "ray")
        try:
            payload = ray.cloudpickle.dumps(train)
        except Exception as exc:
            raise ConfigurationError(
                f"Ray cannot serialise train {train!r} ({exc!r}): it must not hold locks, open "
                "files or other unpicklable state"
            ) from None
        log_level = logging.getLogger("populace").getEffectiveLevel()
        connected = not ray.is_initialized()
        if connected:
            ray.init(address=self.address)
        try:
            self._check_resources(ray)
            remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_restarts=0)
            self._launch = _Launch(ray, remote(_Worker), (url, population.name, payload, log_level))
            actors = {slot: self._start(slot) for slot in range(self.workers)}
            try:
                self._supervise(actors, population)
            except BaseException:
                self._stop(list(actors.values()), population)
                raise
        finally:
            if connected:
                ray.shutdown()

    def _check_resources(self, ray: Any) -> None:
        """Fail at once when no node can host an actor, rather than wait forever for one."""
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        if any(
            node.get("CPU", 0.0) >= self.num_cpus and node.get("GPU", 0.0) >= self.num_gpus
            for node in nodes
        ):
            return
        total = ray.cluster_resources()
        raise ConfigurationError(
            f"each Ray worker asks for {self.num_cpus:g} CPU and {self.num_gpus:g} GPU, but no "
            f"node of the Ray cluster has that much (it has {total.get('CPU', 0):g} CPU and "
            f"{total.get('GPU', 0):g} GPU on {len(nodes)} node(s)); ask for less, or add nodes"
        )

    def _start(self, slot: int) -> _Actor:
        launch = self._launch
        owner = f"ray:{uuid.uuid4().hex}"
        handle = launch.remote.options(name=owner).remote()
        ready = handle.__ray_ready__.remote()  # before work: an actor runs calls in order
        url, name, payload, log_level = launch.arguments
        loop = WorkerLoop(shards=self.workers if self.vectorized else 0)
        result = handle.work.remote(url, name, payload, self.settings, loop, owner, log_level)
        return _Actor(owner, handle, result, ready, time.monotonic())

    def _ended(self, handles: Sequence[_Actor], timeout: float) -> list[_Actor]:
        finished, _ = self._launch.ray.wait(
            [a.result for a in handles], num_returns=1, timeout=timeout
        )
        return [a for a in handles if a.result in finished]

    def _died(self, slot: int, handle: _Actor, population: Population) -> bool:
        """Whether the ended actor died rather than finished its work; a dead actor's members
        are freed at once (no waiting for its leases to expire).

        Raises:
            PopulaceError: the error of populace's own that stopped the worker, as raised there.
            SystemExit: ``train`` called ``sys.exit`` in the actor; the driver exits the same way.
        """
        ray = self._launch.ray
        ray.kill(handle.handle)  # its worker has ended: free its CPUs and GPUs at once
        try:
            result = ray.get(handle.result)
        except ray.exceptions.RayActorError:
            retire(population.storage, population.id, handle.owner)
            return True
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, PopulaceError):  # populace's own error, as the user expects
                raise type(exc.cause)(str(exc.cause)) from None
            raise
        if isinstance(result, _TrainExited):
            _log.warning(
                "Ray worker %s: train() called sys.exit(%r); stopping the run",
                handle.owner,
                result.code,
            )
            raise SystemExit(result.code)
        return False

    def _watch(self, handles: Sequence[_Actor]) -> None:
        """Warn once of an actor not scheduled after :data:`PENDING_WARNING_SECONDS`."""
        pending = [a for a in handles if a.ready is not None]
        if not pending:
            return
        ray = self._launch.ray
        ready, _ = ray.wait([a.ready for a in pending], num_returns=len(pending), timeout=0)
        for actor in pending:
            if actor.ready in ready:
                actor.ready = None
            elif time.monotonic() - actor.since > PENDING_WARNING_SECONDS:
                actor.ready = None  # warn once
                _log.warning(
                    "Ray worker %s is not scheduled after %g s: no node has %g CPU and %g GPU "
                    "free (the cluster has %s in all)",
                    actor.owner,
                    PENDING_WARNING_SECONDS,
                    self.num_cpus,
                    self.num_gpus,
                    ray.cluster_resources(),
                )

    def _stop(self, handles: Sequence[_Actor], population: Population) -> None:
        """Kill the actors, wait until Ray reports them dead, then free the members they held.

        Ray reports an actor dead once the kill is sent, while its process may still run for a
        moment: :func:`~populace.runtime.retire` fences it off before freeing its members."""
        if not handles:
            return
        ray = self._launch.ray
        try:
            for actor in handles:
                ray.kill(actor.handle)
            ray.wait([a.result for a in handles], num_returns=len(handles), timeout=_STOP_SECONDS)
        except Exception:
            _log.warning("could not stop every Ray worker", exc_info=True)
        for actor in handles:
            retire(population.storage, population.id, actor.owner)
