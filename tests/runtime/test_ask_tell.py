"""The black-box primitive: ask for a trial, train it elsewhere, tell its result."""

from __future__ import annotations

from pathlib import Path

import pytest

import populace as pop
from populace.checkpoints import LocalCheckpointStore
from populace.storage import SQLStorage

from .workloads import SPACE


def _population(tmp_path: Path, size: int = 4) -> pop.Population:
    controller = pop.Controller(SPACE, budget=20, interval=5, seed=7)
    return pop.Population.create(
        SQLStorage(f"sqlite:///{tmp_path / 'bb.db'}"),
        "bb",
        controller,
        size,
        LocalCheckpointStore(tmp_path / "ckpt"),
    )


def _trainer(params: dict, state: dict | None, steps: int) -> tuple[float, dict]:
    x = 0.0 if state is None else state["x"]
    for _ in range(steps):
        x += params["lr"] * (1.0 - params["decay"])
    return -abs(1.0 - x), {"x": x}


def test_one_trial_per_interval_trains_the_whole_population(tmp_path: Path) -> None:
    population = _population(tmp_path)
    trials = 0
    while (trial := population.ask(owner="worker-1")) is not None:
        assert trial.steps == 5 and trial.start_step % 5 == 0
        state = trial.checkpoint.load() if trial.checkpoint else None
        score, new_state = _trainer(dict(trial.params), state, trial.steps)
        decision = population.tell(
            trial, trial.start_step + trial.steps, score, checkpoint=new_state
        )
        assert decision.kind in ("continue", "exploit", "explore", "stop")
        population.release(trial.member, "worker-1")
        trials += 1
    assert population.done
    assert all(m.state == "finished" and m.step == 20 for m in population.members())
    assert trials >= 16  # 4 members x 4 intervals, plus the intervals exploits re-run
    assert any(d.decision.kind == "exploit" for d in population.decisions())


def test_a_leased_member_is_not_handed_out_twice(tmp_path: Path) -> None:
    population = _population(tmp_path, size=2)
    first = population.ask(owner="a")
    second = pop.load(f"sqlite:///{tmp_path / 'bb.db'}", "bb").ask(owner="b")
    assert first is not None and second is not None and first.member != second.member
    assert pop.load(f"sqlite:///{tmp_path / 'bb.db'}", "bb").ask(owner="c") is None


def test_tell_for_a_trial_this_handle_did_not_ask_is_refused(tmp_path: Path) -> None:
    population = _population(tmp_path)
    trial = population.ask(owner="a")
    assert trial is not None
    other = pop.load(f"sqlite:///{tmp_path / 'bb.db'}", "bb")
    with pytest.raises(pop.StorageError, match="not active"):
        other.tell(trial, 5, 0.5)
