"""Workers as Ray actors: the same worker loop, on any node of a Ray cluster."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from populace._imports import require
from populace.errors import ConfigurationError, PopulaceError
from populace.executors._base import BaseExecutor, RestartBudget, TrainFn, shared_storage_url
from populace.executors._worker import WorkerSettings, retire, work

if TYPE_CHECKING:
    from populace._population import Population

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
        owner: str,
        log_level: int,
    ) -> _TrainExited | None:
        import ray
        from ray import cloudpickle

        from populace._run import load  # imported here: _run imports this package
        from populace.storage import SQLStorage

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
            work(load(SQLStorage(url), name), function, settings, device, owner)
        except SystemExit as exc:  # Ray would take it for the actor's exit and restart it
            code = exc.code
            return _TrainExited(code if code is None or isinstance(code, int) else str(code))
        return None


@dataclass
class _Actor:
    """A started actor: its lease owner id, its handle, and the call that runs its worker."""

    owner: str
    handle: Any
    result: Any  # ObjectRef of the work call; it resolves when the worker ends or the actor dies
    ready: Any  # ObjectRef resolving once the actor is scheduled; None after that
    since: float


class RayExecutor(BaseExecutor):
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

    Example:
        >>> from populace.executors import RayExecutor
        >>> executor = RayExecutor(8, address="auto", num_gpus=1)
        >>> # pop.run(train, space, ..., storage="postgresql://...", executor=executor)
    """

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
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be an integer >= 1, got {workers!r}")
        for key, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(f"{key} must be a number >= 0, got {value!r}")
        self.workers = workers
        self.address = address
        self.num_cpus = float(num_cpus)
        self.num_gpus = float(num_gpus)
        self.settings = WorkerSettings(retries, lease_seconds, heartbeat_seconds)
        self.restarts = restarts
        self.on_tick = on_tick

    def run(self, population: Population, train: TrainFn) -> None:
        url = shared_storage_url(population, "Ray workers")
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
            self._run(ray, population, url, payload, log_level)
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

    def _run(
        self, ray: Any, population: Population, url: str, payload: bytes, log_level: int
    ) -> None:
        remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_restarts=0)(_Worker)

        def start() -> _Actor:
            owner = f"ray:{uuid.uuid4().hex}"
            handle = remote.options(name=owner).remote()
            ready = handle.__ray_ready__.remote()  # before work: an actor runs calls in order
            result = handle.work.remote(
                url, population.name, payload, self.settings, owner, log_level
            )
            return _Actor(owner, handle, result, ready, time.monotonic())

        actors = [start() for _ in range(self.workers)]
        try:
            self._supervise(ray, actors, start, population)
        except BaseException:
            self._stop(ray, actors, population)
            raise

    def _supervise(
        self,
        ray: Any,
        actors: list[_Actor],
        start: Callable[[], _Actor],
        population: Population,
    ) -> None:
        budget = RestartBudget(self.restarts)
        while actors:
            finished, _ = ray.wait([a.result for a in actors], num_returns=1, timeout=0.5)
            if self.on_tick is not None:
                self.on_tick()
            self._warn_if_pending(ray, actors)
            for actor in [a for a in actors if a.result in finished]:
                actors.remove(actor)
                ray.kill(actor.handle)  # its worker has ended: free its CPUs and GPUs at once
                if self._ended(ray, actor, population) or population.done:
                    continue
                if not budget.spend():
                    raise budget.exhausted("Ray workers")
                _log.warning("Ray worker %s died; starting another", actor.owner)
                actors.append(start())

    @staticmethod
    def _ended(ray: Any, actor: _Actor, population: Population) -> bool:
        """Whether the killed actor's worker had ended normally; if the actor had died, free its
        members at once (no waiting for its leases to expire) and return False.

        Raises:
            PopulaceError: the error of populace's own that stopped the worker, as raised there.
            SystemExit: ``train`` called ``sys.exit`` in the actor; the driver exits the same way.
        """
        try:
            result = ray.get(actor.result)
        except ray.exceptions.RayActorError:
            retire(population, actor.owner)
            return False
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, PopulaceError):  # populace's own error, as the user expects
                raise type(exc.cause)(str(exc.cause)) from None
            raise
        if isinstance(result, _TrainExited):
            _log.warning(
                "Ray worker %s: train() called sys.exit(%r); stopping the run",
                actor.owner,
                result.code,
            )
            raise SystemExit(result.code)
        return True

    def _warn_if_pending(self, ray: Any, actors: list[_Actor]) -> None:
        pending = [a for a in actors if a.ready is not None]
        if not pending:
            return
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

    @staticmethod
    def _stop(ray: Any, actors: list[_Actor], population: Population) -> None:
        """Kill the actors, wait until Ray reports them dead, then free the members they held.

        Ray reports an actor dead once the kill is sent, while its process may still run for a
        moment: :func:`retire` fences it off before freeing its members."""
        if not actors:
            return
        try:
            for actor in actors:
                ray.kill(actor.handle)
            ray.wait([a.result for a in actors], num_returns=len(actors), timeout=_STOP_SECONDS)
        except Exception:
            _log.warning("could not stop every Ray worker", exc_info=True)
        for actor in actors:
            retire(population, actor.owner)
