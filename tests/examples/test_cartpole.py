"""The CartPole PPO workload: its advantage estimates, a QUICK run end to end, and the stacked
path (``train_batch``, the vectorized executor) against the serial one (``train``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _stand_ins import as_tensors, resume_serially, stub_batch, stub_member, vectorized_run

import populace as pop
from populace.runtime._stacked import member_slice, stack

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
cartpole = importlib.import_module("cartpole")


def rollout(
    rewards: list[float], values: list[float], end: int | None = None, terminated: bool = False
) -> dict[str, torch.Tensor]:
    """A rollout of the module's (ROLLOUT, ENVS) shape, zeros but for env 0's data.

    ``end`` is the step where env 0's episode ends: terminated, or else truncated.
    """
    shape = (cartpole.ROLLOUT, cartpole.ENVS)
    data = {k: torch.zeros(shape) for k in ("reward", "terminated", "done")}
    data["value"] = torch.zeros((cartpole.ROLLOUT + 1, cartpole.ENVS))
    data["reward"][: len(rewards), 0] = torch.tensor(rewards)
    data["value"][: len(values), 0] = torch.tensor(values)
    if end is not None:
        data["done"][end, 0] = 1.0
        data["terminated"][end, 0] = float(terminated)
    return data


def test_advantages_are_discounted_returns_when_lambda_is_one() -> None:
    adv = cartpole.advantages(rollout([1.0, 1.0, 1.0], [0.0]), gae_lambda=1.0)
    g = cartpole.GAMMA
    assert adv[:3, 0].tolist() == pytest.approx([1 + g + g * g, 1 + g, 1.0])


def test_an_episode_end_cuts_advantages_and_only_a_truncation_bootstraps() -> None:
    values = [0.0, 0.0, 5.0]  # 5 is the value of the observation after step 1
    terminated = cartpole.advantages(rollout([1.0, 1.0], values, 1, True), gae_lambda=0.9)
    assert terminated[1, 0].item() == pytest.approx(1.0)
    truncated = cartpole.advantages(rollout([1.0, 1.0], values, 1, False), gae_lambda=0.9)
    assert truncated[1, 0].item() == pytest.approx(1.0 + cartpole.GAMMA * 5.0)
    # what follows the end (from step 2, worth -5 here) never flows back into the episode
    assert truncated[0, 0].item() == pytest.approx(1.0 + cartpole.GAMMA * 0.9 * truncated[1, 0])


def test_runner_scores_the_last_finished_episodes() -> None:
    runner = cartpole.Runner(cartpole.make_envs(), seed=0, returns=[float(r) for r in range(20)])
    assert runner.score() == pytest.approx(np.mean(range(10, 20)))  # the window keeps 10
    assert cartpole.Runner(cartpole.make_envs(), seed=0, returns=[]).score() == 0.0


@pytest.mark.slow
def test_quick_run_reaches_the_budget_with_scores_in_range() -> None:
    quick = cartpole.QUICK
    result = pop.run(
        cartpole.train,
        cartpole.SPACE,
        **quick,
        storage="memory",
        workers=1,
        progress=False,
        exploit=cartpole.exploit(),
        direction=cartpole.DIRECTION,
    )
    members = result.members()
    assert len(members) == quick["population"]
    assert all(m.step == quick["budget"] for m in members)
    assert all(0.0 < m.score <= 500.0 for m in members)  # episodes last 1 to 500 steps
    best = result.best
    assert best is not None and best.checkpoint is not None
    returns = best.checkpoint.load()["extra"]["returns"]
    assert 0 < len(returns) <= cartpole.WINDOW
    assert float(np.mean(returns)) == pytest.approx(best.score)  # the score survives a restart
    held_out = cartpole.test_score(result)
    assert 1.0 <= held_out <= 500.0


@pytest.mark.slow
def test_command_line_runs_with_ttest_selection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quick = {k: str(v) for k, v in cartpole.QUICK.items()}
    argv = ["--population", quick["population"], "--budget", quick["budget"]]
    argv += ["--interval", quick["interval"], "--workers", "1", "--exploit", "ttest"]
    assert cartpole.main([*argv, "--storage", f"sqlite:///{tmp_path / 'cartpole.db'}"]) == 0
    out = capsys.readouterr().out
    assert "best validation return" in out and "held-out greedy return of the best" in out
    assert "schedule of the best model" in out


PARAMS = [  # three members' hyperparameters, each dimension different
    {"lr": 1e-3, "ent_coef": 1e-2, "clip": 0.2, "gae_lambda": 0.95},
    {"lr": 3e-4, "ent_coef": 1e-4, "clip": 0.1, "gae_lambda": 0.8},
    {"lr": 2e-3, "ent_coef": 3e-2, "clip": 0.3, "gae_lambda": 0.99},
]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread, as each serial worker runs (tiny kernels gain nothing from more)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_stacked_runner_keeps_a_window_per_member() -> None:
    runner = cartpole.Runner(cartpole.make_envs(2 * cartpole.ENVS), seed=0, members=2)
    assert runner.scores().tolist() == [0.0, 0.0] and runner.window.shape == (2, cartpole.WINDOW)
    runner.window[1, -3:] = torch.tensor([10.0, 20.0, 30.0])  # an exploit writes in place
    assert runner.scores().tolist() == [0.0, 20.0]
    assert cartpole.saved_returns(runner.window[1]) == [10.0, 20.0, 30.0]


def test_per_member_clipping_is_clip_grad_norm_on_each_member_alone() -> None:
    torch.manual_seed(0)
    agents = [cartpole.Agent() for _ in range(3)]
    stacked = cartpole.StackedAgent(agents)
    scales = [0.001, 1.0, 100.0]  # below, around and far above MAX_GRAD_NORM
    for param in stacked.parameters():
        param.grad = torch.randn_like(param) * torch.tensor(scales).view(
            -1, *[1] * (param.dim() - 1)
        )
    expected = []
    for k, agent in enumerate(agents):
        for alone, param in zip(agent.parameters(), stacked.parameters(), strict=True):
            alone.grad = param.grad[k].clone()  # type: ignore[index]
        expected.append(torch.nn.utils.clip_grad_norm_(agent.parameters(), cartpole.MAX_GRAD_NORM))
    norms = cartpole.clip_grad_norms(stacked.parameters(), cartpole.MAX_GRAD_NORM)
    torch.testing.assert_close(norms, torch.stack(expected))
    for k, agent in enumerate(agents):
        for alone, param in zip(agent.parameters(), stacked.parameters(), strict=True):
            torch.testing.assert_close(param.grad[k], alone.grad)  # type: ignore[index]
    assert norms[0] < cartpole.MAX_GRAD_NORM < norms[1]  # one left alone, two clipped


def test_a_stacked_update_trains_each_member_as_it_would_train_alone(one_thread: None) -> None:
    torch.manual_seed(0)
    agents = [cartpole.Agent() for _ in PARAMS]
    stacked = cartpole.StackedAgent(agents)
    runner = cartpole.Runner(cartpole.make_envs(len(PARAMS) * cartpole.ENVS), 0, members=3)
    rollout = runner.collect(stacked, torch.Generator().manual_seed(0))
    # Member 1 with under half the valid steps: 2 minibatches an epoch where the others have
    # 4, so it must sit out their last two optimizer steps.
    rollout["valid"][: cartpole.ROLLOUT // 2 + 8, 1] = False
    opt = cartpole.vector_optimizer(stacked, as_tensors(PARAMS)["lr"])
    orders = [torch.Generator().manual_seed(100 + k) for k in range(len(PARAMS))]
    cartpole.update_stacked(stacked, opt, rollout, as_tensors(PARAMS), orders)
    for k, (agent, params) in enumerate(zip(agents, PARAMS, strict=True)):
        alone = cartpole.optimizer(agent, params["lr"])  # torch.optim.Adam, fused
        torch.manual_seed(100 + k)  # update draws its orders from the global RNG
        cartpole.update(agent, alone, {name: v[:, k] for name, v in rollout.items()}, params)
        for name, value in agent.state_dict().items():
            torch.testing.assert_close(stacked.state_dict()[name][k], value)
        ours, theirs = opt.member_state_dict(k)["state"], alone.state_dict()["state"]
        for index, entries in theirs.items():
            for name, value in entries.items():
                torch.testing.assert_close(ours[index][name], value)
    steps = opt.state_dict()["state"][0]["step"].tolist()
    assert steps == [cartpole.EPOCHS * 4, cartpole.EPOCHS * 2, cartpole.EPOCHS * 4]


def _stub_batch(
    members: tuple[int, ...], budget: int, step: int = 0, checkpoint: Any = None
) -> tuple[Any, list[tuple[int, torch.Tensor, list[Any]]]]:
    """A stand-in Batch at ``step`` whose reports (step, scores, member slices) land in a list."""
    reports: list[tuple[int, torch.Tensor, list[Any]]] = []

    def report(at: int, scores: torch.Tensor, state: Any) -> None:
        stacked = state()
        reports.append((at, scores, [member_slice(stacked, k) for k in range(len(members))]))

    params = PARAMS[: len(members)]
    batch = stub_batch(members, params, report, budget=budget, step=step, checkpoint=checkpoint)
    return batch, reports


def test_train_batch_starts_from_the_serial_weights(
    monkeypatch: pytest.MonkeyPatch, one_thread: None
) -> None:
    for name in ("update", "update_stacked"):  # step 1 then reports the initial state
        monkeypatch.setattr(cartpole, name, lambda *args: None)
    members = (0, 5, 2)
    batch, reports = _stub_batch(members, budget=1)
    cartpole.train_batch(batch)
    [(_, scores, slices)] = reports
    assert scores.shape == (len(members),) and scores.dtype == torch.float64
    serial: list[dict[str, Any]] = []
    for member, params, saved in zip(members, PARAMS, slices, strict=True):
        serial.clear()
        report = lambda step, score, checkpoint: serial.append(checkpoint())  # noqa: E731
        cartpole.train(stub_member(member, params, report))
        for name, value in serial[0]["model"].items():
            torch.testing.assert_close(saved["model"][name], value, rtol=0, atol=0)


def test_train_batch_resumes_from_its_stacked_state(
    monkeypatch: pytest.MonkeyPatch, one_thread: None
) -> None:
    members = (0, 1)
    batch, reports = _stub_batch(members, budget=1)
    cartpole.train_batch(batch)
    [(_, scores, slices)] = reports
    assert all(s["step"] == 1 and s["rng"] is None for s in slices)
    for slot, saved in enumerate(slices):
        returns = cartpole.saved_returns(saved["extra"]["returns"])
        assert float(np.mean(returns)) == pytest.approx(float(scores[slot]))
    # The runtime stacks the members' slices. With no update and a rollout of one env step,
    # the state reported is the state saved.
    monkeypatch.setattr(cartpole, "update_stacked", lambda *args: None)
    monkeypatch.setattr(cartpole, "ROLLOUT", 1)
    resumed, again = _stub_batch(members, budget=2, step=1, checkpoint=stack(slices, "cpu"))
    cartpole.train_batch(resumed)
    [(step, _, after)] = again
    assert step == 2
    for before, now in zip(slices, after, strict=True):
        for name, value in before["model"].items():
            torch.testing.assert_close(now["model"][name], value, rtol=0, atol=0)
        for index, entries in before["optimizer"]["state"].items():
            for name, value in entries.items():
                torch.testing.assert_close(now["optimizer"]["state"][index][name], value)
        assert now["step"] == 2
        # the window too (one env step after the reset ends no episode)
        assert torch.equal(now["extra"]["returns"], before["extra"]["returns"])


def test_a_vectorized_run_stores_every_score_and_its_slices_are_ordinary_states(
    one_thread: None,
) -> None:
    budget = 4
    result = vectorized_run(
        cartpole.train_batch,
        cartpole.SPACE,
        population=4,
        budget=budget,
        exploit=cartpole.exploit(),
        direction=cartpole.DIRECTION,
    )
    assert all(0.0 < r.score <= 500.0 for r in result.results())
    best = result.best
    assert best is not None and best.checkpoint is not None
    saved: Any = best.checkpoint.load()
    returns = cartpole.saved_returns(saved["extra"]["returns"])
    assert 0 < len(returns) <= cartpole.WINDOW
    assert float(np.mean(returns)) == pytest.approx(best.score)  # the score survives a restart
    agent = cartpole.load_agent(saved)  # a strict load: the slice's model is an Agent's
    assert 1.0 <= cartpole.greedy_return(agent, cartpole.TEST_SEEDS[0]) <= 500.0
    assert 1.0 <= cartpole.test_score(result) <= 500.0

    # train() resumes from the slice: the weights and Adam's moments, one more update
    assert resume_serially(cartpole.train, best, budget + 1) == [budget + 1]
    restored = cartpole.optimizer(cartpole.Agent(), best.params["lr"])
    cartpole.load_optimizer(restored, saved["optimizer"])
    for index, entries in saved["optimizer"]["state"].items():
        for name, value in entries.items():
            torch.testing.assert_close(restored.state_dict()["state"][index][name], value)


def test_command_line_runs_with_the_vectorized_executor(
    capsys: pytest.CaptureFixture[str], one_thread: None
) -> None:
    argv = ["--population", "2", "--budget", "2", "--interval", "1", "--storage", "memory"]
    assert cartpole.main(["--executor", "vectorized", *argv]) == 0
    out = capsys.readouterr().out
    assert "vectorized executor, 1 workers: best validation return" in out
    assert "held-out greedy return of the best" in out
