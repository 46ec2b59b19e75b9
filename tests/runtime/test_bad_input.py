"""Bad values are refused before anything trains, with one line naming the value; reports carry
numbers in the forms training code produces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import populace as pop

from .workloads import SPACE, climb

SETTINGS: dict[str, Any] = dict(population=2, budget=10, interval=5, progress=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": 20}, r"interval \(20\) is longer than budget \(10\)"),
        ({"name": ""}, "name must be a non-empty string, got ''"),
        ({"name": "  "}, "name must be a non-empty string"),
        ({"name": 3}, "name must be a non-empty string, got 3"),
        ({"keep_best": "3"}, "keep_best must be an integer >= 0, got '3'"),
        ({"keep_best": -1}, "keep_best must be an integer >= 0, got -1"),
        ({"retries": 1.5}, "retries must be an integer >= 0, got 1.5"),
        ({"checkpoints": 5}, "checkpoints must be a folder path or an fsspec URL, got 5"),
    ],
)
def test_a_bad_value_is_refused_before_anything_is_stored(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    trained: list[int] = []

    def train(member: pop.Member) -> None:
        trained.append(member.id)
        climb(member)

    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(pop.ConfigurationError, match=message) as refused:
        pop.run(train, SPACE, storage=storage, **{**SETTINGS, **change})
    assert "\n" not in str(refused.value)
    assert trained == []
    assert not (tmp_path / "runs.db").exists()  # refused before the storage was opened


def test_the_interval_may_equal_the_budget(tmp_path: Path) -> None:
    result = pop.run(climb, SPACE, storage="memory", **{**SETTINGS, "interval": 10})
    assert [m.step for m in result.members()] == [10, 10]


@pytest.mark.parametrize(
    "score",
    [np.array([0.5]), np.float32(0.5), np.array(0.5), torch.tensor([0.5]), torch.tensor(0.5)],
    ids=["array1", "float32", "array0d", "tensor1", "tensor0d"],
)
def test_a_score_of_one_number_in_an_array_or_tensor_is_accepted(score: object) -> None:
    def train(member: pop.Member) -> None:
        for step in range(member.step + 1, member.budget + 1):
            member.report(step, score, checkpoint={"step": step})

    result = pop.run(train, SPACE, storage="memory", **SETTINGS)
    assert [m.state for m in result.members()] == ["finished", "finished"]
    assert {r.score for r in result.results()} == {0.5}


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (np.array([0.5, 0.6]), "score must be one number, got ndarray holding 2 values"),
        (torch.zeros(3), "score must be one number, got Tensor holding 3 values"),
        ("0.5", "score must be a finite number, got '0.5'"),
    ],
)
def test_a_score_that_is_not_one_number_stops_the_run(score: object, message: str) -> None:
    def train(member: pop.Member) -> None:
        member.report(1, score)

    with pytest.raises(pop.ReportError, match=message):
        pop.run(train, SPACE, storage="memory", **SETTINGS)


def test_a_report_past_the_budget_is_refused(tmp_path: Path) -> None:
    def overshooting(member: pop.Member) -> None:
        step = member.step
        while step < member.budget:
            step += 3  # 3, 6, 9, 12: the last one overshoots the budget of 10
            member.report(step, float(step), checkpoint={"step": step})

    with pytest.raises(pop.ReportError, match="step 12 of member 0 is past its budget of 10"):
        pop.run(overshooting, SPACE, storage="memory", **{**SETTINGS, "interval": 3})
