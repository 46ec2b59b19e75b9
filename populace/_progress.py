"""A live progress display of a run: steps, best score, exploits, time left."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from populace.controller import Decision, MemberState
from populace.storage import MemberRecord

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """Shows one bar for the whole population; an observer of the population's ready points.

    Enabled by default only when stderr is a terminal, so logs and CI output stay plain.
    """

    def __init__(
        self,
        name: str,
        size: int,
        budget: int,
        steps: dict[int, int],
        maximize: bool,
        enabled: bool | None = None,
    ) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._steps = dict(steps)
        self._maximize = maximize
        self._best: float | None = None
        self._exploits = 0
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
            f"PBT {name} ({size} members)",
            total=size * budget,
            completed=sum(self._steps.values()),
            info="",
        )

    def __call__(self, member: int, step: int, score: float, decision: Decision) -> None:
        self._steps[member] = step
        if self._best is None:
            self._best = score
        else:
            self._best = max(self._best, score) if self._maximize else min(self._best, score)
        if decision.kind == "exploit":
            self._exploits += 1
            self._steps[member] = decision.parent_step  # type: ignore[union-attr]
        self._progress.update(
            self._task,
            completed=sum(self._steps.values()),
            info=f"best {self._best:.5g} · {self._exploits} exploits",
        )

    def refresh(self, members: Sequence[MemberRecord]) -> None:
        """Show progress read from storage (worker processes report there, not here)."""
        self._steps = {m.id: m.step for m in members}
        done = sum(m.state != MemberState.RUNNING for m in members)
        self._progress.update(
            self._task,
            completed=sum(self._steps.values()),
            info=f"{done}/{len(members)} members done",
        )

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()
