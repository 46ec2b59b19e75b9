"""The 2-D GAN workload: its scorer on known samples, a QUICK run end to end, and the stacked
path (``train_batch``, the vectorized executor) against the serial one (``train``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from _stand_ins import as_tensors, resume_serially, stub_batch, stub_member, vectorized_run

import populace as pop
import populace.torch as ptorch

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


PARAMS = [  # three members' hyperparameters, beta1 = 0 included
    {"g_lr": 1e-3, "d_lr": 3e-3, "beta1": 0.5},
    {"g_lr": 1e-4, "d_lr": 1e-2, "beta1": 0.0},
    {"g_lr": 5e-3, "d_lr": 2e-4, "beta1": 0.9},
]


def test_a_stacked_update_trains_each_member_as_it_would_train_alone() -> None:
    torch.manual_seed(0)
    gans = [gan.GAN() for _ in PARAMS]
    generators = ptorch.stack_modules([g.generator for g in gans])
    discriminators = ptorch.stack_modules([g.discriminator for g in gans])
    opt_g, opt_d = gan.vector_optimizers(generators, discriminators, as_tensors(PARAMS))
    k, b = len(PARAMS), gan.BATCH
    inputs = [(torch.randn(k, b, gan.LATENT), gan.real_samples(b, members=k)) for _ in range(2)]
    for noise, real in inputs:  # two updates: Adam's second step has its moments to use
        gan.update_on(
            lambda z: generators(z, per_member=True),
            lambda x: discriminators(x, per_member=True),
            opt_g,
            opt_d,
            noise,
            real,
        )
    for member, (alone, params) in enumerate(zip(gans, PARAMS, strict=True)):
        alone_g, alone_d = gan.optimizers(alone, params)  # torch.optim.Adam, fused
        for noise, real in inputs:
            gan.update_on(
                alone.generator, alone.discriminator, alone_g, alone_d, noise[member], real[member]
            )
        for stacked, module in (
            (generators, alone.generator),
            (discriminators, alone.discriminator),
        ):
            for name, value in module.state_dict().items():
                torch.testing.assert_close(stacked.member_state_dict(member)[name], value)
            # the last generator loss's gradients, unscaled by the other members (Adam would
            # hide a scale factor in the weights)
            grads = {name: p.grad for name, p in stacked.named_parameters()}
            for name, param in module.named_parameters():
                grad = grads[name]
                assert grad is not None and param.grad is not None
                torch.testing.assert_close(grad[member], param.grad)
        for vector, single in ((opt_g, alone_g), (opt_d, alone_d)):
            ours, theirs = vector.member_state_dict(member)["state"], single.state_dict()["state"]
            for index, entries in theirs.items():
                for name, value in entries.items():
                    torch.testing.assert_close(ours[index][name], value)


def _serial_first_step(member: int, params: dict[str, float]) -> tuple[float, dict[str, Any]]:
    """``train``'s score and checkpoint at step 1 for a fresh ``member`` (a stand-in Member)."""
    reports: list[tuple[float, dict[str, Any]]] = []
    keep = lambda step, score, checkpoint: reports.append((score, checkpoint()))  # noqa: E731
    gan.train(stub_member(member, params, keep))
    [report] = reports
    return report


def test_train_batch_starts_from_the_serial_weights_and_scores_them_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gan, "UPDATES", 0)  # step 1 then reports the initial weights
    members = (0, 5, 2)
    reports: list[tuple[torch.Tensor, dict[str, Any]]] = []
    batch = stub_batch(
        members, PARAMS, lambda step, scores, state: reports.append((scores, state())), budget=1
    )
    gan.train_batch(batch)
    [(scores, state)] = reports
    assert scores.shape == (len(members),) and scores.dtype == torch.float64
    for slot, (member, params) in enumerate(zip(members, PARAMS, strict=True)):
        score, saved = _serial_first_step(member, params)
        for name, value in saved["model"].items():
            part, key = name.split(".", 1)
            stacked = state["g" if part == "generator" else "d"][key]
            torch.testing.assert_close(stacked[slot], value, rtol=0, atol=0)
        assert float(scores[slot]) == pytest.approx(score, rel=1e-4)


def test_a_vectorized_run_stores_every_score_and_its_slices_are_ordinary_states() -> None:
    budget = 4
    result = vectorized_run(
        gan.train_batch,
        gan.SPACE,
        population=4,
        budget=budget,
        exploit=gan.exploit(),
        explore=gan.explore(),
        direction=gan.DIRECTION,
    )
    assert all(1.0 <= r.score <= gan.N_MODES for r in result.results())
    best = result.best
    assert best is not None and best.checkpoint is not None
    saved: Any = best.checkpoint.load()
    single = gan.GAN()  # strict loads: the slice is an ordinary state dict
    single.generator.load_state_dict(saved["g"])
    single.discriminator.load_state_dict(saved["d"])
    samples = gan.evaluate(single, gan.VALIDATION_SAMPLES, gan.VALIDATION_SEED)
    assert gan.inception_score(samples) == pytest.approx(best.score, rel=1e-4)
    assert 1.0 <= gan.test_score(result) <= gan.N_MODES  # best_samples reads the slice too

    # train() resumes from the slice: both networks and both Adams' moments, one more step
    assert resume_serially(gan.train, best, budget + 1) == [budget + 1]
    restored_g, restored_d = gan.optimizers(gan.GAN(), best.params)
    gan.load_slice(saved, gan.GAN(), restored_g, restored_d)
    for opt, key in ((restored_g, "opt_g"), (restored_d, "opt_d")):
        for index, entries in saved[key]["state"].items():
            for name, value in entries.items():
                torch.testing.assert_close(opt.state_dict()["state"][index][name], value)


@pytest.mark.parametrize("executor", ["vectorized", "serial"])
def test_command_line_runs_with_the_executor(
    executor: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--population", "2", "--budget", "2", "--interval", "1", "--storage", "memory"]
    assert gan.main(["--executor", executor, *argv]) == 0
    out = capsys.readouterr().out
    assert f"{executor} executor, 1 workers: best validation IS" in out
    assert "held-out IS of the best" in out
