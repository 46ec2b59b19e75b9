"""FIRE PBT end to end: real runs on SQLite with the serial, processes and Ray executors, a
standalone worker, a kill and a resume."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _subprocess import run as run_command
from _subprocess import started

import populace as pop
from populace.analysis.matplotlib import plot_lineage, plot_schedule

SPACE = pop.SearchSpace(lr=pop.Uniform(0.0, 0.2))
FIRE = pop.FirePBT(evaluators=2)

TRAIN = textwrap.dedent(
    """
    import json, os, time
    import populace as pop

    def train(member):
        if member.evaluation is not None and os.environ.get("SEEN"):
            with open(os.environ["SEEN"], "a") as f:
                f.write(json.dumps([member.id, member.evaluation.parent, member.evaluation.child,
                                    dict(member.params)]) + "\\n")
        x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
        for step in range(member.step + 1, member.budget + 1):
            time.sleep(float(os.environ.get("STEP_SECONDS", "0")))
            x += member.params["lr"] * (1.0 - x)
            if step % 2 == 0 or step == member.budget:
                member.report(step, x, checkpoint={"x": x})
    """
)


def climb(member: pop.Member) -> None:
    """x climbs toward 1 at rate lr; reported every 2 steps, with a checkpoint."""
    x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"] * (1.0 - x)
        if step % 2 == 0 or step == member.budget:
            member.report(step, x, checkpoint={"x": x})


def fire_run(storage: str, name: str = "fire", **options: object) -> pop.Population:
    settings: dict = dict(population=8, budget=60, interval=6, progress=False, algorithm=FIRE)
    settings.update(options)
    return pop.run(climb, SPACE, storage=storage, name=name, **settings)


def test_a_fire_run_evaluates_parents_and_reports_its_roles(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    result = fire_run(storage)
    members = result.members()
    assert len(members) == 10
    assert [m.subpopulation for m in members] == [1, 1, 1, 1, 2, 2, 2, 2, None, None]
    assert [m.evaluator for m in members] == [False] * 8 + [True] * 2
    assert all(m.state == "finished" for m in members)
    assert result.best is not None and result.best.subpopulation == 1
    kinds = Counter(d.decision.kind for d in result.decisions())
    assert kinds["evaluate"] >= 4
    for d in result.decisions():
        if d.decision.kind == "evaluate":
            assert d.member in (8, 9) and 4 <= d.decision.parent <= 7 and d.decision.child < 4
    evaluations = [s for s in result.lineage() if s.child_member is not None]
    assert evaluations and all(s.member in (8, 9) for s in evaluations)
    rows = result.to_pandas("members")
    assert rows["evaluator"].tolist() == [False] * 8 + [True] * 2
    assert rows["subpopulation"].tolist()[:8] == [1, 1, 1, 1, 2, 2, 2, 2]
    # The plots draw evaluations as copies (an evaluator's idle start has no params to draw).
    lineage = plot_lineage(result, tmp_path / "lineage.png")
    labels = [t.get_text() for t in lineage.axes[0].get_yticklabels()]
    roles = [f"{i} P1" for i in range(4)] + [f"{i} P2" for i in range(4, 8)] + ["8 eval", "9 eval"]
    assert labels == roles
    assert list(result.plot_lineage().layout.yaxis.ticktext) == roles  # the interactive twin
    plot_schedule(result, tmp_path / "schedule.png", member=8)
    status = run_command(
        [sys.executable, "-m", "populace.cli", "status", "--storage", storage, "fire"], timeout=60
    )
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "role" in lines[1] and "evaluating" in lines[1]
    assert [line.split()[-2:] for line in lines[2:4]] == [["P1", "-"], ["P1", "-"]]
    assert lines[-1].split()[0] == "9" and "evaluator" in lines[-1]


def test_serial_fire_runs_are_reproducible(tmp_path: Path) -> None:
    def story(name: str) -> list[tuple]:
        result = fire_run(f"sqlite:///{tmp_path / (name + '.db')}", name=name)
        return [
            (d.member, d.generation, d.step, d.decision.kind, d.decision.reason)
            for d in result.decisions()
        ]

    first, second = story("a"), story("b")
    assert first == second
    assert any(kind == "evaluate" for *_, kind, _ in first)


def test_an_evaluation_trains_the_parent_weights_with_the_child_params(tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    (tmp_path / "train.py").write_text(TRAIN)
    sys.path.insert(0, str(tmp_path))
    os.environ["SEEN"] = str(seen)
    try:
        from train import train  # type: ignore[import-not-found]

        result = pop.run(
            train,
            SPACE,
            population=8,
            budget=60,
            interval=6,
            storage=f"sqlite:///{tmp_path / 'runs.db'}",
            progress=False,
            algorithm=FIRE,
        )
    finally:
        sys.path.remove(str(tmp_path))
        del os.environ["SEEN"]
        sys.modules.pop("train", None)
    import json

    trials = [json.loads(line) for line in seen.read_text().splitlines()]
    assert trials and {t[0] for t in trials} <= {8, 9}
    starts = {
        (d.member, d.decision.parent, d.decision.child, tuple(d.decision.params.items()))
        for d in result.decisions()
        if d.decision.kind == "evaluate"
    }
    assert {(e, p, c, tuple(params.items())) for e, p, c, params in trials} <= starts


def test_bad_fire_settings_are_refused_before_anything_is_stored(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    with pytest.raises(pop.ConfigurationError, match="cannot split a population of 6"):
        fire_run(f"sqlite:///{database}", population=6, algorithm=pop.FirePBT(subpopulations=4))
    with pytest.raises(pop.ConfigurationError, match="only 2 parent members"):
        fire_run(f"sqlite:///{database}", population=4, algorithm=pop.FirePBT(evaluators=3))
    with pytest.raises(pop.ConfigurationError, match=r"algorithm must be a pop\.FirePBT"):
        fire_run(f"sqlite:///{database}", algorithm="fire")
    assert not database.exists()


def test_a_resumed_fire_run_keeps_its_settings(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    fire_run(storage, budget=12)
    with pytest.raises(pop.ConfigurationError, match="algorithm"):
        fire_run(storage, budget=12, algorithm=pop.FirePBT(evaluators=3))
    again = fire_run(storage, budget=12)
    assert len(again.members()) == 10


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "ray"])
def test_fire_with_worker_processes_and_ray(tmp_path: Path, executor: str) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    script = tmp_path / "main.py"
    script.write_text(_driver(tmp_path, workers=2, executor=executor))
    done = run_command([sys.executable, str(script)], cwd=tmp_path, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    _check_finished(f"sqlite:///{tmp_path / 'runs.db'}")


@pytest.mark.slow
def test_fire_with_a_standalone_worker(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    script = tmp_path / "main.py"
    script.write_text(_driver(tmp_path, workers=0, executor=None))
    created = run_command([sys.executable, str(script)], cwd=tmp_path, timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    worker = [
        sys.executable, "-m", "populace.cli", "worker", "fire", "train.py:train",
        "--storage", storage,
    ]  # fmt: skip
    done = run_command(worker, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    _check_finished(storage)


@pytest.mark.slow
def test_a_killed_fire_run_resumes_its_evaluations(tmp_path: Path) -> None:
    """SIGKILL mid-run: the stored evaluations point at stored checkpoints, and the resumed run
    continues them (each evaluator decides next inside the evaluation it stood in)."""
    (tmp_path / "train.py").write_text(TRAIN)
    script = tmp_path / "main.py"
    script.write_text(_driver(tmp_path, workers=2, executor="processes"))
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    env = {**os.environ, "STEP_SECONDS": "0.01"}
    with started([sys.executable, str(script)], cwd=tmp_path, env=env) as driver:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            if _evaluations_started(storage) >= 4:
                break
            time.sleep(0.1)
        assert driver.poll() is None, "the run ended before it could be killed"
        os.killpg(driver.pid, signal.SIGKILL)
    population = pop.load(storage, "fire")
    stood = {}
    for row in population.storage.members(population.id):
        if row.id >= 8 and row.child_member is not None:
            assert row.checkpoint is not None and population.checkpoints.exists(row.checkpoint)
            stood[row.id] = row.generation
    killed_at = max(d.id for d in population.decisions())
    population.storage.close()
    assert stood, "no evaluation was running when the run was killed"

    done = run_command([sys.executable, str(script)], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = pop.load(storage, "fire")
    for evaluator, generation in stood.items():
        after = [d for d in resumed.decisions() if d.member == evaluator and d.id > killed_at]
        assert after and after[0].generation == generation
    resumed.storage.close()
    _check_finished(storage)


def _driver(folder: Path, workers: int, executor: str | None) -> str:
    return textwrap.dedent(
        f"""
        import populace as pop
        from train import train

        if __name__ == "__main__":
            pop.run(train, pop.SearchSpace(lr=pop.Uniform(0.0, 0.2)), population=8, budget=60,
                    interval=6, storage="sqlite:///{folder / "runs.db"}", name="fire",
                    workers={workers}, executor={executor!r}, progress=False,
                    algorithm=pop.FirePBT(evaluators=2))
        """
    )


def _evaluations_started(storage: str) -> int:
    try:
        population = pop.load(storage, "fire")
    except pop.PopulaceError:
        return 0
    try:
        return sum(d.decision.kind == "evaluate" for d in population.decisions())
    finally:
        population.storage.close()


def _check_finished(storage: str) -> None:
    population = pop.load(storage, "fire")
    try:
        members = population.members()
        assert [m.state for m in members] == ["finished"] * 10
        assert sum(d.decision.kind == "evaluate" for d in population.decisions()) >= 2
        scores = [m.score for m in members[:8]]
        assert all(s is not None and np.isfinite(s) for s in scores)
    finally:
        population.storage.close()


def test_an_evaluator_stopped_before_the_budget_unwinds_train(tmp_path: Path) -> None:
    """When every population member is done, an evaluator in training stops at its next ready
    point, before the budget: ``report`` must unwind ``train`` (its loop would report on)."""
    from populace.checkpoints import LocalCheckpointStore
    from populace.runtime._member import Finished
    from populace.storage import SQLStorage

    fire = pop.FirePBT(evaluators=1).bind(4)
    controller = pop.Controller(SPACE, budget=8, interval=2, algorithm=fire)
    population = pop.Population.create(
        SQLStorage(f"sqlite:///{tmp_path / 'runs.db'}"),
        "fire",
        controller,
        4,
        LocalCheckpointStore(tmp_path / "ckpt"),
    )

    def drive(until: int) -> None:
        """Train the population's members (not the evaluator) to step ``until`` by ask/tell."""
        while (trial := population.ask(owner="members")) is not None:
            assert trial.member < 4, "the evaluator is leased by its own owner"
            step = trial.start_step + trial.steps
            population.tell(trial, step, 0.1 * step + 0.01 * trial.member, checkpoint={"s": step})
            population.release(trial.member, "members")
            if min(m.step for m in population.members()[:4]) >= until:
                return

    drive(until=2)
    evaluation = population.ask(owner="evaluator")
    assert evaluation is not None and evaluation.member == 4 and evaluation.evaluation is not None
    drive(until=8)
    assert all(m.state == "finished" for m in population.members()[:4])
    member = population._session.member(evaluation)
    step = evaluation.start_step + 1
    member.report(step, 0.5)
    with pytest.raises(Finished, match="every population member is done"):
        member.report(step + 1, 0.6, checkpoint={"s": step + 1})
    assert member.finished and population.members()[4].state == "finished"
