"""populace.transformers with a real Trainer on a tiny BERT built from a config: exploits,
restores that keep the explored params (the Ray 36660 bug), resume after a crash, bad input,
the best model loaded with from_pretrained, worker processes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch

import populace as pop
from populace.checkpoints import Checkpoint, LocalCheckpointStore
from populace.transformers import PopulaceCallback, train_with_trainer

from . import transformers_tasks as tasks
from ._runs import run_pbt

BUDGET = 8


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    tasks.RECORDS.clear()


def run(train: pop.TrainFn, folder: Path, name: str = "tiny", **options: Any) -> pop.Population:
    return run_pbt(train, tasks.SPACE, folder, name, **{"budget": BUDGET, **options})


def test_a_population_exploits_and_every_member_reaches_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run(tasks.train, tmp_path)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 8)] * 4
    assert any(d.decision.kind == "exploit" for d in result.decisions())
    # Every evaluation was reported (eval_steps=1), a checkpoint only at the ready points.
    for member in result.members():
        results = [r for r in result.results() if r.member == member.id]
        assert sorted({r.step for r in results}) == list(range(1, 9))
        assert {r.step for r in results if r.checkpoint is not None} == {2, 4, 6, 8}
    # Each train call's temporary folder went with it, exploits and pauses included.
    assert not list(tmp_path.glob("populace-member-*"))


def test_the_callers_training_arguments_are_left_as_they_were(tmp_path: Path) -> None:
    seen = []

    def train(member: pop.Member) -> None:
        trainer = tasks.build(member)
        args = trainer.args
        train_with_trainer(member, trainer, metric="eval_closeness")
        seen.append((args.max_steps, args.save_strategy, args.output_dir))

    run(train, tmp_path, population=1, budget=2)
    assert seen == [(-1, "steps", tempfile.gettempdir())]


@pytest.mark.parametrize(("scheduler", "warmup"), [("linear", 0), ("cosine", 3), ("constant", 0)])
def test_the_explored_params_are_the_ones_in_use_after_an_exploit(
    tmp_path: Path, scheduler: str, warmup: int
) -> None:
    # The Ray 36660 bug: the restored optimizer state brought the parent's lr back. Here the lr
    # read from the optimizer at every step is the member's own lr times the schedule's factor
    # at that step, in every generation, whoever's weights it trains; the weight decay is the
    # member's in the decay group and 0 in the other, as the Trainer configures them.
    train = tasks.make_train(lr_scheduler_type=scheduler, warmup_steps=warmup)
    result = run(train, tmp_path)
    exploits = [d for d in result.decisions() if d.decision.kind == "exploit"]
    assert exploits
    params = {(r["member"], r["generation"]): r["params"] for r in tasks.RECORDS}
    for d in exploits:
        parent = params[(d.decision.parent, d.decision.parent_generation)]
        child = d.decision.params
        assert child["lr"] != pytest.approx(parent["lr"], rel=0.1)  # explored: x 0.8 or x 1.2
    restored = [r for r in tasks.RECORDS if r["parent"] not in (None, r["member"])]
    assert restored, "no member trained from a parent's checkpoint"
    assert {r["global_step"] for r in restored} & {2, 4, 6}  # it went on from the parent's step
    for r in tasks.RECORDS:
        factor = tasks.lr_factor(scheduler, r["global_step"], BUDGET, warmup)
        assert r["lr"] == pytest.approx(r["params"]["lr"] * factor, rel=1e-9, abs=0), r
        assert r["weight_decay"] == [r["params"]["weight_decay"], 0.0], r


def test_a_resumed_member_goes_on_from_its_step_with_its_state(tmp_path: Path) -> None:
    # One member, so that it trains through its ready points in one call (nobody waits for its
    # worker): the crash after step 3 is its only restore, from its checkpoint at step 2.
    alone = {"population": 1, "exploit": pop.NoExploit(), "explore": pop.NoExplore()}
    crash = tasks.make_train(stop=lambda member, step: step == 3)
    with pytest.raises(SystemExit):
        run(crash, tmp_path, **alone)
    tasks.RECORDS.clear()
    resumed = run(tasks.train, tmp_path, **alone)
    assert [m.step for m in resumed.members()] == [8]
    first = tasks.RECORDS[0]
    assert (first["global_step"], first["parent"]) == (2, 0)
    straight = run(tasks.train, tmp_path, name="straight", **alone)
    # Weights, Adam's moments, the schedule and the RNG states (batch order, dropout) came back
    # as they were: the run ends with the weights of the run that never stopped.
    assert weights(resumed, tmp_path / "resumed") == weights(straight, tmp_path / "straight")


def weights(result: pop.Population, folder: Path) -> list[list[float]]:
    """The final weights of the population's only member."""
    (member,) = result.members()
    assert member.checkpoint is not None
    model = tasks.BertForSequenceClassification.from_pretrained(
        member.checkpoint.load_directory(folder)
    )
    return [t.flatten().tolist() for t in model.state_dict().values()]


def test_the_best_model_loads_with_from_pretrained(tmp_path: Path) -> None:
    result = run(tasks.make_train(metric="eval_accuracy"), tmp_path, population=2)
    best = result.best
    assert best is not None and best.checkpoint is not None
    folder = best.checkpoint.load_directory(tmp_path / "best")
    assert not (folder / "training_args.bin").exists()  # a pickle: never stored
    model = tasks.BertForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        logits = model(torch.stack([row["input_ids"] for row in tasks.DATA])).logits
    labels = torch.tensor([row["labels"] for row in tasks.DATA])
    assert float((logits.argmax(-1) == labels).float().mean()) == pytest.approx(best.score)
    out = tmp_path / "cli-best"
    command = [sys.executable, "-m", "populace.cli", "best", "--storage"]
    command += [f"sqlite:///{tmp_path}/tiny.db", "tiny", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "model.safetensors").read_bytes() == (folder / "model.safetensors").read_bytes()
    tasks.BertForSequenceClassification.from_pretrained(out)


def assert_nothing_stored(folder: Path) -> None:
    stored = pop.load(f"sqlite:///{folder}/tiny.db", "tiny")
    assert stored.results() == []
    assert [m.step for m in stored.members()] == [0] * 4
    assert list(stored.checkpoints.refs()) == []


def test_a_trainer_that_never_evaluates_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(pop.ConfigurationError, match=r"never evaluates \(eval_strategy='no'\)"):
        run(tasks.make_train(eval_strategy="no"), tmp_path)
    assert_nothing_stored(tmp_path)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (
            {"max_steps": -1},
            r"the Trainer runs 12 steps: set TrainingArguments\(max_steps=member.budget\), here 8",
        ),
        (
            {"save_strategy": "best", "metric_for_best_model": "closeness"},
            "save_strategy='best' skips the saves at ready points",
        ),
        ({"save_only_model": True}, "save_only_model=True leaves the optimizer"),
    ],
)
def test_the_callback_refuses_a_trainer_that_cannot_train_a_member(
    tmp_path: Path, arguments: dict[str, Any], problem: str
) -> None:
    with pytest.raises(pop.ConfigurationError, match=problem):
        run(callback_only(**arguments), tmp_path)
    assert_nothing_stored(tmp_path)


def callback_only(**arguments: Any) -> pop.TrainFn:
    """A ``train`` adding the callback to :func:`tasks.build`'s Trainer itself, no helper."""

    def train(member: pop.Member) -> None:
        with tempfile.TemporaryDirectory() as folder:
            defaults = {"max_steps": member.budget, "output_dir": f"{folder}/output"}
            trainer = tasks.build(member, **{**defaults, **arguments})
            callback = PopulaceCallback(member, "eval_closeness")
            trainer.add_callback(callback)
            trainer.train(resume_from_checkpoint=callback.restore(f"{folder}/restored"))

    return train


def test_the_callback_evaluates_and_saves_at_ready_points_the_trainer_would_miss(
    tmp_path: Path,
) -> None:
    # The Trainer evaluates every 3 steps and saves every 500 (its default); the callback
    # adds an evaluation and a save at every ready point (2, 4, 6, 8).
    result = run(callback_only(eval_steps=3), tmp_path)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 8)] * 4
    assert any(d.decision.kind == "exploit" for d in result.decisions())
    for member in result.members():
        results = [r for r in result.results() if r.member == member.id]
        assert {r.step for r in results if r.checkpoint is not None} == {2, 4, 6, 8}
        assert {r.step for r in results if r.checkpoint is None} == {3}


def test_the_trainers_own_rotation_and_best_model_do_not_touch_stored_checkpoints(
    tmp_path: Path,
) -> None:
    # Ray Tune's PBT with the Trainer failed with "checkpoint not in list" (transformers issues
    # 10247, 22434): the Trainer's rotation and best-model bookkeeping lost the folders PBT
    # referred to. Here the Trainer keeps one folder and loads its best model at the end,
    # while every ready point's folder is stored by content and restored from the store.
    arguments = dict(
        save_steps=1,
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="closeness",
    )
    result = run(callback_only(**arguments), tmp_path)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 8)] * 4
    assert any(d.decision.kind == "exploit" for d in result.decisions())
    restored = [r for r in tasks.RECORDS if r["parent"] not in (None, r["member"])]
    assert restored


def test_a_metric_that_is_never_logged_stops_the_run_naming_it(tmp_path: Path) -> None:
    with pytest.raises(pop.ConfigurationError) as error:
        run(tasks.make_train(metric="eval_acc"), tmp_path)
    message = str(error.value)
    assert "reports 'eval_acc', which the Trainer's evaluation at step 2" in message
    assert "'eval_accuracy'" in message and "'eval_closeness'" in message
    assert_nothing_stored(tmp_path)


def test_a_trainer_not_resumed_from_the_member_checkpoint_is_refused(tmp_path: Path) -> None:
    alone = {"population": 1, "exploit": pop.NoExploit(), "explore": pop.NoExplore()}
    with pytest.raises(SystemExit):
        run(tasks.make_train(stop=lambda member, step: step == 3), tmp_path, **alone)

    def forgetful(member: pop.Member) -> None:
        trainer = tasks.build(member)
        trainer.args.max_steps = member.budget
        trainer.add_callback(PopulaceCallback(member, "eval_closeness"))
        trainer.train()  # without resume_from_checkpoint=callback.restore(folder)

    with pytest.raises(pop.ConfigurationError, match="starts at step 0 but member 0 at step 2"):
        run(forgetful, tmp_path, **alone)


def test_a_checkpoint_saved_by_other_training_code_is_refused(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path / "store")
    member: Any = type("FakeMember", (), {"id": 0, "step": 4, "params": {}})()
    member.checkpoint = Checkpoint(store.put({"step": 4}), member=1, step=4, store=store)
    with pytest.raises(pop.ConfigurationError, match="an object, not a folder: it was not saved"):
        PopulaceCallback(member).restore(tmp_path / "restored")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.safetensors").write_bytes(b"")
    ref = store.put(pop.Directory(tmp_path / "model"))
    member.checkpoint = Checkpoint(ref, member=1, step=4, store=store)
    with pytest.raises(pop.ConfigurationError, match=r"a folder without trainer_state\.json"):
        PopulaceCallback(member).restore(tmp_path / "restored-2")


def test_without_transformers_the_import_names_the_extra_to_install() -> None:
    code = "import sys; sys.modules['transformers'] = None; import populace.transformers"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert (
        "MissingDependencyError: transformers is needed for this; install it with: pip "
        "install 'populace[transformers]'" in done.stderr
    )


@pytest.mark.slow
def test_worker_processes_train_transformers_members(tmp_path: Path) -> None:
    result = run(tasks.train, tmp_path, workers=2, budget=4)
    assert [(m.state, m.step) for m in result.members()] == [("finished", 4)] * 4
    assert any(d.decision.kind == "exploit" for d in result.decisions())
