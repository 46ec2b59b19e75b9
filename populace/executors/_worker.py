"""One worker's whole life: a lease heartbeat beside the worker loop, leases released at the end.

Every executor that runs workers outside the driver's own loop (local processes, Ray actors, the
``populace worker`` command) runs :func:`work`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from populace._leases import new_owner
from populace.errors import PopulaceError
from populace.executors._base import TrainFn, run_worker

if TYPE_CHECKING:
    from populace._population import Population

__all__ = ["WorkerSettings", "release_leases", "retire", "work"]

_log = logging.getLogger("populace")


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker holds its members: retries of a failing trial, lease length and renewal."""

    retries: int = 2
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 10.0


def _heartbeat(
    population: Population, owner: str, lease: float, every: float, stop: threading.Event
) -> None:
    while not stop.wait(every):
        try:
            now = time.time()
            population.storage.renew(population.id, owner, now + lease, now)
        except PopulaceError:
            _log.warning("heartbeat of %s failed; will retry", owner, exc_info=True)


def work(
    population: Population,
    train: TrainFn,
    settings: WorkerSettings,
    device: str | None = None,
    owner: str | None = None,
    halt: threading.Event | None = None,
) -> None:
    """Run the worker loop while a thread renews this worker's leases; release them at the end.

    The worker is registered in the storage (host, pid, last heartbeat, when it stopped), so
    ``populace status`` shows which workers on which hosts are alive. Setting ``halt`` stops it
    early (see :func:`run_worker`).
    """
    owner = owner or new_owner()
    storage = population.storage
    storage.register_worker(
        population.id,
        owner,
        socket.gethostname(),
        os.getpid(),
        time.time(),
        settings.lease_seconds,
    )
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        daemon=True,
        args=(population, owner, settings.lease_seconds, settings.heartbeat_seconds, stop),
    )
    beat.start()
    try:
        run_worker(
            population,
            train,
            owner,
            retries=settings.retries,
            lease_seconds=settings.lease_seconds,
            device=device,
            halt=halt,
        )
    finally:
        stop.set()
        retire(population, owner)  # interrupted between a claim and its trial: free it


def retire(population: Population, owner: str) -> None:
    """Free the members of a worker that died or is being killed, for good: it is recorded as
    stopped first, so a last claim of a process that outlives its death notice is refused."""
    population.storage.stop_worker(population.id, owner, time.time())
    release_leases(population, owner)


def release_leases(population: Population, owner: str) -> None:
    """Release every lease ``owner`` still holds, so other workers take its members at once."""
    for member in population.storage.members(population.id):
        if member.lease_owner == owner:
            population.release(member.id, owner)
