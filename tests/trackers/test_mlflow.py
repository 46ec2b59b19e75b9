"""The MLflow tracker, offline in a file store, read back with ``MlflowClient``.

Run with ``.venv/bin/python -m pytest tests/trackers/test_mlflow.py -q``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import populace as pop
from populace.errors import ConfigurationError
from populace.trackers import MLflow
from tests.trackers._population import run

mlflow = pytest.importorskip("mlflow", reason="the MLflow tracker needs 'populace[mlflow]'")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[pop.Population, Any, str]:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = (folder / "mlruns").as_uri()
    with pytest.MonkeyPatch.context() as patch:
        # mlflow 3 keeps its file store only on request; the SQL store needs alembic
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        tracker = MLflow(uri, experiment="pbt")
        population = run(folder, [tracker])
        client = mlflow.MlflowClient(uri)
    assert tracker.parent_run_id is not None
    return population, client, tracker.parent_run_id


def member_runs(client: Any, parent: str) -> dict[int, Any]:
    experiment = client.get_experiment_by_name("pbt").experiment_id
    runs = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    return {int(r.data.tags["populace.member"]): r for r in runs}


def history(client: Any, run: Any, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))


def test_a_parent_run_holds_a_finished_nested_run_per_member(
    trained: tuple[pop.Population, Any, str],
) -> None:
    population, client, parent = trained
    assert client.get_run(parent).info.run_name == "tracked"
    runs = member_runs(client, parent)
    assert sorted(runs) == [0, 1, 2, 3]
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    for member, r in runs.items():
        first = next(s for s in population.lineage() if (s.member, s.generation) == (member, 0))
        assert r.data.params == {k: str(v) for k, v in first.params.items()}


def test_every_reported_step_is_a_metric_with_the_params_in_force(
    trained: tuple[pop.Population, Any, str],
) -> None:
    population, client, parent = trained
    params = {(s.member, s.generation): s.params for s in population.lineage()}
    for member, r in member_runs(client, parent).items():
        own = [x for x in population.results() if x.member == member]
        assert history(client, r, "score") == sorted((x.step, x.score) for x in own)
        loss = sorted((x.step, x.metrics["loss"]) for x in own)
        assert history(client, r, "metrics/loss") == loss
        lr = sorted((x.step, params[(member, x.generation)]["lr"]) for x in own)
        assert history(client, r, "params/lr") == lr


def test_each_exploit_is_tagged_with_its_parent_step_and_reason(
    trained: tuple[pop.Population, Any, str],
) -> None:
    population, client, parent = trained
    runs = member_runs(client, parent)
    for s in population.lineage():
        tags = runs[s.member].data.tags
        if s.generation == 0:
            continue
        assert (
            f"member {s.parent_member} generation {s.parent_generation}"
            in (tags[f"populace.lineage.{s.generation}"])
        )
        latest = max(
            g for m, g in ((x.member, x.generation) for x in population.lineage()) if m == s.member
        )
        if s.generation == latest:
            assert tags["populace.parent_member"] == str(s.parent_member)
            assert tags["populace.parent_step"] == str(s.parent_step)
            assert json.loads(tags["populace.params"]) == dict(s.params)
    exploited = [d for d in population.decisions() if d.decision.kind == "exploit"]
    reason = exploited[0].decision.reason
    assert reason in runs[exploited[0].member].data.tags["populace.lineage.1"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tracking_uri": ""}, "tracking_uri must be a non-empty string, got ''"),
        ({"experiment": 3}, "experiment must be a non-empty string, got 3"),
        ({"run_name": ["a"]}, r"run_name must be a non-empty string, got \['a'\]"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        MLflow(**arguments)
