"""Choosing an executor: by name or instance in ``pop.run``, by name on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _subprocess import run

import populace as pop
from populace.executors import ProcessesExecutor, RayExecutor, RestartBudget, SerialExecutor
from populace.executors._choice import make_executor

from .workloads import SPACE, climb

ROOT = Path(__file__).parents[2]
SETTINGS = dict(population=4, budget=10, interval=5, progress=False)


def test_an_unknown_executor_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    with pytest.raises(pop.ConfigurationError, match=r"'serial', 'processes', 'ray'.*'threads'"):
        pop.run(climb, SPACE, storage=f"sqlite:///{database}", executor="threads", **SETTINGS)
    with pytest.raises(pop.ConfigurationError, match="serial executor runs one worker"):
        pop.run(
            climb, SPACE, storage=f"sqlite:///{database}", executor="serial", workers=2, **SETTINGS
        )
    assert not database.exists()


def test_names_and_defaults_give_the_executors_they_say() -> None:
    assert isinstance(make_executor(None, 1, 2), SerialExecutor)
    assert isinstance(make_executor(None, 3, 2), ProcessesExecutor)
    assert isinstance(make_executor("processes", 1, 2), ProcessesExecutor)
    ray = make_executor("ray", 3, 1)
    assert isinstance(ray, RayExecutor)
    assert (ray.workers, ray.num_cpus, ray.num_gpus, ray.settings.retries) == (3, 1.0, 0.0, 1)


def test_an_instance_is_used_as_given() -> None:
    mine = RayExecutor(2, num_gpus=1)
    assert make_executor(mine, 1, 2) is mine
    assert (mine.num_gpus, mine.workers) == (1.0, 2)


def test_an_executor_instance_trains_the_population(tmp_path: Path) -> None:
    result = pop.run(
        climb,
        SPACE,
        storage=f"sqlite:///{tmp_path / 'runs.db'}",
        executor=SerialExecutor(),
        **SETTINGS,
    )
    assert [(m.state, m.step) for m in result.members()] == [("finished", 10)] * 4


def test_bad_executor_arguments_are_named() -> None:
    with pytest.raises(pop.ConfigurationError, match="num_gpus must be a number >= 0, got -1"):
        RayExecutor(2, num_gpus=-1)
    with pytest.raises(pop.ConfigurationError, match="workers must be an integer >= 1, got 0"):
        RayExecutor(0)


def populace(*args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "populace.cli", *args], cwd=ROOT, timeout=60)


def test_the_command_line_takes_an_executor_by_name(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    pop.run(climb, SPACE, storage=storage, **SETTINGS)
    target = "tests.runtime.workloads:climb"
    flags = ["--space", '{"lr": {"type": "Uniform", "low": 0, "high": 1}}', "--budget", "5"]
    flags += ["--interval", "5", "--storage", storage, "--name", "new"]
    for command in (["run", target, *flags], ["resume", "--storage", storage, "climb", target]):
        refused = populace(*command, "--executor", "threads")
        assert refused.returncode == 2
        assert "'threads' is not one of 'serial', 'processes', 'ray'" in refused.stderr
        # The choice reaches pop.run, which refuses a serial executor of two workers.
        forwarded = populace(*command, "--executor", "serial", "--workers", "2")
        assert forwarded.returncode != 0
        assert "the serial executor runs one worker, got workers=2" in forwarded.stderr


def test_workers_may_die_any_number_of_times_but_not_in_a_loop() -> None:
    now = [0.0]
    budget = RestartBudget(3, window=60.0, clock=lambda: now[0])
    for _ in range(10):  # one death every 30 s: a long run survives them all
        assert budget.spend()
        now[0] += 30.0
    assert budget.spend() and budget.spend()
    assert not budget.spend()  # the fourth within a minute: a crash loop
    assert "died 3 times within 60 s" in str(budget.exhausted("worker processes"))
    now[0] += 61.0
    assert budget.spend()
