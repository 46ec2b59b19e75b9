"""The tracker contract: what an experiment tracker is told about a population as it trains."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from populace.storage import DecisionRecord, ResultRecord
from populace.trackers._view import TrackedPopulation

__all__ = ["BaseTracker"]


class BaseTracker(abc.ABC):
    """Receives a population's new results and decisions, read from its storage.

    Contract:

    - The feed calls the methods from one thread at a time (a background thread of the
      process that called ``pop.run``, then that process itself for the final flush), so a
      tracker needs no locks. Every executor feeds trackers the same way, since the rows come
      from the storage, not from the workers.
    - Each result and decision is delivered once, in the order stored. ``population`` already
      holds them, with the lineage read at the same time: stitched curves and the decision
      that started each generation are available from it.
    - A method that raises disables the tracker for the rest of the run (with a warning);
      training goes on.
    - ``close`` is called once at the end of the run, after the final rows, even if the run
      failed.
    """

    @abc.abstractmethod
    def on_results(self, population: TrackedPopulation, results: Sequence[ResultRecord]) -> None:
        """Record newly stored results (scores, with their extra ``metrics``)."""

    def on_decisions(  # noqa: B027 - most trackers read lineage from ``population`` instead
        self, population: TrackedPopulation, decisions: Sequence[DecisionRecord]
    ) -> None:
        """Record newly committed decisions (exploits, explores, stops, with reasons)."""

    def close(self) -> None:  # noqa: B027 - optional hook with a sensible default
        """Write what is pending and release files and connections."""
