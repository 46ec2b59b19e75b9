"""The W&B tracker in offline mode, read back from the offline run files.

Run with ``.venv/bin/python -m pytest tests/trackers/test_wandb.py -q``.
"""

from __future__ import annotations

from typing import Any

import pytest

import populace as pop
from populace.errors import ConfigurationError
from populace.trackers import WandB
from tests.trackers._population import run
from tests.trackers._wandb_log import OfflineRun, read_runs

pytest.importorskip("wandb", reason="the W&B tracker needs 'populace[wandb]'")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[pop.Population, WandB, Any]:
    folder = tmp_path_factory.mktemp("wandb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_DIR", str(folder))
        patch.setenv("WANDB_SILENT", "true")
        patch.setenv("WANDB_MODE", "offline")
        tracker = WandB("populace-tests", mode="offline", dir=folder, tags=["test"])
        population = run(folder, [tracker])
    return population, tracker, read_runs(folder)


def test_each_generation_of_each_member_is_a_run_in_the_population_group(
    trained: tuple[pop.Population, WandB, dict[str, OfflineRun]],
) -> None:
    population, tracker, runs = trained
    expected = {tracker.run_id("tracked", s.member, s.generation) for s in population.lineage()}
    assert set(runs) == expected
    assert {r.group for r in runs.values()} == {"tracked"}


def test_every_reported_step_arrived_with_its_metrics_and_params(
    trained: tuple[pop.Population, WandB, dict[str, OfflineRun]],
) -> None:
    population, tracker, runs = trained
    params = {(s.member, s.generation): s.params for s in population.lineage()}
    logged = {
        (key, row["_step"]): row
        for key, r in ((k, runs[tracker.run_id("tracked", *k)]) for k in params)
        for row in r.history
    }
    stored = population.results()
    assert len(logged) == len(stored)
    for result in stored:
        row = logged[((result.member, result.generation), result.step)]
        assert row["score"] == result.score
        assert row["metrics/loss"] == result.metrics["loss"]
        assert row["params/lr"] == params[(result.member, result.generation)]["lr"]


def test_an_exploit_forks_the_parent_run_at_the_exploit_step_and_says_why(
    trained: tuple[pop.Population, WandB, dict[str, OfflineRun]],
) -> None:
    population, tracker, runs = trained
    later = [s for s in population.lineage() if s.generation > 0]
    assert later
    for s in later:
        forked = runs[tracker.run_id("tracked", s.member, s.generation)]
        parent = tracker.run_id("tracked", s.parent_member, s.parent_generation)  # type: ignore[arg-type]
        assert forked.fork == (parent, s.parent_step)
        lineage = forked.config["populace"]
        assert (lineage["parent_member"], lineage["parent_step"]) == (
            s.parent_member,
            s.parent_step,
        )
        assert "copies member" in lineage["lineage"]
        assert forked.config["lr"] == s.params["lr"]
    first = runs[tracker.run_id("tracked", 0, 0)]
    assert first.fork is None and first.config["populace"]["parent_member"] is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"project": ""}, "project must be a non-empty string, got ''"),
        ({"project": "p", "mode": "online-ish"}, "mode must be one of"),
        ({"project": "p", "tags": "a"}, "tags must be a sequence of strings, got 'a'"),
        ({"project": "p", "dir": 3}, "dir must be a folder path, got 3"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WandB(**arguments)
