"""The CartPole PPO workload: its advantage estimates, and a QUICK run end to end."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import populace as pop

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
