"""A live progress bar of a population in training, read from its storage."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from populace.controller import MemberState
from populace.runtime._periodic import Periodic
from populace.runtime._population import Population

__all__ = ["ProgressDisplay"]

REFRESH_SECONDS = 0.5


class ProgressDisplay:
    """Shows one bar for the whole population: steps trained, members done, the best score
    and how many times members exploited or explored.

    It reads the storage from a thread every :data:`REFRESH_SECONDS` (a read that fails is
    skipped), so it shows every
    worker's progress, wherever the worker runs, and costs the training path nothing. Enabled
    by default only when stderr is a terminal, so logs and CI output stay plain.
    """

    def __init__(self, population: Population, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._population = population
        self._refreshing = Periodic(self.refresh, REFRESH_SECONDS, "populace-progress")
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not self.enabled,
        )
        self._task = self._progress.add_task(
            f"PBT {population.name} ({population.size} members)",
            total=population.size * population.controller.budget,
            info="",
        )

    def refresh(self) -> None:
        """Show the progress stored now."""
        population = self._population
        storage = population.storage
        members = storage.members(population.id)
        done = sum(m.state != MemberState.RUNNING for m in members)
        info = [f"{done}/{len(members)} done", f"{sum(m.generation for m in members)} changes"]
        best = storage.best_saved_results(population.id, 1, population.maximize)
        if best:
            info.insert(0, f"best {best[0].score:.5g}")
        self._progress.update(
            self._task, completed=sum(m.step for m in members), info=" · ".join(info)
        )

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            self.refresh()
            self._progress.start()
            self._refreshing.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.enabled:
            self._refreshing.stop()
            self.refresh()
            self._progress.stop()
