"""MLflow: a parent run for the population, a nested run per member."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from populace._imports import require
from populace.errors import ConfigurationError
from populace.storage import DecisionRecord, ResultRecord
from populace.trackers._base import BaseTracker
from populace.trackers._timeline import is_number, lineage_text
from populace.trackers._view import TrackedPopulation

__all__ = ["MLflow"]

_BATCH = 1000  # MLflow's limit on metrics per log_batch call


def _key(name: str) -> str:
    """``name`` with the characters MLflow refuses in keys replaced by ``_``."""
    return re.sub(r"[^\w\-. /]", "_", name)


class MLflow(BaseTracker):
    """Logs the population to MLflow while it trains, through ``MlflowClient`` (no global
    active run, so it is safe beside the user's own MLflow logging).

    One parent run named after the population holds a nested run per member (``member <id>``).
    A member's run logs its first params as MLflow params, and at every reported step the
    metrics ``score``, ``metrics/<name>`` for each extra metric, ``params/<name>`` for each
    numeric hyperparameter in force, and ``lineage/generation``. MLflow params cannot change,
    so the schedule after exploits is in those ``params/`` metrics, and each generation adds
    tags: ``populace.generation``, ``populace.parent_member``, ``populace.parent_generation``,
    ``populace.parent_step`` (the latest exploit), ``populace.params`` (the params in force,
    as JSON) and ``populace.lineage.<generation>`` (whom it copied, at which step and why).

    Args:
        tracking_uri: Where MLflow stores runs: a server URL, ``"sqlite:///mlflow.db"`` (needs
            the full ``mlflow`` package) or ``"file:///tmp/mlruns"`` (MLflow 3 allows it only
            with ``MLFLOW_ALLOW_FILE_STORE=true``); default MLflow's (``MLFLOW_TRACKING_URI``).
        experiment: The MLflow experiment, created if missing.
        run_name: The parent run's name; default the population name.

    Raises:
        ConfigurationError: an argument has the wrong type or is empty.
        MissingDependencyError: mlflow is not installed (``pip install 'populace[mlflow]'``).
        mlflow.exceptions.MlflowException: MLflow refuses the tracking URI.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = "populace",
        run_name: str | None = None,
    ) -> None:
        for what, value in (("tracking_uri", tracking_uri), ("run_name", run_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
        if not isinstance(experiment, str) or not experiment:
            raise ConfigurationError(f"experiment must be a non-empty string, got {experiment!r}")
        self._mlflow = require("mlflow", "mlflow")
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self._client = self._mlflow.MlflowClient(tracking_uri)
        self._experiment_id = ""
        self.parent_run_id: str | None = None
        self._runs: dict[int, str] = {}
        self._generation: dict[int, int] = {}

    def _open(self, view: TrackedPopulation) -> None:
        found = self._client.get_experiment_by_name(self.experiment)
        self._experiment_id = (
            found.experiment_id if found else self._client.create_experiment(self.experiment)
        )
        tags = {"populace.population": view.name}
        run = self._client.create_run(
            self._experiment_id, tags=tags, run_name=self.run_name or view.name
        )
        self.parent_run_id = run.info.run_id

    def _member_run(self, view: TrackedPopulation, member: int) -> str:
        if member not in self._runs:
            tags = {"mlflow.parentRunId": self.parent_run_id, "populace.member": str(member)}
            run = self._client.create_run(
                self._experiment_id, tags=tags, run_name=f"member {member}"
            )
            self._runs[member] = run.info.run_id
            first = view.segment(member, 0)
            params = (
                []
                if first is None
                else [self._mlflow.entities.Param(_key(k), str(v)) for k, v in first.params.items()]
            )
            self._client.log_batch(run.info.run_id, params=params)
            self._generation[member] = 0
        return self._runs[member]

    def _note_generations(self, view: TrackedPopulation, member: int, generation: int) -> None:
        """Tag the member's run with the lineage of its generations up to ``generation``."""
        run = self._member_run(view, member)
        for g in range(self._generation[member] + 1, generation + 1):
            segment = view.segment(member, g)
            if segment is None:
                return
            tags = {
                "populace.generation": g,
                "populace.parent_member": segment.parent_member,
                "populace.parent_generation": segment.parent_generation,
                "populace.parent_step": segment.parent_step,
                "populace.params": json.dumps(dict(segment.params), default=repr),
                f"populace.lineage.{g}": lineage_text(view, segment),
            }
            tag = self._mlflow.entities.RunTag
            self._client.log_batch(run, tags=[tag(k, str(v)) for k, v in tags.items()])
            self._generation[member] = g

    def _metrics(self, view: TrackedPopulation, result: ResultRecord) -> list[Any]:
        segment = view.segment(result.member, result.generation)
        values: dict[str, float] = {"score": result.score, "lineage/generation": result.generation}
        values.update({f"metrics/{k}": v for k, v in result.metrics.items()})
        if segment is not None:
            values.update({f"params/{k}": v for k, v in segment.params.items() if is_number(v)})
        stamp = int(result.created_at * 1000)
        metric = self._mlflow.entities.Metric
        return [metric(_key(k), float(v), stamp, result.step) for k, v in values.items()]

    def on_results(self, population: TrackedPopulation, results: Sequence[ResultRecord]) -> None:
        if self.parent_run_id is None:
            self._open(population)
        by_member: dict[int, list[Any]] = {}
        for result in results:
            self._note_generations(population, result.member, result.generation)
            by_member.setdefault(result.member, []).extend(self._metrics(population, result))
        for member, metrics in by_member.items():
            for start in range(0, len(metrics), _BATCH):
                self._client.log_batch(self._runs[member], metrics=metrics[start : start + _BATCH])

    def on_decisions(
        self, population: TrackedPopulation, decisions: Sequence[DecisionRecord]
    ) -> None:
        if self.parent_run_id is None:
            self._open(population)
        for decision in decisions:
            self._note_generations(population, decision.member, decision.generation + 1)

    def close(self) -> None:
        if self.parent_run_id is None:
            return
        for run in [*self._runs.values(), self.parent_run_id]:
            self._client.set_terminated(run)
