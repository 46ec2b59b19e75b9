"""populace.lightning with real Lightning on a tiny model: exploits, restores that keep the
explored params (the Ray 36660 bug), resume after a crash, bad input, worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.trainer.states import TrainerStatus

import populace as pop
from populace.checkpoints import Checkpoint, LocalCheckpointStore
from populace.lightning import PopulaceCallback
from populace.lightning._state import load

from . import lightning_tasks as tasks
from ._runs import run_pbt

BUDGET = 6


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    tasks.RECORDS.clear()


def run(train: pop.TrainFn, folder: Path, name: str = "tiny", **options: Any) -> pop.Population:
    return run_pbt(train, tasks.SPACE, folder, name, **{"budget": BUDGET, **options})


def batches() -> list[dict[str, Any]]:
    return [r for r in tasks.RECORDS if "lr" in r]


def test_a_population_exploits_and_every_member_reaches_its_budget(tmp_path: Path) -> None:
    result = run(tasks.train, tmp_path)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 6)] * 4
    exploits = [d for d in result.decisions() if d.decision.kind == "exploit"]
    assert exploits
    # Each exploit unwound trainer.fit as itself, leaving an interrupted trainer behind, and
    # the next train call trained its member on with a new trainer.
    unwound = [r for r in tasks.RECORDS if "unwound" in r]
    assert len(unwound) >= len(exploits)
    assert {r["unwound"] for r in unwound} == {TrainerStatus.INTERRUPTED}
    for decision in exploits:
        later = [r for r in batches() if r["member"] == decision.member]
        assert later[-1]["global_step"] == 6 * tasks.BATCHES - 1


@pytest.mark.parametrize("scheduler", ["none", "step", "onecycle", "cosine"])
def test_the_explored_lr_is_the_one_in_use_after_an_exploit(tmp_path: Path, scheduler: str) -> None:
    # The Ray 36660 bug: the restored optimizer state brought the parent's lr back. Here the lr
    # read from the optimizer at every training batch is the member's own lr times the
    # scheduler's factor at that point, in every generation, whoever's weights it trains.
    run(tasks.make_train(scheduler), tmp_path)
    total = BUDGET * tasks.BATCHES
    restored = [r for r in batches() if r["parent"] is not None and r["parent"] != r["member"]]
    assert restored, "no member trained from a parent's checkpoint"
    for r in batches():
        factor = tasks.lr_factor(scheduler, r["epoch"], r["global_step"], total)
        assert r["lr"] == pytest.approx(r["param_lr"] * factor, rel=1e-9, abs=0), r
        assert r["hparams"]["lr"] == r["param_lr"]
    for r in restored:
        assert r["param_lr"] != pytest.approx(r["parent_lr"], rel=0.1)  # explored: x 0.8 or 1.2
    if scheduler == "none":
        assert all(r["lr"] == r["param_lr"] for r in restored)  # exactly, not approximately


def test_mapped_hparams_and_apply_get_the_members_params(tmp_path: Path) -> None:
    applied: list[tuple[float, float]] = []

    def apply(module: Any, params: Any) -> None:
        applied.append((module.hparams.seen_lr, params["lr"]))  # after the hparams are written

    run(tasks.make_train(hparams={"lr": "seen_lr"}, apply=apply), tmp_path)
    assert all(r["hparams"]["seen_lr"] == r["param_lr"] for r in batches())
    trials = [r for r in tasks.RECORDS if "unwound" in r]
    assert len(applied) == len(trials) + 4  # once per train call: every unwind, every finish
    assert all(seen == lr for seen, lr in applied)


def test_a_resumed_run_continues_the_lightning_state_where_it_stopped(tmp_path: Path) -> None:
    # One member, so that it trains through its ready points in one fit (nobody waits for its
    # worker): the crash at epoch 3 is the only restore, from its checkpoint at epoch 2.
    alone = {"population": 1, "exploit": pop.NoExploit(), "explore": pop.NoExplore()}
    crash = tasks.make_train("step", stop=lambda member, epoch: epoch == 3)
    with pytest.raises(SystemExit):
        run(crash, tmp_path, **alone)
    tasks.RECORDS.clear()
    resumed = run(tasks.make_train("step"), tmp_path, **alone)
    assert [m.step for m in resumed.members()] == [6]
    first = batches()[0]
    assert (first["epoch"], first["global_step"], first["parent"]) == (2, 2 * tasks.BATCHES, 0)
    straight = run(tasks.make_train("step"), tmp_path, name="straight", **alone)
    # Weights, momentum, the scheduler, the loops and the RNG (the order of the batches) came
    # back as they were: the run ends with the weights of the run that never stopped.
    assert weights(resumed) == weights(straight)


def weights(result: pop.Population) -> list[list[float]]:
    """The final weights of the population's only member."""
    (member,) = result.members()
    assert member.checkpoint is not None
    saved: Any = member.checkpoint.load()
    return [t.flatten().tolist() for t in saved["lightning"]["state_dict"].values()]


def test_a_monitored_metric_that_is_never_logged_stops_the_run_naming_it(tmp_path: Path) -> None:
    train = tasks.make_train(monitor="val_accuracy")
    with pytest.raises(pop.ConfigurationError) as error:
        run(train, tmp_path)
    message = str(error.value)
    assert "'val_accuracy', which was not logged by epoch 2" in message
    assert "'val_acc'" in message and "'closeness'" in message
    stored = pop.load(f"sqlite:///{tmp_path}/tiny.db", "tiny")
    assert stored.results() == []
    assert [m.step for m in stored.members()] == [0] * 4
    assert list(stored.checkpoints.refs()) == []


def test_step_units_report_after_each_validation_run(tmp_path: Path) -> None:
    result = run(tasks.make_train(unit="step"), tmp_path, budget=8, interval=4)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 8)] * 4
    assert sorted({r.step for r in result.results()}) == [2, 4, 6, 8]
    assert any(d.decision.kind == "exploit" for d in result.decisions())


def test_step_units_refuse_a_validation_schedule_that_misses_ready_points(
    tmp_path: Path,
) -> None:
    with pytest.raises(pop.ConfigurationError, match=r"the budget \(7\).*got val_check_interval=2"):
        run(tasks.make_train(unit="step"), tmp_path, budget=7, interval=4)


def test_callback_arguments_are_checked_against_the_member() -> None:
    member: Any = type("FakeMember", (), {"id": 0, "params": {"lr": 0.1}, "step": 0})()
    with pytest.raises(pop.ConfigurationError, match="unit must be 'epoch' or 'step'"):
        PopulaceCallback(member, "val_acc", unit="batch")
    with pytest.raises(pop.ConfigurationError, match="params maps 'learning_rate'"):
        PopulaceCallback(member, "val_acc", params={"learning_rate": "lr"})
    with pytest.raises(pop.ConfigurationError, match="hparams maps 'dropout'"):
        PopulaceCallback(member, "val_acc", hparams={"dropout": "p"})


def test_a_checkpoint_saved_by_other_training_code_is_refused(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    ref = store.put({"model": {"w": torch.zeros(2)}, "step": 4})
    with pytest.raises(pop.ConfigurationError, match="not saved by PopulaceCallback"):
        load(Checkpoint(ref, member=1, step=4, store=store))


@pytest.mark.slow
def test_worker_processes_train_lightning_members(tmp_path: Path) -> None:
    result = run(tasks.train, tmp_path, workers=2, budget=4)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 4)] * 4
    assert any(d.decision.kind == "exploit" for d in result.decisions())
