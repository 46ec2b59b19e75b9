"""The greediness toys (toy_plain.py, toy_deceptive.py): their dynamics, computed with the toys'
own functions, and populace runs of each."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

import populace as pop

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
toy = importlib.import_module("_greedy_toy")
toy_plain = importlib.import_module("toy_plain")
toy_deceptive = importlib.import_module("toy_deceptive")

N = 50  # intervals of the full settings: 1000 steps, 20 per interval
GREEDY = [toy.H_LOW] * N


def test_the_tasks_follow_the_re_evaluation_settings() -> None:
    for task in (toy_plain, toy_deceptive):
        assert task.SETTINGS == {"population": 22, "budget": 1000, "interval": 20}
        assert task.DIRECTION == "maximize"
        assert task.QUICK["budget"] <= 100
        assert callable(task.train) and callable(task.exploit) and callable(task.test_score)


def test_plain_q_rises_faster_with_lower_h_at_every_step() -> None:
    curves = np.array([toy.simulate([h] * N, deceptive=False) for h in (1e-4, 0.3, 0.6, 0.9, 1.1)])
    assert np.all(np.diff(curves, axis=0) < 0)  # each lower h is ahead at every step
    assert np.all(np.diff(curves, axis=1) > 0)  # and Q rises all along
    # the scale moves Q meaningfully: from Q(0.9) = 0.39 to within 0.02 of the optimum 1.2
    assert curves[:, 0] == pytest.approx(0.39, abs=0.01)
    assert np.all(curves[:, -1] > 1.175)
    assert 1.2 - curves[0, -1] < 1e-3 and 1.2 - curves[-1, -1] > 0.02


def test_plain_greedy_schedule_beats_the_decay_and_starting_near_one() -> None:
    greedy = toy.simulate(GREEDY, deceptive=False)[-1]
    assert greedy > toy.simulate(toy.linear_schedule(), deceptive=False)[-1]
    assert greedy > toy.simulate([1.0] * N, deceptive=False)[-1] + 0.01
    assert toy.best_fixed(deceptive=False)[0] == toy.H_LOW


def test_the_target_decays_linearly_from_one_to_zero() -> None:
    assert [toy.target(k, 20, 1000) for k in (0, 1, 25, 49, 50)] == pytest.approx(
        [1.0, 0.98, 0.5, 0.02, 0.0]
    )
    assert toy.penalty([1.0, 0.5], 20, 1000) == pytest.approx(0.2 * 0.48)
    assert toy.penalty(toy.linear_schedule(), 20, 1000) == pytest.approx(0.0, abs=1e-12)


def test_deceptive_greedy_leads_early_then_ends_worse_than_the_linear_decay() -> None:
    greedy = toy.simulate(GREEDY, deceptive=True)
    linear = toy.simulate(toy.linear_schedule(), deceptive=True)
    assert greedy[59] > linear[59]  # greedy is ahead after 3 intervals: PBT would copy it
    assert greedy[-1] < linear[-1] - 0.3  # and far behind at the end
    assert greedy[-1] == greedy[-21]  # its coefficient has fallen to 0: θ no longer moves
    # the decay pays no penalty, so it trains exactly as on the plain toy
    assert linear == pytest.approx(toy.simulate(toy.linear_schedule(), deceptive=False))


def test_deceptive_penalty_lasts_a_greedy_start_is_never_made_up() -> None:
    linear = toy.linear_schedule()
    late = toy.simulate([toy.H_LOW] * 5 + linear[5:], deceptive=True)[-1]
    assert late < toy.simulate(linear, deceptive=True)[-1] - 0.05
    h, fixed = toy.best_fixed(deceptive=True)
    assert 0.3 < h < 1.0 and fixed < toy.simulate(linear, deceptive=True)[-1] - 0.05


def test_members_start_near_one_and_explore_the_whole_range() -> None:
    h = toy.SPACE["h"]
    rng = np.random.default_rng(0)
    starts = [h.sample(rng) for _ in range(200)]
    assert all(0.9 <= x <= 1.1 for x in starts)
    fresh = [h.resample(rng) for _ in range(200)]
    assert min(fresh) < 0.1 and max(fresh) > 1.0
    assert h.perturb(toy.H_LOW, rng, 0.8) == toy.H_LOW  # perturbing stops at the bound
    # declared as the plain Uniform it behaves as once created, so populace's tools read it
    declared = pop.SearchSpace.from_dict(toy.SPACE.to_dict())
    assert declared == pop.SearchSpace(h=pop.Uniform(toy.H_LOW, toy.H_HIGH))


def _run(task: object, **settings: int) -> pop.Population:
    return pop.run(
        task.train,  # type: ignore[attr-defined]
        task.SPACE,  # type: ignore[attr-defined]
        **settings,
        exploit=task.exploit(),  # type: ignore[attr-defined]
        direction=task.DIRECTION,  # type: ignore[attr-defined]
        storage="memory",
        workers=1,
        seed=0,
        progress=False,
    )


@pytest.mark.parametrize("task", [toy_plain, toy_deceptive], ids=["plain", "deceptive"])
def test_a_quick_run_finishes_with_a_best_member(task: object) -> None:
    settings = task.QUICK  # type: ignore[attr-defined]
    result = _run(task, **settings)
    members = result.members()
    assert len(members) == settings["population"]
    assert all(m.step == settings["budget"] for m in members)
    best = result.best
    assert best is not None and best.checkpoint is not None
    assert task.test_score(result) == pytest.approx(best.score)  # type: ignore[attr-defined]
    steps = sorted({r.step for r in result.results() if r.member == best.id})
    assert steps[:2] == [toy.REPORT_EVERY, 2 * toy.REPORT_EVERY]  # dense curves


@pytest.mark.parametrize("deceptive", [False, True], ids=["plain", "deceptive"])
def test_the_h_history_travels_with_the_weights(deceptive: bool) -> None:
    task = toy_deceptive if deceptive else toy_plain
    result = _run(task, population=8, budget=200, interval=20)
    assert sum(d.decision.kind == "exploit" for d in result.decisions()) > 0
    for member in result.members():
        assert member.checkpoint is not None
        history = member.checkpoint.load()["history"]
        # one h per interval, the lineage's: copied with θ at each exploit, never reset
        assert history == [member.schedule.params_at(k * 20 + 1)["h"] for k in range(10)]
        replayed = toy.simulate(history, deceptive, interval=20, budget=200)[-1]
        assert replayed == pytest.approx(member.score, abs=1e-12)


@pytest.mark.slow
def test_pbt_is_greedy_on_the_deceptive_toy() -> None:
    """PBT copies the members that lower h first, and pays for it: it ends below the best
    constant h (what the toy is for: a non-greedy variant should do better)."""
    result = _run(toy_deceptive, **toy_deceptive.SETTINGS)
    best = result.best
    assert best is not None and best.score is not None
    assert best.score < toy.best_fixed(deceptive=True)[1] - 0.05
