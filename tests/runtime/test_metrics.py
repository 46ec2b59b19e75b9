"""Extra metrics ride along with the score: stored with every result, batched or not, read back
by name; only the score decides. Bad metrics stop the run with one line naming the metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import populace as pop
from populace.checkpoints import LocalCheckpointStore
from populace.storage import SQLStorage

from .workloads import SPACE

SETTINGS: dict[str, Any] = dict(population=2, budget=10, interval=5, progress=False)


def test_metrics_are_stored_with_every_result_and_do_not_decide() -> None:
    def train(member: pop.Member) -> None:
        for step in range(member.step + 1, member.budget + 1):
            loss = torch.tensor(1.0 / step)
            metrics = {"loss": loss, "lr": member.params["lr"], "steps_seen": np.int64(step)}
            member.report(step, float(step), checkpoint={"step": step}, metrics=metrics)

    result = pop.run(train, SPACE, storage="memory", **SETTINGS)
    results = result.results()
    assert len(results) == 20  # between ready points too: batched results keep their metrics
    for r in results:
        assert r.metrics["loss"] == pytest.approx(1.0 / r.step)
        assert r.metrics["steps_seen"] == r.step
        assert set(r.metrics) == {"loss", "lr", "steps_seen"}
    assert all(isinstance(v, float) for r in results for v in r.metrics.values())


def test_ask_tell_takes_metrics(tmp_path: Path) -> None:
    controller = pop.Controller(SPACE, budget=4, interval=2)
    population = pop.Population.create(
        SQLStorage(f"sqlite:///{tmp_path / 'told.db'}"),
        "told",
        controller,
        1,
        LocalCheckpointStore(tmp_path / "ckpt"),
    )
    trial = population.ask(owner="me")
    assert trial is not None
    population.tell(trial, 1, 0.5, metrics={"loss": 2.0})
    assert [r.metrics for r in population.results()] == [{"loss": 2.0}]


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ([("loss", 1.0)], r"metrics must be a dict of name to number, got \[\('loss', 1.0\)\]"),
        ({"score": 1.0}, '"score" is the reported score, not an extra metric: rename it'),
        ({"": 1.0}, "metric names must be strings of 1 to 128 characters, got ''"),
        ({3: 1.0}, "metric names must be strings of 1 to 128 characters, got 3"),
        ({"loss": float("nan")}, "metric 'loss' must be a finite number, got nan"),
        ({"loss": "low"}, "metric 'loss' must be a finite number, got 'low'"),
        ({"loss": torch.zeros(2)}, "metric 'loss' must be one number, got Tensor holding 2"),
    ],
)
def test_a_bad_metric_stops_the_run_naming_it(metrics: object, message: str) -> None:
    def train(member: pop.Member) -> None:
        member.report(1, 0.5, metrics=metrics)  # type: ignore[arg-type]

    with pytest.raises(pop.ReportError, match=message) as refused:
        pop.run(train, SPACE, storage="memory", **SETTINGS)
    assert "\n" not in str(refused.value)
