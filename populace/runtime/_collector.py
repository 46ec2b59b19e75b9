"""Garbage collection of a checkpoint store, while its populations train and once they are done.

A collection deletes the blobs that no population of the store's database may still need (see
:mod:`populace.runtime._retention`). While any of them has a running member, blobs put in the last
:data:`GRACE_SECONDS` are spared, since their writer may not have recorded their refs yet; so
disk stays bounded by the retention rule plus what is written in that time. A collection runs
every :data:`EVERY_SECONDS` in a thread beside the run, off the training path; several
collectors (workers on many hosts) may run at once.
"""

from __future__ import annotations

import logging
import time

from populace.checkpoints import BaseCheckpointStore, GarbageReport, collect_garbage
from populace.controller import MemberState
from populace.runtime._periodic import Periodic
from populace.runtime._retention import population_keep
from populace.runtime._store_owner import owns_store, resolve_location
from populace.storage import BaseStorage

__all__ = ["EVERY_SECONDS", "GRACE_SECONDS", "BackgroundCollector", "collect"]

_log = logging.getLogger("populace")

GRACE_SECONDS = 120.0
"""Blobs put this recently are spared while members train: longer than any storage write waits
between a put and the commit of its ref (a SQLite lock or a database outage: 60 s)."""
EVERY_SECONDS = 30.0


def collect(
    storage: BaseStorage, store: BaseCheckpointStore, keep_best: int
) -> GarbageReport | None:
    """Collect ``store``'s garbage for every population of ``storage`` that uses it.

    Returns None, deleting nothing, when the store belongs to another database.
    """
    if not owns_store(storage, store):
        _log.warning("checkpoint store %s belongs to another database: not collected", store.uri)
        return None
    started = time.time()
    populations = [
        p
        for p in storage.list_populations()
        if resolve_location(storage, p.checkpoints) == store.uri
    ]
    members = {p.id: storage.members(p.id) for p in populations}
    training = any(m.state == MemberState.RUNNING for ms in members.values() for m in ms)
    # Taken before the keep set is read: a blob put later (a population created meanwhile) is
    # spared, and while members train, so is one put earlier whose writer may still be
    # recording it.
    spare = started - (GRACE_SECONDS if training else 0.0)
    keep: set[str] = set()
    for population in populations:
        keep |= population_keep(storage, population, members[population.id], keep_best)
    report = collect_garbage(store, keep, spare_put_after=spare)
    _log.debug("collected %s: %s", store.uri, report)
    return report


class BackgroundCollector(Periodic):
    """Runs :func:`collect` every ``every`` seconds (default :data:`EVERY_SECONDS`) in a daemon
    thread, while in a ``with``."""

    def __init__(
        self,
        storage: BaseStorage,
        store: BaseCheckpointStore,
        keep_best: int,
        every: float | None = None,
    ) -> None:
        super().__init__(
            lambda: collect(storage, store, keep_best),
            EVERY_SECONDS if every is None else every,
            "populace-collector",
            "checkpoint garbage collection failed; will retry",
        )
