"""The worker loop every executor runs, and one worker's whole life around it.

:func:`run_worker` asks for trials and runs ``train`` on them; :func:`work` adds what a worker
outside the driver's own loop needs (local processes, Ray actors, ``populace worker``): its
registration, a lease heartbeat beside the loop, and its leases released at the end.

How the loop treats what ``train`` raises (the executor contract):

- ``Unwind`` (raised by ``member.report``: exploit, explore, pause, lost lease, halt): the
  trial ends as planned; the loop asks for the next one.
- :class:`~populace.errors.CheckpointError` for a damaged checkpoint (missing or corrupted on
  disk): **repair**, the member goes back to its latest intact checkpoint.
- any other :class:`~populace.errors.PopulaceError` (a bad report, an unsafe checkpoint, a
  misconfigured run: the user's code misused populace): **stops the run**.
- any other exception (the user's training failed): **retry** from the member's last
  checkpoint, up to ``retries`` times, then the member is failed and the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

from populace.errors import CheckpointError, PopulaceError, ReportError
from populace.runtime._leases import new_owner
from populace.runtime._member import TrainFn, Unwind
from populace.runtime._periodic import Periodic
from populace.runtime._population import Population
from populace.runtime._recovery import checkpoint_intact, restore_past_damaged_checkpoint
from populace.runtime._session import Session
from populace.storage import BaseStorage

__all__ = ["WorkerSettings", "retire", "run_worker", "work"]

_log = logging.getLogger("populace")


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker holds its members: retries of a failing trial, lease length and renewal."""

    retries: int = 2
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 10.0


def _record_failure(session: Session, member: int, retries: int) -> None:
    failed = session.record_failure(member, traceback.format_exc(), retries + 1)
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
    session = Session(
        population.storage, population.id, population.controller, population.checkpoints
    )
    while not halt.is_set():
        trial = session.ask(owner, lease_seconds)
        if trial is None:
            if session.done:
                return
            halt.wait(poll_seconds)
            continue
        member = session.member(trial, session.waiting_behind(owner), device, halt)
        try:
            train(member)
        except Unwind:
            continue
        except CheckpointError:
            # A damaged checkpoint (a disk fault) costs the member the steps since an intact
            # one, or this trial; an unsafe checkpoint (the user's bug) stops the run.
            if trial.checkpoint is None or checkpoint_intact(session.store, trial.checkpoint.ref):
                raise
            if not restore_past_damaged_checkpoint(session, trial):
                _record_failure(session, trial.member, retries)
            continue
        except PopulaceError:
            raise
        except Exception:
            _record_failure(session, trial.member, retries)
            continue
        finally:
            session.release(trial.member, owner)
        if not member.finished:
            raise ReportError(
                f"train() returned before member {member.id} reached its budget of "
                f"{member.budget} steps (last reported step: {session.step_of(member)}); "
                "it must train until member.budget and report at the end"
            )


@contextlib.contextmanager
def registered(population: Population, settings: WorkerSettings, owner: str) -> Iterator[None]:
    """This process as worker ``owner`` of ``population`` while the block runs: registered in
    the storage (host, pid, last heartbeat, when it stopped, so ``populace status`` shows it),
    its leases renewed by a thread, and everything it holds released however the block ends."""
    storage = population.storage
    storage.register_worker(
        population.id,
        owner,
        socket.gethostname(),
        os.getpid(),
        time.time(),
        settings.lease_seconds,
    )

    def renew() -> None:
        now = time.time()
        storage.renew(population.id, owner, now + settings.lease_seconds, now)

    # Stopping does not wait for a renewal in flight: a worker unwinding from Ctrl-C or SIGTERM
    # must release its members at once (a renewal after that finds no lease of its own).
    heartbeat = Periodic(
        renew,
        settings.heartbeat_seconds,
        "populace-heartbeat",
        f"heartbeat of {owner} failed; will retry",
        wait=False,
    )
    try:
        with heartbeat:
            yield
    finally:
        retire(storage, population.id, owner)  # interrupted between a claim and its trial


def work(
    population: Population,
    train: TrainFn,
    settings: WorkerSettings,
    device: str | None = None,
    owner: str | None = None,
    halt: threading.Event | None = None,
) -> None:
    """Run the worker loop as a registered worker (see :func:`registered`) until the population
    is done; setting ``halt`` stops it early (see :func:`run_worker`)."""
    owner = owner or new_owner()
    with registered(population, settings, owner):
        run_worker(
            population,
            train,
            owner,
            retries=settings.retries,
            lease_seconds=settings.lease_seconds,
            device=device,
            halt=halt,
        )


def retire(storage: BaseStorage, population: int, owner: str) -> None:
    """Free the members of a worker that stopped, died or is being killed, for good.

    It is recorded as stopped first, so a last claim of a process that outlives its death
    notice is refused; then every lease it still holds is released, so other workers take its
    members at once. (Results it kept in memory are gone with it: a worker stores them when
    each trial ends.)
    """
    storage.stop_worker(population, owner, time.time())
    for member in storage.members(population):
        if member.lease_owner == owner:
            storage.release(population, member.id, owner)
