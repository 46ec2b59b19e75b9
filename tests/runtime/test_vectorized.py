"""The vectorized executor: every member trained at once, decisions equal to the serial executor's.

The toy is the same arithmetic both ways: ``x += lr * (1 - x)`` per member, scored by
``-|1 - x|``, in float64 (a Python float in ``train``, a [K] tensor in ``train_batch``), so both
runs see bit-identical scores and checkpoints. The equivalence holds for strategies whose
decisions at a ready point read only the ready records (truncation, the default, and
tournament); TTestExploit and PB2 also read members' current generations, so their decisions
depend on the order members decide in at one step, which the serial executor's scheduling sets.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

import populace as pop
from populace.controller.exploit import BaseExploit, TournamentExploit
from populace.errors import ConfigurationError, ReportError
from populace.executors import VectorizedExecutor
from populace.storage import get_storage

from .workloads import decision_log

SPACE = pop.SearchSpace(lr=pop.Uniform(0.01, 0.3))
SETTINGS: dict[str, Any] = dict(population=8, budget=20, interval=5, seed=4, progress=False)


def climb_one(member: pop.Member) -> None:
    """The toy, one member at a time (serial executor)."""
    x = float(member.checkpoint.load()["x"]) if member.checkpoint else 0.0
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"] * (1 - x)
        state = {"x": torch.tensor(x, dtype=torch.float64)}
        member.report(step, -abs(1 - x), checkpoint=state, metrics={"x": x})


def climb_all(batch: pop.Batch) -> None:
    """The toy, every member at once (vectorized executor)."""
    if batch.checkpoint is None:
        x = torch.zeros(batch.size, dtype=torch.float64, device=batch.device)
    else:
        x = batch.checkpoint["x"]
    for step in range(batch.step + 1, batch.budget + 1):
        x += batch.params["lr"] * (1 - x)
        batch.report(step, -(1 - x).abs(), state={"x": x}, metrics={"x": x})


def _results(population: pop.Population) -> list[tuple]:
    return sorted(
        (r.member, r.generation, r.step, r.score, r.ready, r.checkpoint, dict(r.metrics))
        for r in population.results()
    )


def _lineage(population: pop.Population) -> list[tuple]:
    return sorted(
        (s.member, s.generation, s.start_step, sorted(s.params.items()), s.parent_member,
         s.parent_generation, s.parent_step, s.checkpoint)
        for s in population.storage.segments(population.id)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("synchronous", "exploit"),
    [(False, None), (True, None), (False, TournamentExploit())],
    ids=["asynchronous", "synchronous", "tournament"],
)
def test_the_same_decisions_lineage_and_scores_as_the_serial_executor(
    tmp_path: Path, synchronous: bool, exploit: BaseExploit | None
) -> None:
    settings = {**SETTINGS, "synchronous": synchronous, "exploit": exploit, "name": "toy"}
    serial = pop.run(climb_one, SPACE, storage=f"sqlite:///{tmp_path / 's.db'}", **settings)
    vector = pop.run(
        climb_all, SPACE, storage=f"sqlite:///{tmp_path / 'v.db'}", executor="vectorized",
        **settings,
    )  # fmt: skip
    kinds = [d.decision.kind for d in vector.decisions()]
    assert "exploit" in kinds  # the comparison covers copies, not only continues
    assert sorted(decision_log(vector)) == sorted(decision_log(serial))
    assert _lineage(vector) == _lineage(serial)
    assert _results(vector) == _results(serial)
    assert [m.state for m in vector.members()] == ["finished"] * 8
    assert vector.best.schedule == serial.best.schedule
    assert all(m.lease_owner is None for m in vector.storage.members(vector.id))
    assert [w.stopped_at is not None for w in vector.storage.workers(vector.id)] == [True]
    best = vector.best.checkpoint.load()  # one member's own state, as an ordinary state dict
    assert best["x"].shape == () and -abs(1 - float(best["x"])) == vector.best.score


def test_an_exploit_copies_state_and_params_in_place(tmp_path: Path) -> None:
    seen = {}

    def train_batch(batch: pop.Batch) -> None:
        x = torch.zeros(batch.size, dtype=torch.float64)
        optimizer = {"m": torch.zeros(batch.size, 2)}  # float32, like an optimizer's buffers
        for step in range(batch.step + 1, batch.budget + 1):
            x += batch.params["lr"] * (1 - x)
            optimizer["m"][:, 0] = x
            before = x.clone()
            batch.report(step, -(1 - x).abs(), state={"x": x, "opt": optimizer})
            seen[step] = (
                before,
                x.clone(),
                optimizer["m"][:, 0].clone(),
                batch.params["lr"].clone(),
            )

    result = pop.run(
        train_batch, SPACE, storage=f"sqlite:///{tmp_path / 'v.db'}", executor="vectorized",
        **SETTINGS,
    )  # fmt: skip
    exploits = [d for d in result.decisions() if d.decision.kind == "exploit"]
    assert exploits
    for d in exploits:  # member ids are slots here; copies read the state before the round
        before, x, m, lr = seen[d.step]
        assert x[d.member] == before[d.decision.parent]
        assert m[d.member] == before[d.decision.parent].float()
        assert lr[d.member].item() == d.decision.params["lr"]
    best = result.best.checkpoint.load()  # a member's slice of every tensor of the state
    assert best["x"].shape == () and best["opt"]["m"].shape == (2,)


def test_copies_read_the_state_before_the_decisions(tmp_path: Path) -> None:
    from populace.runtime._stacked import copy_slots

    state = {"w": torch.tensor([[0.0], [1.0], [2.0], [3.0]]), "o": {"m": torch.arange(4)}}
    copy_slots(state, 4, {0: 1, 1: 2}, {3: {"w": torch.tensor([9.0]), "o": {"m": torch.tensor(7)}}})
    assert state["w"].flatten().tolist() == [1.0, 2.0, 2.0, 9.0]
    assert state["o"]["m"].tolist() == [1, 2, 2, 7]


def _run(train_batch, tmp_path: Path, **settings) -> pop.Population:  # type: ignore[no-untyped-def]
    merged = {"executor": "vectorized", **SETTINGS, **settings}
    return pop.run(
        train_batch, merged.pop("space", SPACE), storage=f"sqlite:///{tmp_path / 'v.db'}",
        name="bad", **merged,
    )  # fmt: skip


def _stopping_at(step: int, scores):  # type: ignore[no-untyped-def]
    def train_batch(batch: pop.Batch) -> None:
        x = torch.zeros(batch.size, dtype=torch.float64)
        for s in range(batch.step + 1, batch.budget + 1):
            x += batch.params["lr"] * (1 - x)
            batch.report(s, scores(x) if s == step else -(1 - x).abs(), state={"x": x})

    return train_batch


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (lambda x: x[:3], r"scores must have shape \[8\]"),
        (lambda x: x[:, None], r"shape \[8\].*got \[8, 1\]"),
        (lambda x: torch.ones(8, dtype=torch.int64), "floating-point"),
        (lambda x: [0.5] * 7, "8 numbers"),
        (lambda x: "high", r"\[8\] tensor"),
    ],
)
def test_scores_of_the_wrong_shape_or_dtype_stop_the_run_and_lose_nothing(
    tmp_path: Path, scores, message: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportError, match=message):
        _run(_stopping_at(7, scores), tmp_path)
    result = pop.load(f"sqlite:///{tmp_path / 'v.db'}", "bad")
    members = result.storage.members(result.id)
    assert all(m.lease_owner is None for m in members)
    assert {m.step for m in members} == {6}  # everything reported before is stored
    assert {m.checkpoint_step for m in members} == {5}


def test_a_state_without_the_member_axis_is_refused(tmp_path: Path) -> None:
    def train_batch(batch: pop.Batch) -> None:
        for step in range(batch.step + 1, batch.budget + 1):
            batch.report(step, torch.zeros(batch.size), state={"w": torch.zeros(3)})

    with pytest.raises(ReportError, match=r"state\['w'\] must be a tensor with a leading axis"):
        _run(train_batch, tmp_path)


def test_members_with_a_nan_score_fail_alone(tmp_path: Path) -> None:
    def nan_for_some(x: torch.Tensor) -> torch.Tensor:
        scores = -(1 - x).abs()
        scores[2], scores[5] = math.nan, math.inf
        return scores

    result = _run(_stopping_at(8, nan_for_some), tmp_path)
    states = {m.id: m.state for m in result.members()}
    assert states == {i: "failed" if i in (2, 5) else "finished" for i in range(8)}
    failed = result.storage.members(result.id)[2]
    assert "non-finite score (nan) at step 8" in (failed.error or "")
    assert failed.step == 7  # its results before the bad one are stored
    assert max(r.step for r in result.results() if r.member == 5) == 7


def test_string_choices_are_refused_before_anything_is_stored(tmp_path: Path) -> None:
    space = pop.SearchSpace(lr=pop.Uniform(0.01, 0.3), opt=pop.Choice(["sgd", "adam"]))
    with pytest.raises(ConfigurationError, match=r"'opt'.*index the choices yourself"):
        _run(climb_all, tmp_path, space=space)
    assert get_storage(f"sqlite:///{tmp_path / 'v.db'}").list_populations() == []


def test_params_become_tensors_of_their_dimensions_type(tmp_path: Path) -> None:
    space = pop.SearchSpace(
        lr=pop.Uniform(0.01, 0.3), layers=pop.IntUniform(1, 4), nesterov=pop.Choice([True, False]),
        wd=pop.Choice([0, 0.1]),
    )  # fmt: skip
    dtypes = {}

    def train_batch(batch: pop.Batch) -> None:
        dtypes.update({name: t.dtype for name, t in batch.params.items()})
        climb_all(batch)

    _run(train_batch, tmp_path, space=space)
    assert dtypes == {
        "lr": torch.float64, "layers": torch.int64, "nesterov": torch.bool, "wd": torch.float64,
    }  # fmt: skip


def test_fire_pbt_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FIRE PBT"):
        _run(climb_all, tmp_path, algorithm=pop.FirePBT(subpopulations=2, evaluators=1))


def test_a_failing_train_batch_is_retried_from_the_checkpoints(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(batch: pop.Batch) -> None:
        calls.append(batch.step)
        x = batch.checkpoint["x"] if batch.checkpoint else torch.zeros(batch.size).double()
        for step in range(batch.step + 1, batch.budget + 1):
            if step == 13 and len(calls) == 1:
                raise RuntimeError("out of memory, once")
            x += batch.params["lr"] * (1 - x)
            batch.report(step, -(1 - x).abs(), state={"x": x})

    result = _run(flaky, tmp_path)
    assert calls == [0, 10]
    assert [m.state for m in result.members()] == ["finished"] * 8
    reference = pop.run(
        climb_all, SPACE, storage=f"sqlite:///{tmp_path / 'r.db'}", executor="vectorized",
        **SETTINGS,
    )  # fmt: skip
    assert sorted(decision_log(result)) == sorted(decision_log(reference))


def test_a_train_batch_that_keeps_failing_fails_its_members(tmp_path: Path) -> None:
    def broken(batch: pop.Batch) -> None:
        raise RuntimeError("broken")

    result = _run(broken, tmp_path, retries=1)
    members = result.storage.members(result.id)
    assert [(m.state, m.failures) for m in members] == [("failed", 2)] * 8
    assert "RuntimeError: broken" in (members[0].error or "")


def test_returning_before_the_budget_is_an_error(tmp_path: Path) -> None:
    def short(batch: pop.Batch) -> None:
        batch.report(1, torch.zeros(batch.size))

    with pytest.raises(ReportError, match="returned before its members reached their budget"):
        _run(short, tmp_path)


def test_a_state_function_is_called_only_at_ready_points(tmp_path: Path) -> None:
    built: list[int] = []

    def train_batch(batch: pop.Batch) -> None:
        x = torch.zeros(batch.size, dtype=torch.float64)
        for step in range(batch.step + 1, batch.budget + 1):
            x += batch.params["lr"] * (1 - x)

            def state(step: int = step, x: torch.Tensor = x) -> dict[str, torch.Tensor]:
                built.append(step)
                return {"x": x}

            batch.report(step, -(1 - x).abs(), state=state)

    _run(train_batch, tmp_path)
    assert built == [5, 10, 15, 20]


def test_a_member_taken_by_another_worker_leaves_the_shard_and_catches_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shards: list[tuple[int, ...]] = []

    def train_batch(batch: pop.Batch) -> None:
        shards.append(batch.members)
        x = batch.checkpoint["x"] if batch.checkpoint else torch.zeros(batch.size).double()
        for step in range(batch.step + 1, batch.budget + 1):
            if step == 7 and len(shards) == 1:  # another worker takes member 3, then drops it
                population = pop.load(f"sqlite:///{tmp_path / 'v.db'}", "bad")
                storage = population.storage
                assert storage.claim(population.id, 3, "other", 2e10, 1e10) is not None
                storage.release(population.id, 3, "other")
            x += batch.params["lr"] * (1 - x)
            batch.report(step, -(1 - x).abs(), state={"x": x})

    result = _run(train_batch, tmp_path)
    # the others stop undecided at step 10, member 3 catches up alone, all go on together
    assert shards == [tuple(range(8)), (3,), tuple(range(8))]
    assert "member 3 moved on without this worker" in caplog.text
    reference = pop.run(
        climb_all, SPACE, storage=f"sqlite:///{tmp_path / 'r.db'}", executor="vectorized",
        **SETTINGS,
    )  # fmt: skip
    assert sorted(decision_log(result)) == sorted(decision_log(reference))
    assert [m.state for m in result.members()] == ["finished"] * 8
    keys = [(r.member, r.generation, r.step) for r in result.results()]
    assert len(keys) == len(set(keys))  # its lost interval was trained again, stored once
    assert max(step for member, _, step in keys if member == 3) == 20
    assert all(m.lease_owner is None for m in result.storage.members(result.id))


def test_a_bad_metric_stops_the_run_before_any_member_fails(tmp_path: Path) -> None:
    def train_batch(batch: pop.Batch) -> None:
        for step in range(batch.step + 1, batch.budget + 1):
            scores = torch.zeros(batch.size)
            loss = torch.ones(batch.size)
            if step == 3:
                scores[1] = loss[4] = math.nan
            batch.report(step, scores, state={"w": scores}, metrics={"loss": loss})

    with pytest.raises(ReportError, match="metric 'loss' must be a finite number"):
        _run(train_batch, tmp_path)
    members = pop.load(f"sqlite:///{tmp_path / 'v.db'}", "bad").members()
    assert [m.state for m in members] == ["running"] * 8


def test_a_population_left_at_different_steps_resumes_in_lockstep(tmp_path: Path) -> None:
    def interrupted(member: pop.Member) -> None:
        if member.id == 3 and member.step == 0:
            raise KeyboardInterrupt  # members 0-2 stand at step 5, 3-7 at step 0
        climb_one(member)

    url = f"sqlite:///{tmp_path / 'v.db'}"
    with pytest.raises(KeyboardInterrupt):
        pop.run(interrupted, SPACE, storage=url, name="mixed", **SETTINGS)
    steps = [m.step for m in pop.load(url, "mixed").members()]
    assert steps == [5, 5, 5, 0, 0, 0, 0, 0]
    result = pop.run(climb_all, SPACE, storage=url, name="mixed", executor="vectorized", **SETTINGS)
    reference = pop.run(
        climb_all, SPACE, storage=f"sqlite:///{tmp_path / 'r.db'}", name="mixed",
        executor="vectorized", **SETTINGS,
    )  # fmt: skip
    assert sorted(decision_log(result)) == sorted(decision_log(reference))
    assert [m.state for m in result.members()] == ["finished"] * 8


def test_an_executor_instance_places_the_members_on_its_device(tmp_path: Path) -> None:
    devices = []

    def train_batch(batch: pop.Batch) -> None:
        devices.append((batch.device, {t.device for t in batch.params.values()}))
        climb_all(batch)

    _run(train_batch, tmp_path, executor=VectorizedExecutor(device="cpu"))
    assert devices == [(torch.device("cpu"), {torch.device("cpu")})]


def test_the_torch_helpers_follow_the_runtimes_exploits_and_explores(tmp_path: Path) -> None:
    """A stacked model and a VectorSGD given ``batch.params``: after every ready point the
    optimizer trains each member with its new rate, and an exploiting member's weights and
    momentum are its parent's checkpoint."""
    import populace.torch as ptorch

    after: dict[int, dict[str, torch.Tensor]] = {}
    rates: list[tuple[torch.Tensor, torch.Tensor]] = []

    def train_batch(batch: pop.Batch) -> None:
        torch.manual_seed(0)
        stacked = ptorch.stack_modules([torch.nn.Linear(2, 1) for _ in range(batch.size)])
        optimizer = ptorch.VectorSGD(stacked.parameters(), lr=batch.params["lr"], momentum=0.5)
        state = {"model": stacked.state_dict(), "opt": optimizer.state_dict()}
        x = torch.randn(16, 2)
        y = x.sum(1, keepdim=True)
        for step in range(batch.step + 1, batch.budget + 1):
            losses = ((stacked(x) - y) ** 2).mean(dim=(1, 2))
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step()
            batch.report(step, -losses.detach(), state=state)
            rates.append((optimizer.param_groups[0]["lr"].clone(), batch.params["lr"].clone()))
            if step % batch.interval == 0:
                after[step] = {k: v.detach().clone() for k, v in stacked.state_dict().items()}
                buffers = [optimizer.state[p]["momentum_buffer"] for p in stacked.parameters()]
                after[step].update({f"momentum{i}": b.clone() for i, b in enumerate(buffers)})

    space = pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.1))
    result = pop.run(
        train_batch, space, population=6, budget=20, interval=5, seed=1, progress=False,
        executor="vectorized", storage=f"sqlite:///{tmp_path / 'runs.db'}",
        keep_best=100,  # every checkpoint stays, to compare with
    )  # fmt: skip
    assert all(torch.equal(used, given) for used, given in rates)
    exploits = [d for d in result.decisions() if isinstance(d.decision, pop.Exploit)]
    assert exploits and any(
        isinstance(d.decision, (pop.Exploit, pop.Explore)) for d in result.decisions()
    )
    for d in exploits:
        parent = result.checkpoints.get(d.decision.parent_checkpoint)
        child = after[d.step]
        for name, value in parent["model"].items():
            torch.testing.assert_close(child[name][d.member], value, rtol=0, atol=0)
        for i, slot in enumerate(parent["opt"]["state"].values()):
            momentum = child[f"momentum{i}"][d.member]
            torch.testing.assert_close(momentum, slot["momentum_buffer"], rtol=0, atol=0)
