"""The Ray executor on a real local Ray instance: a run, a killed actor, errors, Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from _subprocess import run, started

import populace as pop
from populace.checkpoints import FsspecCheckpointStore
from populace.executors import RayExecutor
from populace.executors import _ray as ray_module
from populace.storage import SQLStorage

from .workloads import (
    SPACE,
    climb,
    climb_on_two_workers,
    fragile,
    only_member_0_failed,
    slow_climb,
)

ROOT = Path(__file__).parents[2]
SETTINGS = dict(population=6, budget=40, interval=5, seed=5, progress=False)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance of two CPUs for the whole module: it takes seconds to start."""
    # pytest imports this folder's modules as ``runtime.*`` from tests/; so must the actors.
    path = os.pathsep.join(p for p in (str(ROOT / "tests"), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.WARNING,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    yield
    ray.shutdown()


def crawl(member: pop.Member) -> None:
    """``climb`` taking 50 ms per step."""
    climb(member, seconds_per_step=0.05)


def stumble(member: pop.Member) -> None:
    """``climb``, except that member 2 reports step 12 twice: a ReportError, populace's own."""
    step = 0
    while step < member.budget:
        step += 1
        time.sleep(0.02)
        member.report(step, float(step))
        if member.id == 2 and step == 12:
            member.report(step, float(step))


def exits(member: pop.Member) -> None:
    """``climb``, except that member 2's train calls ``sys.exit(3)`` at step 12."""
    step = member.step
    while step < member.budget:
        step += 1
        time.sleep(0.02)
        if member.id == 2 and step == 12:
            sys.exit(3)
        member.report(step, float(step), checkpoint={})


def _assert_complete_and_unique(result: pop.Population) -> None:
    assert [(m.state, m.step) for m in result.members()] == [("finished", 40)] * 6
    keys = [(r.member, r.generation, r.step) for r in result.results()]
    assert len(keys) == len(set(keys)), "a step was recorded twice"
    decisions = [(d.member, d.generation, d.step) for d in result.decisions()]
    assert len(decisions) == len(set(decisions)), "a decision was recorded twice"


def _actors_gone() -> bool:
    """Whether every actor is gone (a killed one may take a moment to go)."""
    deadline = time.monotonic() + 10
    while ray.util.list_named_actors() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not ray.util.list_named_actors()


def _no_leases(result: pop.Population) -> bool:
    return all(m.lease_owner is None for m in result.storage.members(result.id))


@pytest.mark.slow
def test_ray_trains_the_population_as_the_processes_executor_does(
    local_ray: None, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    # Both actors train (and both local workers), however long the second one takes to start.
    on_ray = pop.run(
        climb_on_two_workers(tmp_path / "ray"),
        SPACE,
        storage=storage,
        name="ray",
        workers=2,
        executor="ray",
        **SETTINGS,
    )
    train = climb_on_two_workers(tmp_path / "local")
    local = pop.run(train, SPACE, storage=storage, name="local", workers=2, **SETTINGS)
    for result in (on_ray, local):
        _assert_complete_and_unique(result)
        assert {s.member for s in result.lineage()} == set(range(6))
        assert result.best is not None and result.best.step == 40
        assert _no_leases(result)
    owners = {r.owner for r in on_ray.results()}
    assert len(owners) == 2 and all(o.startswith("ray:") for o in owners)
    assert {d.decision.kind for d in on_ray.decisions()} >= {"exploit", "stop"}
    assert _actors_gone(), "an actor outlived the run"


@pytest.mark.slow
def test_a_killed_actor_is_replaced_and_its_members_are_freed_at_once(
    local_ray: None, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    killed: list[str] = []

    running = threading.Event()

    def kill_one_actor_mid_run() -> None:
        population = pop.load(storage, "kill")
        while running.is_set() and not killed:
            time.sleep(0.2)
            results = population.results()
            if len(results) >= 40:
                killed.append(results[-1].owner)  # it holds a member in the middle of an interval
                ray.kill(ray.get_actor(killed[0]))

    lease_seconds = 120.0
    executor = RayExecutor(2, lease_seconds=lease_seconds)
    pop.run(slow_climb, SPACE, storage=storage, name="kill", workers=0, **SETTINGS)
    killer = threading.Thread(target=kill_one_actor_mid_run, daemon=True)
    running.set()
    killer.start()
    began = time.monotonic()
    try:
        result = pop.run(
            slow_climb, SPACE, storage=storage, name="kill", executor=executor, **SETTINGS
        )
    finally:
        running.clear()
        killer.join()
    # Had the driver not released the dead actor's leases, its member would wait for them.
    assert time.monotonic() - began < lease_seconds / 2
    assert killed
    _assert_complete_and_unique(result)
    owners = {r.owner for r in result.results()}
    assert killed[0] in owners and len(owners) >= 3  # the replacement trained under a new owner
    assert _no_leases(result)


@pytest.mark.slow
def test_asking_for_resources_the_cluster_lacks_fails_at_once(
    local_ray: None, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    began = time.monotonic()
    with pytest.raises(pop.ConfigurationError, match=r"1 GPU.*0 GPU"):
        pop.run(climb, SPACE, storage=storage, executor=RayExecutor(2, num_gpus=1), **SETTINGS)
    with pytest.raises(pop.ConfigurationError, match=r"4 CPU.*2 CPU"):
        pop.run(climb, SPACE, storage=storage, executor=RayExecutor(1, num_cpus=4), **SETTINGS)
    assert time.monotonic() - began < 10


@pytest.mark.slow
def test_an_actor_waiting_for_resources_is_reported(
    local_ray: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # More than an actor's start takes, even on a loaded machine (5 s was not, with the load
    # average at 5 on two cores).
    monkeypatch.setattr(ray_module, "PENDING_WARNING_SECONDS", 15.0)
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    # Three one-CPU workers on two CPUs: the third waits until the others are done, for 20 s.
    settings = {**SETTINGS, "population": 4, "budget": 200}
    result = pop.run(crawl, SPACE, storage=storage, workers=3, executor="ray", **settings)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 200)] * 4
    warned = {r.args[0] for r in caplog.records if "is not scheduled after 15 s" in r.getMessage()}
    trained = {r.owner for r in result.results()}
    assert len(warned) == 1 and len(trained) == 2
    assert not warned & trained  # the two actors at work were not taken for waiting ones


@pytest.mark.slow
def test_an_error_of_populace_in_an_actor_stops_the_run_and_frees_every_member(
    local_ray: None, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(pop.ReportError, match="step 12 of member 2 does not come after"):
        pop.run(
            stumble, SPACE, storage=storage, name="stumble", workers=2, executor="ray", **SETTINGS
        )
    stopped = pop.load(storage, "stumble")
    assert not stopped.done
    assert _no_leases(stopped)  # the other actor was killed and its member released
    assert _actors_gone()


@pytest.mark.slow
def test_sys_exit_in_an_actors_train_exits_the_driver_the_same_way(
    local_ray: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    # Were it taken for the actor's death, the actor would be restarted until this gives up.
    executor = RayExecutor(2, restarts=2)
    with pytest.raises(SystemExit) as exited:
        pop.run(exits, SPACE, storage=storage, name="exits", executor=executor, **SETTINGS)
    assert exited.value.code == 3
    assert "train() called sys.exit(3); stopping the run" in caplog.text
    assert "starting another" not in caplog.text
    stopped = pop.load(storage, "exits")
    assert not stopped.done
    assert _no_leases(stopped)
    assert _actors_gone()


@pytest.mark.slow
def test_a_failing_member_fails_alone_in_ray_actors(local_ray: None, tmp_path: Path) -> None:
    result = pop.run(
        fragile, SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}", name="at-4", workers=2,
        executor="ray", population=2, budget=10, interval=5, progress=False, retries=1,
    )  # fmt: skip
    only_member_0_failed(result)


def test_ray_workers_need_a_storage_and_checkpoints_they_can_open(tmp_path: Path) -> None:
    with pytest.raises(pop.ConfigurationError, match="not an in-memory storage"):
        pop.run(climb, SPACE, storage="memory", workers=2, executor="ray", **SETTINGS)
    population = pop.Population.create(
        SQLStorage(f"sqlite:///{tmp_path / 'runs.db'}"),
        "climb",
        pop.Controller(SPACE, budget=40, interval=5),
        2,
        FsspecCheckpointStore("memory://ray-tests/checkpoints"),
    )
    with pytest.raises(pop.ConfigurationError, match="cannot see checkpoint store"):
        RayExecutor(2).run(population, climb)


@pytest.mark.slow
def test_ctrl_c_kills_the_actors_and_the_run_resumes(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import populace as pop
        from tests.runtime.workloads import SPACE, slow_climb
        pop.run(slow_climb, SPACE, storage="sqlite:///{db}", name="slow", workers=2,
                executor="ray", **{SETTINGS!r})
    """)
    pipe = subprocess.PIPE
    with started([sys.executable, "-c", script], cwd=ROOT, stdout=pipe, stderr=pipe) as driver:
        deadline = time.monotonic() + 120
        while not (db.exists() and _result_count(f"sqlite:///{db}") >= 40):
            assert time.monotonic() < deadline and driver.poll() is None, driver.communicate()
            time.sleep(0.2)
        os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        _out, err = driver.communicate(timeout=60)
    assert driver.returncode != 0
    assert "call pop.run again with the same name and storage to resume" in err
    stopped = pop.load(f"sqlite:///{db}", "slow")
    assert not stopped.done
    assert _no_leases(stopped)
    resumed = pop.run(slow_climb, SPACE, storage=f"sqlite:///{db}", name="slow", **SETTINGS)
    _assert_complete_and_unique(resumed)


def _result_count(storage: str) -> int:
    try:
        return len(pop.load(storage, "slow").results())
    except pop.StorageError:
        return 0


@pytest.mark.slow
def test_the_command_line_runs_workers_on_ray(tmp_path: Path) -> None:
    # The actors import the training module from the working directory, as the driver does.
    # One trial fails, whose warning --quiet must keep from the actors' output too.
    (tmp_path / "ray_toy.py").write_text(
        textwrap.dedent("""
            import pathlib

            def train(member):
                x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
                for step in range(member.step + 1, member.budget + 1):
                    if not pathlib.Path("failed").exists():
                        pathlib.Path("failed").touch()
                        raise RuntimeError("flaky")
                    x += member.params["lr"] * (1.0 - x)
                    member.report(step, -abs(1.0 - x), checkpoint={"x": x})
        """)
    )
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    space = '{"lr": {"type": "LogUniform", "low": 1e-3, "high": 0.5}}'
    flags = ["--space", space, "--population", "4", "--budget", "20", "--interval", "5"]
    flags += ["--storage", storage, "--workers", "2", "--executor", "ray", "--quiet"]
    command = [sys.executable, "-m", "populace.cli", "run", "ray_toy:train", *flags]
    done = run(command, cwd=tmp_path, timeout=120)
    out, err = done.stdout, done.stderr
    assert done.returncode == 0, err
    assert "best member: " in out
    assert (tmp_path / "failed").exists()
    assert "train() raised" not in err and "flaky" not in err
    population = pop.load(storage, "train")
    assert all(r.owner.startswith("ray:") for r in population.results())
    # Both actors ran a worker (one may have found nothing left to train on a busy machine).
    workers = population.storage.workers(population.id)
    assert len(workers) == 2 and all(w.owner.startswith("ray:") for w in workers)


@pytest.mark.slow
def test_ray_actors_train_a_vectorized_shard_each(local_ray: None, tmp_path: Path) -> None:
    from .test_vectorized import SPACE as TOY_SPACE
    from .test_vectorized_shards import Climb

    result = pop.run(
        Climb(tmp_path / "meet"), TOY_SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}",
        name="shards", executor=RayExecutor(2, vectorized=True), population=8, budget=20,
        interval=5, seed=3, progress=False,
    )  # fmt: skip
    assert [m.state for m in result.members()] == ["finished"] * 8
    assert sorted((r.member, r.step) for r in result.results()) == [
        (m, s) for m in range(8) for s in range(1, 21)
    ]
    owners = {r.owner for r in result.results()}
    assert len(owners) == 2 and all(o.startswith("ray:") for o in owners)
    by_owner_and_step: dict[tuple[str, int], int] = {}
    for r in result.results():
        by_owner_and_step[r.owner, r.step] = by_owner_and_step.get((r.owner, r.step), 0) + 1
    assert max(by_owner_and_step.values()) <= 4  # shards of ceil(8 / 2)
    assert "exploit" in {d.decision.kind for d in result.decisions()}
    assert _no_leases(result)
    assert _actors_gone(), "an actor outlived the run"
