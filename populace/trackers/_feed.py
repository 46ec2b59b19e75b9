"""Feeding trackers from the storage while a population trains, in the driver process."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING

from populace.errors import PopulaceError
from populace.runtime._periodic import Periodic
from populace.storage._follow import Follower
from populace.trackers._base import BaseTracker
from populace.trackers._view import TrackedPopulation

if TYPE_CHECKING:
    from populace.analysis import PopulationData

__all__ = ["FEED_SECONDS", "TrackerFeed"]

_log = logging.getLogger("populace")

FEED_SECONDS = 1.0
"""How often the feed reads new rows from the storage."""


class TrackerFeed:
    """Reads a population's new rows every :data:`FEED_SECONDS` while the block runs and hands
    them to the trackers; on leaving, reads everything not yet delivered and closes them.

    It runs in the process that trains the population (the driver), so every executor, local or
    remote, feeds trackers the same way, and training never waits on a tracker. A tracker that
    raises is disabled with one warning; the others and the run go on.
    """

    def __init__(self, population: PopulationData, trackers: Sequence[BaseTracker]) -> None:
        storage, pid = population.storage, population.id
        self.view = TrackedPopulation(population.name, population.maximize)
        self._trackers = list(trackers)
        self._live = list(trackers)
        self._results = Follower(lambda after: storage.results(pid, after=after))
        self._decisions = Follower(lambda after: storage.decisions(pid, after=after))
        self._segments = lambda: storage.segments(pid)
        self._polling = Periodic(
            self._poll_live,
            FEED_SECONDS,
            "populace-trackers",
            "trackers could not read the storage",
        )

    def _poll_live(self) -> None:
        try:
            self.poll()
        except PopulaceError:
            raise  # the storage unreachable for a moment: Periodic logs it and goes on
        except Exception:
            _log.warning("trackers could not be fed; training goes on", exc_info=True)

    def poll(self, everything: bool = False) -> None:
        """Deliver the rows stored since the last poll (``everything``: re-read all to be sure)."""
        # Results first, then segments, then decisions: each result's generation, and each
        # generation's starting decision, were committed before the later read.
        results = self._results.new(everything)
        segments = self._segments()
        decisions = self._decisions.new(everything)
        self.view.add(segments, decisions, results)
        view = self.view
        for tracker in list(self._live):
            if decisions:
                self._call(tracker, partial(tracker.on_decisions, view, decisions))
            if results:
                self._call(tracker, partial(tracker.on_results, view, results))

    def _call(self, tracker: BaseTracker, action: Callable[[], None]) -> None:
        if tracker not in self._live:
            return
        try:
            action()
        except Exception:
            self._live.remove(tracker)
            _log.warning(
                "tracker %s failed and is disabled for the rest of population %r; training goes on",
                type(tracker).__name__,
                self.view.name,
                exc_info=True,
            )

    def __enter__(self) -> TrackerFeed:
        if self._trackers:
            self._polling.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self._trackers:
            return
        self._polling.stop()
        try:
            self.poll(everything=True)
        except Exception:  # the population is trained and stored: only the trackers miss rows
            _log.warning("trackers missed the last rows of the run", exc_info=True)
        for tracker in self._trackers:
            if tracker in self._live:
                self._call(tracker, tracker.close)
            else:
                with contextlib.suppress(Exception):  # already reported as failed
                    tracker.close()
