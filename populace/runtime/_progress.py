"""Progress of a population in training, read from its storage and shown where the user looks:
a live bar in a terminal, a line updated in place in Jupyter, a line every minute in logs."""

from __future__ import annotations

import html
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from populace.controller import MemberState
from populace.runtime._periodic import Periodic
from populace.runtime._population import Population

__all__ = ["LOG_EVERY", "ProgressDisplay", "ProgressState"]

REFRESH_SECONDS = 0.5
LOG_EVERY = 60.0
"""Seconds between two progress lines where stderr is not a terminal (SLURM, nohup, CI)."""


@dataclass(frozen=True)
class ProgressState:
    """What the storage says now: steps trained of the total, members done, the best score and
    how many times members exploited or explored (``changes``)."""

    title: str
    steps: int
    total: int
    done: int
    members: int
    changes: int
    best: float | None

    @classmethod
    def read(cls, population: Population) -> ProgressState:
        storage = population.storage
        members = storage.members(population.id)
        best = storage.best_saved_results(population.id, 1, population.maximize)
        return cls(
            f"PBT {population.name} ({population.size} members)",
            sum(m.step for m in members),
            population.size * population.controller.budget,
            sum(m.state != MemberState.RUNNING for m in members),
            len(members),
            sum(m.generation for m in members),
            best[0].score if best else None,
        )

    @property
    def info(self) -> str:
        """Best score, members done and changes, as one short phrase."""
        info = [f"{self.done}/{self.members} done", f"{self.changes} changes"]
        if self.best is not None:
            info.insert(0, f"best {self.best:.5g}")
        return " · ".join(info)

    def line(self, elapsed: float) -> str:
        """One line that says it all, with the time taken and an estimate of the time left."""
        share = self.steps / self.total if self.total else 1.0
        text = f"{self.title}: {self.steps}/{self.total} steps ({share:.0%}) · {self.info}"
        text += f" · {_clock(elapsed)} elapsed"
        if 0 < share < 1:
            text += f" · ~{_clock(elapsed * (1 - share) / share)} left"
        return text


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class _View(Protocol):
    """Where the progress shows; ``show`` is called from the refreshing thread."""

    every: float

    def start(self, state: ProgressState) -> None: ...
    def show(self, state: ProgressState) -> None: ...
    def stop(self, state: ProgressState) -> None: ...


class _TerminalBar:
    """A rich progress bar on stderr, redrawn in place."""

    every = REFRESH_SECONDS

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task: Any = None

    def show(self, state: ProgressState) -> None:
        self._progress.update(self._task, completed=state.steps, total=state.total, info=state.info)

    def start(self, state: ProgressState) -> None:
        self._task = self._progress.add_task(state.title, total=state.total, info="")
        self.show(state)
        self._progress.start()

    def stop(self, state: ProgressState) -> None:
        self.show(state)
        self._progress.stop()


class _NotebookLine:
    """One line in the cell's output, updated in place (no widget library needed)."""

    every = REFRESH_SECONDS

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._handle: Any = None

    def _html(self, state: ProgressState) -> Any:
        from IPython.display import HTML

        share = state.steps / state.total if state.total else 1.0
        text = html.escape(state.line(time.monotonic() - self._started))
        return HTML(
            f'<progress value="{share:.4f}" max="1" style="width: 12em"></progress> '
            f"<code>{text}</code>"
        )

    def start(self, state: ProgressState) -> None:
        from IPython.display import display

        self._handle = display(self._html(state), display_id=True)

    def show(self, state: ProgressState) -> None:
        self._handle.update(self._html(state))

    def stop(self, state: ProgressState) -> None:
        self.show(state)


class _LogLines:
    """A line on stderr every :data:`LOG_EVERY` seconds, for logs that keep every line; the
    last state too when a line was printed before (or ``always``), so short runs stay quiet."""

    every = LOG_EVERY

    def __init__(self, always: bool) -> None:
        self._started = time.monotonic()
        self._printed = always

    def start(self, state: ProgressState) -> None:
        """Nothing yet: a run shorter than a minute prints nothing unless asked."""

    def show(self, state: ProgressState) -> None:
        print(state.line(time.monotonic() - self._started), file=sys.stderr, flush=True)
        self._printed = True

    def stop(self, state: ProgressState) -> None:
        if self._printed:
            self.show(state)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel, whose output is a cell rather than a terminal."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class ProgressDisplay:
    """Shows the whole population's progress: steps trained, members done, the best score and
    how many times members exploited or explored.

    It reads the storage from a thread (a read that fails is skipped), so it shows every
    worker's progress, wherever the worker runs, and costs the training path nothing. With
    ``enabled`` None it shows a bar in a terminal, a line in Jupyter, and a line a minute
    elsewhere (logs); True shows it even in a log from the first minute, False shows nothing.
    """

    def __init__(self, population: Population, enabled: bool | None = None) -> None:
        self.enabled = enabled is not False
        self._population = population
        view: _View
        if _in_notebook():
            view = _NotebookLine()
        elif sys.stderr.isatty():
            view = _TerminalBar()
        else:
            view = _LogLines(always=enabled is True)
        self._view = view
        self._refreshing = Periodic(self.refresh, view.every, "populace-progress")

    def refresh(self) -> None:
        """Show the progress stored now."""
        self._view.show(ProgressState.read(self._population))

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            self._view.start(ProgressState.read(self._population))
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
            self._view.stop(ProgressState.read(self._population))
