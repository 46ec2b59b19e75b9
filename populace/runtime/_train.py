"""Training an opened population with an executor: the second half of ``pop.run``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from populace.controller import MemberState
from populace.runtime._collector import BackgroundCollector, collect
from populace.runtime._member import TrainFn
from populace.runtime._population import Population
from populace.runtime._progress import ProgressDisplay
from populace.trackers._feed import TrackerFeed

if TYPE_CHECKING:
    from populace.executors import BaseExecutor
    from populace.trackers import BaseTracker

__all__ = ["train_population"]

_log = logging.getLogger("populace")


def train_population(
    population: Population,
    train: TrainFn,
    executor: BaseExecutor,
    *,
    keep_best: int,
    progress: bool | None = None,
    trackers: Sequence[BaseTracker] = (),
) -> None:
    """Train ``population`` with ``executor`` until no member can train any more.

    Garbage is collected while it trains (keeping ``keep_best`` best checkpoints besides the
    live ones) and once more at the end; a progress bar shows when ``progress`` (default: when
    stderr is a terminal); ``trackers`` are fed from the storage. Members that failed are
    named in a warning, since the run went on without them.
    """
    storage = population.storage
    with (
        ProgressDisplay(population, progress),
        TrackerFeed(population, trackers),
        BackgroundCollector(storage, population.checkpoints, keep_best),
    ):
        try:
            executor.run(population, train)
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: population {population.name!r} is safe in {storage.url}; call "
                "pop.run again with the same name and storage to resume it",
                file=sys.stderr,
            )
            raise
    collect(storage, population.checkpoints, keep_best)
    _warn_of_failures(population)


def _warn_of_failures(population: Population) -> None:
    """Say which members failed: the run went on without them, so the return alone hides it."""
    members = population.storage.members(population.id)
    failed = [m.id for m in members if m.state == MemberState.FAILED]
    if failed:
        _log.warning(
            "population %r: %d of %d members failed (%s) and the others went on; each one's "
            "traceback is in result.members()[i].error",
            population.name,
            len(failed),
            population.size,
            ", ".join(map(str, failed)),
        )
