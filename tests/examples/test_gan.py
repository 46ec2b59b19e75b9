"""The 2-D GAN workload: its scorer on known samples, and a QUICK run end to end."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

import populace as pop

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
gan = importlib.import_module("gan")


def near(modes: list[int], n: int = 2000) -> torch.Tensor:
    """``n`` points spread evenly over the given modes, with the true mode sigma."""
    generator = torch.Generator().manual_seed(0)
    centres = gan.MODES[torch.tensor(modes).repeat_interleave(n // len(modes))]
    return centres + gan.SIGMA * torch.randn(len(centres), 2, generator=generator)


def test_samples_of_the_true_mixture_score_close_to_8() -> None:
    x = gan.real_samples(2000, torch.Generator().manual_seed(0))
    assert gan.inception_score(x) == pytest.approx(8.0, abs=0.05)
    assert gan.modes_covered(x) == 8
    assert gan.fraction_good(x) > 0.97  # 98.9 % of a 2-D Gaussian lies within 3 sigma


def test_samples_at_one_mode_score_close_to_1() -> None:
    x = near([3])
    assert gan.inception_score(x) == pytest.approx(1.0, abs=0.01)
    assert gan.modes_covered(x) == 1
    assert gan.fraction_good(x) > 0.97


def test_half_the_modes_evenly_score_close_to_4() -> None:
    x = near([0, 2, 4, 6])
    assert gan.inception_score(x) == pytest.approx(4.0, abs=0.05)
    assert gan.modes_covered(x) == 4


def test_samples_off_the_modes_score_close_to_1_however_they_spread() -> None:
    blob = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    assert gan.inception_score(blob) < 1.1  # the reject class: no confident label off the modes
    assert gan.fraction_good(blob) < 0.01
    assert gan.modes_covered(blob) == 0
    blurred = near(list(range(8))) + 10 * gan.SIGMA  # every sample 14 sigmas off its mode
    assert gan.inception_score(blurred) < 1.1


def test_a_checkpoint_carries_both_networks_and_both_optimizers() -> None:
    model = gan.GAN()
    opt_g, opt_d = gan.optimizers(model, {"g_lr": 1e-3, "d_lr": 1e-3, "beta1": 0.5})
    gan.update(model, opt_g, opt_d)
    state = gan.checkpoint(model, opt_g, opt_d, step=1)
    assert any(key.startswith("generator.") for key in state["model"])
    assert any(key.startswith("discriminator.") for key in state["model"])
    assert state["optimizer"]["state"] and state["extra"]["opt_d"]["state"]


@pytest.mark.slow
def test_quick_run_reaches_the_budget_with_scores_in_range() -> None:
    quick = gan.QUICK
    result = pop.run(
        gan.train,
        gan.SPACE,
        **quick,
        storage="memory",
        workers=1,
        progress=False,
        exploit=gan.exploit(),
        explore=gan.explore(),
        direction=gan.DIRECTION,
    )
    members = result.members()
    assert len(members) == quick["population"]
    assert all(m.step == quick["budget"] for m in members)
    assert all(1.0 <= m.score <= gan.N_MODES for m in members)  # IS is exp(I(x; y)) >= 1
    held_out = gan.test_score(result)
    assert 1.0 <= held_out <= gan.N_MODES


def test_a_member_trains_the_same_whatever_ran_before_it() -> None:
    def scores() -> list[float]:
        result = pop.run(
            gan.train,
            gan.SPACE,
            population=2,
            budget=2,
            interval=1,
            storage="memory",
            progress=False,
            exploit=gan.exploit(),
            explore=gan.explore(),
        )
        return [r.score for r in result.results()]

    first = scores()
    torch.rand(10)  # moves the global RNG: the initial weights must not depend on it
    assert scores() == first


@pytest.mark.slow
def test_command_line_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--population", "2", "--budget", "2", "--interval", "1", "--workers", "1"]
    assert gan.main([*argv, "--storage", f"sqlite:///{tmp_path / 'gan.db'}"]) == 0
    out = capsys.readouterr().out
    assert "best validation IS" in out and "held-out IS of the best" in out
    assert "modes covered" in out and "good samples" in out
    assert "schedule of the best model" in out
