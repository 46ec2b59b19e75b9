"""Weights & Biases: a run per generation of each member, forked from its parent's run."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from typing import Any

from populace._imports import require
from populace.errors import ConfigurationError
from populace.storage import ResultRecord
from populace.trackers._base import BaseTracker
from populace.trackers._timeline import is_number, lineage_text
from populace.trackers._view import TrackedPopulation

__all__ = ["WandB"]

MODES = ("online", "offline", "disabled")


class WandB(BaseTracker):
    """Logs the population to W&B while it trains: one run per generation of each member, all
    in one group named after the population.

    W&B runs cannot rewrite their past, and an exploit replaces a member's past with its
    parent's; so each generation is a run of its own (``member <id>``, then ``member <id> gen
    <g>``), created with ``fork_from`` the parent's run at the exploit step: W&B copies the
    parent's history up to that step into it, so the member's latest run shows its curve
    stitched across exploits. Offline, the fork point is recorded in the run and applied when
    it is synced (forking must be enabled for the W&B account; pass ``fork=False`` otherwise).
    Each run logs ``score``, ``metrics/<name>`` and numeric ``params/<name>`` at every reported
    step; its config holds the params and, under ``populace``, the member, generation, parent
    member, generation and step, and the reason for the exploit.

    Args:
        project: The W&B project.
        entity: The W&B team or user; default the logged-in user's.
        mode: ``"online"``, ``"offline"`` or ``"disabled"``; default W&B's (``WANDB_MODE``).
        dir: Where W&B writes its local files; default W&B's (``WANDB_DIR`` or ``./wandb``).
        tags: Tags given to every run.
        fork: Create each generation's run with ``fork_from`` its parent's run.

    Raises:
        ConfigurationError: an argument has the wrong type, is empty or unknown.
        MissingDependencyError: wandb is not installed (``pip install 'populace[wandb]'``).
    """

    def __init__(
        self,
        project: str,
        *,
        entity: str | None = None,
        mode: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        tags: Sequence[str] = (),
        fork: bool = True,
    ) -> None:
        if not isinstance(project, str) or not project:
            raise ConfigurationError(f"project must be a non-empty string, got {project!r}")
        if entity is not None and (not isinstance(entity, str) or not entity):
            raise ConfigurationError(f"entity must be a non-empty string, got {entity!r}")
        if mode is not None and mode not in MODES:
            raise ConfigurationError(f"mode must be one of {MODES}, got {mode!r}")
        if dir is not None and not isinstance(dir, (str, os.PathLike)):
            raise ConfigurationError(f"dir must be a folder path, got {dir!r}")
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise ConfigurationError(f"tags must be a sequence of strings, got {tags!r}")
        self._wandb = require("wandb", "wandb")
        self.project, self.entity, self.mode, self.fork = project, entity, mode, bool(fork)
        self.dir = None if dir is None else os.fspath(dir)
        self.tags = tuple(tags)
        self._token = secrets.token_hex(3)
        self._runs: dict[tuple[int, int], Any] = {}
        self._last_step: dict[tuple[int, int], int] = {}
        self._current: dict[int, int] = {}

    def run_id(self, population: str, member: int, generation: int) -> str:
        """The W&B id of a generation's run (unique to this tracker)."""
        name = re.sub(r"[^A-Za-z0-9_-]", "-", population)[:48]
        return f"{name}-{self._token}-m{member}-g{generation}"

    def _config(self, view: TrackedPopulation, member: int, generation: int) -> dict[str, Any]:
        segment = view.segment(member, generation)
        lineage: dict[str, Any] = {"population": view.name, "member": member}
        lineage["generation"] = generation
        if segment is None:
            return {"populace": lineage}
        lineage.update(
            parent_member=segment.parent_member,
            parent_generation=segment.parent_generation,
            parent_step=segment.parent_step,
        )
        if segment.parent_member is not None:
            lineage["lineage"] = lineage_text(view, segment)
        return {**segment.params, "populace": lineage}

    def _fork_point(self, view: TrackedPopulation, member: int, generation: int) -> str | None:
        segment = view.segment(member, generation)
        if not self.fork or segment is None or segment.parent_member is None:
            return None
        parent = (segment.parent_member, segment.parent_generation)
        if parent not in self._runs:  # the parent's run logged nothing: nothing to fork
            return None
        return f"{self.run_id(view.name, *parent)}?_step={segment.parent_step}"  # type: ignore[arg-type]

    def _start(self, view: TrackedPopulation, member: int, generation: int) -> Any:
        previous = self._current.get(member)
        if previous is not None and previous < generation:
            self._runs[(member, previous)].finish()
        run = self._wandb.init(
            project=self.project,
            entity=self.entity,
            mode=self.mode,
            dir=self.dir,
            id=self.run_id(view.name, member, generation),
            name=f"member {member}" + (f" gen {generation}" if generation else ""),
            group=view.name,
            job_type=f"member {member}",
            tags=list(self.tags),
            config=self._config(view, member, generation),
            fork_from=self._fork_point(view, member, generation),
            reinit="create_new",
            settings=self._wandb.Settings(console="off", x_disable_stats=True, silent=True),
        )
        self._runs[(member, generation)] = run
        self._current[member] = max(generation, previous or 0)
        return run

    def _log(self, view: TrackedPopulation, result: ResultRecord) -> None:
        key = (result.member, result.generation)
        if result.generation < self._current.get(result.member, 0):
            return  # a late row of a generation whose run is finished
        if key not in self._runs:
            self._start(view, *key)
        if result.step <= self._last_step.get(key, -1):
            return  # the member rewound to a checkpoint; W&B steps only move forward
        segment = view.segment(*key)
        values: dict[str, float] = {"score": result.score}
        values.update({f"metrics/{k}": v for k, v in result.metrics.items()})
        if segment is not None:
            values.update({f"params/{k}": v for k, v in segment.params.items() if is_number(v)})
        self._runs[key].log(values, step=result.step)
        self._last_step[key] = result.step

    def on_results(self, population: TrackedPopulation, results: Sequence[ResultRecord]) -> None:
        for result in results:
            self._log(population, result)

    def close(self) -> None:
        for member, generation in self._current.items():
            self._runs[(member, generation)].finish()
        self._current.clear()
