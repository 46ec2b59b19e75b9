"""Feeding trackers from the storage: every row once, live during the run, a failing tracker
dropped without stopping training.

Run with ``.venv/bin/python -m pytest tests/trackers/test_feed.py -q``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

import populace as pop
from populace.errors import ConfigurationError, MissingDependencyError
from populace.storage import DecisionRecord, ResultRecord
from populace.trackers import BaseTracker, MLflow, TensorBoard, TrackedPopulation, WandB
from populace.trackers._feed import TrackerFeed
from tests.trackers._population import run


class Recorder(BaseTracker):
    """Keeps what it is told."""

    def __init__(self) -> None:
        self.results: list[ResultRecord] = []
        self.decisions: list[DecisionRecord] = []
        self.closed = 0
        self.first = threading.Event()

    def on_results(self, population: TrackedPopulation, results: Sequence[ResultRecord]) -> None:
        self.results += results
        self.first.set()

    def on_decisions(
        self, population: TrackedPopulation, decisions: Sequence[DecisionRecord]
    ) -> None:
        self.decisions += decisions

    def close(self) -> None:
        self.closed += 1


class Broken(BaseTracker):
    calls = 0

    def on_results(self, population: TrackedPopulation, results: Sequence[ResultRecord]) -> None:
        self.calls += 1
        raise RuntimeError("the tracking server is down")


def test_every_row_reaches_the_trackers_once_and_a_failing_tracker_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder, broken = Recorder(), Broken()
    with caplog.at_level(logging.WARNING, "populace"):
        population = run(tmp_path, [broken, recorder])
    assert all(m.step == 12 for m in population.members())  # training went on
    assert [r.id for r in recorder.results] == [r.id for r in population.results()]
    assert [d.id for d in recorder.decisions] == [d.id for d in population.decisions()]
    assert recorder.closed == 1
    assert broken.calls == 1
    warnings = [r for r in caplog.records if "tracker Broken failed" in r.getMessage()]
    assert len(warnings) == 1 and "training goes on" in warnings[0].getMessage()


def test_rows_reach_the_trackers_while_the_population_trains(tmp_path: Path) -> None:
    recorder = Recorder()

    def train(member: pop.Member) -> None:
        for step in range(member.step + 1, member.budget + 1):
            member.report(step, float(step), checkpoint={})
            if step == 1:  # stored at once (a ready point): wait until the feed has read it
                assert recorder.first.wait(timeout=30), "the feed read nothing while training"

    pop.run(
        train,
        pop.SearchSpace(lr=pop.Uniform(0.0, 1.0)),
        population=2,
        budget=2,
        interval=1,
        storage=f"sqlite:///{tmp_path / 'runs.db'}",
        progress=False,
        trackers=[recorder],
    )
    assert recorder.first.is_set()


def test_rows_read_again_in_the_trailing_window_are_not_delivered_twice(tmp_path: Path) -> None:
    population = run(tmp_path, [])
    recorder = Recorder()
    feed = TrackerFeed(population, [recorder])
    feed.poll()
    feed.poll()
    feed.poll(everything=True)
    assert [r.id for r in recorder.results] == [r.id for r in population.results()]
    assert len(feed.view.members()) == 4


@pytest.mark.parametrize("trackers", [Recorder(), [object()], "tb"])
def test_trackers_that_are_not_a_list_of_trackers_are_refused(trackers: object) -> None:
    with pytest.raises(ConfigurationError, match=r"trackers must be a list of populace\.trackers"):
        pop.run(
            lambda member: None,
            pop.SearchSpace(lr=pop.Uniform(0.0, 1.0)),
            budget=2,
            interval=1,
            storage="memory",
            trackers=trackers,  # type: ignore[arg-type]
        )


def test_importing_the_trackers_imports_no_tracker_library() -> None:
    code = (
        "import sys, populace.trackers; "
        "print([m for m in ('tensorboard', 'mlflow', 'wandb') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("tracker", "module", "arguments"),
    [(TensorBoard, "tensorboard", ("tb",)), (MLflow, "mlflow", ()), (WandB, "wandb", ("p",))],
)
def test_a_tracker_without_its_library_names_the_extra_to_install(
    tracker: type[BaseTracker],
    module: str,
    arguments: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=rf"pip install 'populace\[{module}\]'"):
        tracker(*arguments)  # type: ignore[call-arg]
