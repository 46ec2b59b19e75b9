"""TensorBoard: one run per member, its curve stitched across exploits, live or exported."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from populace._imports import require
from populace.errors import ConfigurationError
from populace.storage import DecisionRecord, ResultRecord
from populace.trackers._base import BaseTracker
from populace.trackers._event_file import EventRun
from populace.trackers._timeline import member_timeline
from populace.trackers._view import TrackedPopulation

__all__ = ["TensorBoard", "write_tensorboard"]


def _run_folder(logdir: Path, member: int) -> Path:
    return logdir / f"member-{member}"


def _write_hparams(run: EventRun, view: TrackedPopulation, member: int) -> None:
    current = view.chain(member)[-1]
    run.hparams(current.params, f"{view.name} member {member}", current.created_at)


def write_tensorboard(view: TrackedPopulation, logdir: str | os.PathLike[str]) -> list[Path]:
    """Write every member's run under ``logdir`` (``member-<id>/``); return the run folders.

    Raises:
        MissingDependencyError: tensorboard is not installed.
    """
    folders = []
    for member in view.members():
        folder = _run_folder(Path(logdir), member)
        run = EventRun(folder)
        run.sync(member_timeline(view, member))
        _write_hparams(run, view, member)
        run.close()
        folders.append(folder)
    return folders


class TensorBoard(BaseTracker):
    """Writes TensorBoard event files while the population trains: one run per member.

    Each run (``<logdir>/member-<id>``) shows the history of the model the member holds now,
    stitched across exploits: ``score``, ``metrics/<name>`` for each extra metric,
    ``params/<name>`` for each numeric hyperparameter in force, ``lineage/member`` and
    ``lineage/generation`` (whose training produced each step), and at each exploit a
    ``lineage/parent`` scalar and a ``lineage`` text with the parent and the reason. When a
    member exploits, its run is rewritten from the step where its history changed. At the end
    the final params go to the HParams dashboard. ``populace export --format tensorboard``
    writes the same runs from the storage.

    Args:
        logdir: The folder to give ``tensorboard --logdir``; created if missing.

    Raises:
        ConfigurationError: ``logdir`` is not a path.
        MissingDependencyError: tensorboard is not installed (``pip install
            'populace[tensorboard]'``).

    Example:
        >>> import os
        >>> import populace as pop
        >>> import populace.trackers
        >>> def train(member):
        ...     for step in range(member.step + 1, member.budget + 1):
        ...         member.report(step, member.params["lr"] * step, checkpoint={})
        >>> result = pop.run(train, pop.SearchSpace(lr=pop.Uniform(0.0, 0.1)), population=2,
        ...                  budget=4, interval=2, storage="memory", progress=False,
        ...                  trackers=[populace.trackers.TensorBoard("runs")])
        >>> sorted(os.listdir("runs"))  # tensorboard --logdir runs
        ['member-0', 'member-1']
    """

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        if not isinstance(logdir, (str, os.PathLike)) or not str(logdir):
            raise ConfigurationError(f"logdir must be a folder path, got {logdir!r}")
        require("tensorboard", "tensorboard")
        self.logdir = Path(logdir)
        self._runs: dict[int, EventRun] = {}
        self._view: TrackedPopulation | None = None

    def _sync(self, view: TrackedPopulation, members: Iterable[int]) -> None:
        for member in sorted(set(members)):
            if member not in self._runs:
                self._runs[member] = EventRun(_run_folder(self.logdir, member))
            self._runs[member].sync(member_timeline(view, member))
            self._runs[member].flush()
        self._view = view

    def on_results(self, population: TrackedPopulation, results: Sequence[ResultRecord]) -> None:
        self._sync(population, (r.member for r in results))

    def on_decisions(
        self, population: TrackedPopulation, decisions: Sequence[DecisionRecord]
    ) -> None:
        self._sync(population, (d.member for d in decisions))

    def close(self) -> None:
        for member, run in self._runs.items():
            if self._view is not None:
                _write_hparams(run, self._view, member)
            run.close()
        self._runs.clear()
