"""The vectorised worker loop: claim a shard of members, run ``train_batch`` on all of them at once.

How the loop treats what ``train_batch`` raises:

- ``Unwind`` (raised by ``batch.report``: every member finished or failed, halt): the shard
  ends as planned.
- any :class:`~populace.errors.PopulaceError` (a bad report or state, a misconfigured run, a
  damaged checkpoint): **stops the run**.
- any other exception: counted as a failure of every active member of the shard, which is
  **retried** from the members' checkpoints; at ``retries + 1`` failures its members are failed
  (a shard trains together, so its members fail together).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Collection
from typing import Any

from populace.errors import ConfigurationError, PopulaceError, ReportError
from populace.runtime._batch import Batch, BatchTrainFn, param_tensors
from populace.runtime._leases import new_owner
from populace.runtime._member import Unwind
from populace.runtime._population import Population
from populace.runtime._session import Session
from populace.runtime._shard import Shard
from populace.runtime._stacked import stack
from populace.runtime._worker import WorkerSettings, registered
from populace.storage import MemberRecord

__all__ = ["run_vector_worker", "work_vectorized"]

_log = logging.getLogger("populace")


def run_vector_worker(
    population: Population,
    train_batch: BatchTrainFn,
    owner: str,
    device: Any,
    *,
    retries: int = 2,
    lease_seconds: float = 3600.0,
    poll_seconds: float = 0.2,
    halt: threading.Event | None = None,
    shard_size: int | None = None,
) -> None:
    """Train the running members with ``train_batch`` until all have finished or failed;
    setting ``halt`` stops it at the next report.

    Normally every member (or, with ``shard_size``, that many of the members no other worker
    holds) is in one shard from start to end; members at different steps are trained
    least-advanced first, each shard stopping where the next members stand so that they merge
    there (see :func:`open_shard`).
    """
    halt = halt if halt is not None else threading.Event()
    session = Session(
        population.storage, population.id, population.controller, population.checkpoints
    )
    while not halt.is_set():
        shard = open_shard(session, owner, device, lease_seconds, halt, shard_size)
        if shard is None:
            if session.done:
                return
            halt.wait(poll_seconds)
            continue
        try:
            train_batch(Batch(shard))
        except Unwind:
            continue
        except PopulaceError:
            raise
        except Exception:
            shard.fail(traceback.format_exc(), retries + 1)
            _log.warning(
                "train_batch raised; members %s retry from their checkpoints (or fail at %d "
                "failures)",
                list(shard.members),
                retries + 1,
                exc_info=True,
            )
            continue
        finally:
            shard.release()
        if not shard.finished:
            raise ReportError(
                f"train_batch returned before its members reached their budget of "
                f"{shard.budget} steps (last reported step: {shard.step}); it must train until "
                "batch.budget and report at the end"
            )


def open_shard(
    session: Session,
    owner: str,
    device: Any,
    lease_seconds: float,
    halt: threading.Event,
    shard_size: int | None = None,
) -> Shard | None:
    """Claim the least-advanced running members no other live worker holds (at most
    ``shard_size``), take the decisions they have pending, and load them as one shard from
    their checkpoints.

    Members ahead wait their turn (the shard stops where they stand and they join it there);
    None if no member can train now (all finished, held by other workers, or waiting at a
    synchronous barrier).
    """
    storage, population = session.storage, session.population
    free = session.free_members(owner)
    claimed: list[MemberRecord] = []
    # least advanced by what the members would resume from (a lost interval is rewound)
    for member in sorted(free.members, key=lambda m: (m.checkpoint_step, m.id)):
        if shard_size is not None and len(claimed) >= shard_size:
            break
        record = storage.claim(
            population, member.id, owner, free.now + lease_seconds, free.now, free.dead
        )
        if record is not None:  # else another worker took it meanwhile
            claimed.append(record)
    try:
        shard = _least_advanced(session, owner, lease_seconds, free.dead, claimed)
        if shard:
            ids = {r.id for r in shard}
            _release(session, [r for r in claimed if r.id not in ids], owner)
            return _load(session, owner, device, shard, halt, shard_size)
    except BaseException:
        _release(session, claimed, owner)
        raise
    _release(session, claimed, owner)
    return None


def _least_advanced(
    session: Session,
    owner: str,
    lease_seconds: float,
    dead: Collection[str],
    claimed: list[MemberRecord],
) -> list[MemberRecord]:
    """The claimed members at the lowest step, with their pending decisions taken, that still
    run and stand at one point (step and last decision step)."""
    rewound = [session._rewind_to_checkpoint(r) for r in claimed]
    if not rewound:
        return []
    lowest = min(r.step for r in rewound)
    settled = [_settle(session, r, owner, lease_seconds, dead) for r in rewound if r.step == lowest]
    running = [r for r in settled if r is not None]
    if not running:
        return []
    point = min((r.step, r.last_decision_step) for r in running)
    return [r for r in running if (r.step, r.last_decision_step) == point]


def _release(session: Session, records: list[MemberRecord], owner: str) -> None:
    for record in records:
        session.storage.release(session.population, record.id, owner)


def _settle(
    session: Session,
    record: MemberRecord | None,
    owner: str,
    lease_seconds: float,
    dead: Collection[str],
) -> MemberRecord | None:
    """The member rewound to its last checkpoint, with the decision it has pending taken (its
    shard stopped between storing a ready point and deciding); None once it is not running, or
    while it waits at a synchronous barrier for members other workers train."""
    while record is not None:
        record = session._rewind_to_checkpoint(record)
        ready = session.controller.is_ready(
            record.last_decision_step, record.step, record.id, record.generation
        )
        if not ready:
            return record
        if session._decide(record.id, record.generation, record.step).kind == "wait":
            return None
        now = session._clock()  # read back, changed by its decision, still leased
        record = session.storage.claim(
            session.population, record.id, owner, now + lease_seconds, now, dead
        )
    return None


def _load(
    session: Session,
    owner: str,
    device: Any,
    records: list[MemberRecord],
    halt: threading.Event,
    capacity: int | None,
) -> Shard:
    """The shard of ``records`` (at one step), its state stacked from their checkpoints.

    Raises:
        ConfigurationError: only some of the members have a checkpoint.
    """
    refs = [r.checkpoint for r in records]
    checkpoint = None
    if any(ref is not None for ref in refs):
        if any(ref is None for ref in refs):
            raise ConfigurationError(
                "only some members have a checkpoint to resume from; the vectorized executor "
                "needs all or none (pass state to batch.report at every ready point)"
            )
        checkpoint = stack([session.store.get(ref) for ref in refs if ref is not None], device)
    params = param_tensors(session.controller.space, [r.params for r in records], device)
    return Shard(
        session,
        owner,
        [(r.id, r.generation) for r in records],
        params,
        device,
        records[0].step,
        records[0].last_decision_step,
        checkpoint,
        halt,
        capacity,
    )


def work_vectorized(
    population: Population,
    train_batch: BatchTrainFn,
    settings: WorkerSettings,
    device: Any,
    owner: str | None = None,
    halt: threading.Event | None = None,
    shard_size: int | None = None,
) -> None:
    """Run the vectorised loop as a registered worker whose leases a thread renews; release
    them however it ends (see :func:`populace.runtime.work`). ``shard_size`` caps the members
    it trains at once, so that several workers share the population."""
    owner = owner or new_owner()
    with registered(population, settings, owner):
        run_vector_worker(
            population,
            train_batch,
            owner,
            device,
            retries=settings.retries,
            lease_seconds=settings.lease_seconds,
            halt=halt,
            shard_size=shard_size,
        )
