"""Each exploit and explore strategy in isolation, on hand-built candidates and params."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from populace.controller import (
    NoExploit,
    NoExplore,
    PerturbExplore,
    PerturbOrResampleExplore,
    ResampleExplore,
    Strategy,
    TournamentExploit,
    TruncationExploit,
    TTestExploit,
)
from populace.controller.exploit import BaseExploit
from populace.controller.exploit._ttest import welch_p_greater
from populace.controller.explore import BaseExplore
from populace.errors import ConfigurationError
from populace.space import Choice, Fixed, IntUniform, LogUniform, SearchSpace, Uniform

from ._helpers import cand, ranked


def rngs(count: int, start: int = 0) -> list[np.random.Generator]:
    return [np.random.default_rng([start, i]) for i in range(count)]


def select_all(strategy: BaseExploit, me_id: int, population: list, count: int = 400) -> Counter:
    """How often each parent (None: no copy) is chosen by ``me_id`` over ``count`` generators."""
    me = next(c for c in population if c.member == me_id)
    return Counter(
        (lambda p: None if p is None else p.member)(strategy.select(me, population, rng)[0])
        for rng in rngs(count)
    )


# =========================================================================== exploit strategies


class TestTruncationExploit:
    @pytest.mark.parametrize(
        ("bottom", "top", "n", "n_bottom", "n_top"),
        [
            (0.25, 0.25, 2, 1, 1),
            (0.25, 0.25, 3, 1, 1),
            (0.25, 0.25, 4, 1, 1),
            (0.25, 0.25, 5, 1, 1),
            (0.25, 0.25, 8, 2, 2),
            (0.25, 0.25, 11, 2, 2),
            (0.25, 0.25, 16, 4, 4),
            (0.2, 0.2, 10, 2, 2),
            (0.2, 0.2, 4, 1, 1),
            (0.5, 0.5, 7, 3, 3),
            (0.5, 0.5, 2, 1, 1),
            (0.1, 0.4, 20, 2, 8),
            (0.45, 0.05, 20, 9, 1),
        ],
    )
    def test_counts(self, bottom: float, top: float, n: int, n_bottom: int, n_top: int) -> None:
        population = ranked(*(cand(m, float(n - m)) for m in range(n)))
        strategy = TruncationExploit(bottom, top)
        for m in range(n):
            chosen = set(select_all(strategy, m, population, count=80 if m >= n - n_bottom else 3))
            expected = set(range(n_top)) if m >= n - n_bottom else {None}
            assert chosen == expected, (m, chosen)

    def test_parent_is_uniform_over_top(self) -> None:
        population = ranked(*(cand(m, float(16 - m)) for m in range(16)))
        counts = select_all(TruncationExploit(), 15, population, count=2000)
        assert set(counts) == {0, 1, 2, 3}
        for parent in range(4):
            assert 400 <= counts[parent] <= 600, counts

    def test_single_member_never_exploits(self) -> None:
        me = cand(0, 1.0)
        parent, reason = TruncationExploit().select(me, ranked(me), np.random.default_rng(0))
        assert parent is None
        assert reason == "only 1 member comparable at step 10"

    def test_top_members_without_checkpoint_are_skipped(self) -> None:
        population = ranked(*(cand(m, float(8 - m), checkpoint=m != 0) for m in range(8)))
        assert set(select_all(TruncationExploit(), 7, population, count=50)) == {1}

    def test_no_top_member_with_checkpoint_means_no_copy(self) -> None:
        population = ranked(*(cand(m, float(8 - m), checkpoint=m > 1) for m in range(8)))
        me = population[-1]
        parent, reason = TruncationExploit().select(me, population, np.random.default_rng(0))
        assert parent is None
        assert reason == (
            "rank 8/8 at step 10 (score 1) is in the bottom 2 but no top member has a checkpoint"
        )

    def test_rank_follows_the_given_order_and_ties_by_id(self) -> None:
        population = ranked(cand(2, 1.0), cand(0, 1.0), cand(1, 1.0), cand(3, 1.0))
        assert [c.member for c in population] == [0, 1, 2, 3]
        assert set(select_all(TruncationExploit(), 3, population, count=20)) == {0}
        assert set(select_all(TruncationExploit(), 2, population, count=5)) == {None}

    def test_reason_when_above_bottom(self) -> None:
        population = ranked(cand(0, 3.0), cand(1, 2.5), cand(2, 1.0), cand(3, 0.5))
        parent, reason = TruncationExploit().select(population[1], population, rngs(1)[0])
        assert parent is None
        assert reason == "rank 2/4 at step 10 (score 2.5) is above the bottom 1"

    def test_counts_are_exact_for_decimal_fractions(self) -> None:
        population = ranked(*(cand(m, float(100 - m)) for m in range(100)))
        strategy = TruncationExploit(bottom=0.29, top=0.29)
        me = population[100 - 29]  # the best of the bottom 29
        parent, _ = strategy.select(me, population, np.random.default_rng(0))
        assert parent is not None
        assert parent.member < 29


class TestTournamentExploit:
    def test_best_member_never_copies(self) -> None:
        population = ranked(*(cand(m, float(5 - m)) for m in range(5)))
        assert select_all(TournamentExploit(), 0, population, count=100) == Counter({None: 100})

    def test_worst_member_copies_a_uniform_opponent(self) -> None:
        population = ranked(*(cand(m, float(5 - m)) for m in range(5)))
        counts = select_all(TournamentExploit(), 4, population, count=2000)
        assert set(counts) == {0, 1, 2, 3}
        for parent in range(4):
            assert 400 <= counts[parent] <= 600, counts

    def test_middle_member_copies_only_better_opponents(self) -> None:
        population = ranked(cand(0, 3.0), cand(1, 2.0), cand(2, 1.0))
        counts = select_all(TournamentExploit(), 1, population, count=2000)
        assert set(counts) == {0, None}
        assert 900 <= counts[0] <= 1100

    def test_tie_goes_to_the_lower_id(self) -> None:
        population = ranked(cand(5, 1.0), cand(2, 1.0))
        assert select_all(TournamentExploit(), 5, population, count=10) == Counter({2: 10})
        assert select_all(TournamentExploit(), 2, population, count=10) == Counter({None: 10})

    def test_opponents_need_a_checkpoint(self) -> None:
        population = ranked(cand(0, 3.0, checkpoint=False), cand(1, 2.0), cand(2, 1.0))
        assert set(select_all(TournamentExploit(), 2, population, count=50)) == {1}

    def test_no_opponent(self) -> None:
        me = cand(1, 0.0)
        population = ranked(cand(0, 3.0, checkpoint=False), me)
        parent, reason = TournamentExploit().select(me, population, np.random.default_rng(1))
        assert parent is None
        assert reason == "no other member with a checkpoint is comparable at step 10"

    def test_own_checkpoint_is_irrelevant(self) -> None:
        population = ranked(cand(0, 3.0), cand(1, 2.0, checkpoint=False))
        assert select_all(TournamentExploit(), 1, population, count=10) == Counter({0: 10})


NOISY_LOW = (0.10, 0.12, 0.09, 0.11, 0.10, 0.13, 0.08, 0.10)
NOISY_HIGH = (0.90, 0.93, 0.88, 0.91, 0.92, 0.89, 0.90, 0.94)


class TestTTestExploit:
    def test_copies_a_significantly_better_member(self) -> None:
        me = cand(1, 0.1, recent=NOISY_LOW)
        other = cand(0, 0.9, recent=NOISY_HIGH)
        parent, reason = TTestExploit().select(me, ranked(me, other), np.random.default_rng(0))
        assert parent == other
        assert reason.startswith("member 0 (score 0.9 at step 10) is better (Welch p=")

    def test_does_not_copy_a_worse_member(self) -> None:
        me = cand(1, 0.9, recent=NOISY_HIGH)
        other = cand(0, 0.1, recent=NOISY_LOW)
        parent, reason = TTestExploit().select(me, ranked(me, other), np.random.default_rng(0))
        assert parent is None
        assert "is not significantly better" in reason

    def test_judges_recent_scores_not_the_ranked_score(self) -> None:
        # the other member ranks higher at this step, but its history is not better
        me = cand(1, 0.1, recent=(0.5, 0.6, 0.4, 0.5))
        other = cand(0, 0.9, recent=(0.4, 0.6, 0.5, 0.5))
        parent, _ = TTestExploit().select(me, ranked(me, other), np.random.default_rng(0))
        assert parent is None

    def test_alpha(self) -> None:
        mine, theirs = (0.0, 1.0, 0.5, 0.2), (0.6, 1.2, 0.9, 0.4)
        p = welch_p_greater(theirs, mine)
        assert 0.05 < p < 0.2
        me, other = cand(1, 0.0, recent=mine), cand(0, 1.0, recent=theirs)
        population = ranked(me, other)
        assert TTestExploit(alpha=0.05).select(me, population, rngs(1)[0])[0] is None
        assert TTestExploit(alpha=0.2).select(me, population, rngs(1)[0])[0] == other
        # one-sided at exactly alpha: copy only when p < alpha
        for alpha, copies in ((p * 1.001, True), (p, False), (p * 0.999, False)):
            parent, _ = TTestExploit(alpha=alpha).select(me, population, rngs(1)[0])
            assert (parent == other) is copies, alpha
            assert (parent is None) is not copies

    def test_too_few_samples(self) -> None:
        me = cand(1, 0.1, recent=(0.1, 0.1, 0.1))
        other = cand(0, 0.9, recent=(0.9, 0.95))
        strategy = TTestExploit(window=5, min_samples=3)
        parent, reason = strategy.select(me, ranked(me, other), np.random.default_rng(0))
        assert parent is None
        assert reason == "too few scores to compare with member 0 (score 0.9 at step 10)"
        assert (
            TTestExploit(window=5, min_samples=2).select(me, ranked(me, other), rngs(1)[0])[0]
            == other
        )

    def test_only_the_last_window_scores_count(self) -> None:
        me = cand(1, 0.5, recent=(0.0,) * 6 + NOISY_LOW[:4])
        other = cand(0, 0.9, recent=(5.0,) * 6 + NOISY_LOW[4:])
        population = ranked(me, other)
        assert TTestExploit(window=4).select(me, population, rngs(1)[0])[0] is None
        assert TTestExploit(window=10).select(me, population, rngs(1)[0])[0] == other

    def test_constant_scores(self) -> None:
        me, better = cand(1, 0.0, recent=(1.0, 1.0, 1.0)), cand(0, 2.0, recent=(2.0, 2.0, 2.0))
        assert TTestExploit().select(me, ranked(me, better), rngs(1)[0])[0] == better
        equal = cand(0, 2.0, recent=(1.0, 1.0, 1.0))
        assert TTestExploit().select(me, ranked(me, equal), rngs(1)[0])[0] is None

    def test_opponent_is_uniform_among_members_with_checkpoint(self) -> None:
        me = cand(3, 0.0, recent=NOISY_LOW)
        population = ranked(
            me,
            cand(0, 1.0, recent=NOISY_HIGH),
            cand(1, 1.0, recent=NOISY_HIGH),
            cand(2, 1.0, recent=NOISY_HIGH, checkpoint=False),
        )
        counts = select_all(TTestExploit(), 3, population, count=2000)
        assert set(counts) == {0, 1}
        assert 900 <= counts[0] <= 1100

    def test_no_opponent(self) -> None:
        me = cand(0, 0.0, recent=NOISY_LOW)
        parent, reason = TTestExploit().select(me, ranked(me), rngs(1)[0])
        assert parent is None
        assert reason == "no other member with a checkpoint is comparable at step 10"

    def test_history(self) -> None:
        assert TTestExploit(window=7).history == 7
        assert TruncationExploit().history == 0
        assert TournamentExploit().history == 0
        assert NoExploit().history == 0


WELCH_CASES = [
    ((1.0, 2.0, 3.0), (1.0, 2.0, 3.0)),
    ((2.0, 3.0, 4.0, 5.0), (1.0, 2.0, 3.0)),
    ((0.1, 0.5), (0.3, 0.2, 0.9, 0.4, 0.7)),
    ((10.0, 10.5, 9.5, 10.2), (0.0, 20.0, 5.0, 15.0)),
    ((1.0, 1.0, 1.0), (0.0, 0.5, 1.0)),  # zero variance on one side only
    ((-3.0, -2.5, -2.9), (-1.0, -1.2, -0.8, -1.1)),
    (tuple(np.linspace(0, 1, 10)), tuple(np.linspace(0.2, 1.5, 7))),
]


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
@pytest.mark.parametrize(("b", "a"), WELCH_CASES)
def test_welch_p_greater_matches_scipy(b: tuple[float, ...], a: tuple[float, ...]) -> None:
    expected = stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue
    assert welch_p_greater(b, a) == pytest.approx(expected, rel=1e-9, abs=1e-12)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(b=st.lists(finite, min_size=2, max_size=12), a=st.lists(finite, min_size=2, max_size=12))
def test_welch_p_greater_matches_scipy_on_random_samples(b: list[float], a: list[float]) -> None:
    if np.var(b, ddof=1) / len(b) + np.var(a, ddof=1) / len(a) < 1e-9:
        # scipy returns nan when both samples are constant; the underflow case is tested below
        return
    p = welch_p_greater(b, a)
    assert 0.0 <= p <= 1.0
    expected = stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue
    assert p == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_welch_p_greater_with_both_constant() -> None:
    assert welch_p_greater([2.0, 2.0], [1.0, 1.0, 1.0]) == 0.0
    assert welch_p_greater([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert welch_p_greater([0.0, 0.0], [1.0, 1.0]) == 1.0


def test_welch_p_greater_with_tiny_variance() -> None:
    b, a = [0.0, 0.0], [0.0, 5e-155]
    expected = stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue
    assert expected == pytest.approx(0.75)
    assert welch_p_greater(b, a) == pytest.approx(expected, abs=1e-3)


def test_ttest_exploit_with_tiny_scores() -> None:
    theirs, mine = (1e-90, 1.1e-90, 1.2e-90, 1.05e-90), (0.0, 1e-92, 0.0, 2e-92)
    expected = stats.ttest_ind(theirs, mine, equal_var=False, alternative="greater").pvalue
    assert expected < 0.05  # scipy: significantly better
    me, other = cand(1, 0.0, recent=mine), cand(0, 1.0, recent=theirs)
    parent, _ = TTestExploit().select(me, ranked(me, other), rngs(1)[0])
    assert parent == other


def test_welch_is_one_sided() -> None:
    b, a = (2.0, 2.5, 3.0, 2.2), (1.0, 1.5, 1.2, 0.9)
    assert welch_p_greater(b, a) < 0.01
    assert welch_p_greater(a, b) > 0.99
    assert welch_p_greater(b, a) + welch_p_greater(a, b) == pytest.approx(1.0)


class TestNoExploit:
    @pytest.mark.parametrize("explore", [False, True])
    def test_never_copies(self, explore: bool) -> None:
        population = ranked(cand(0, 9.0), cand(1, 0.0))
        strategy = NoExploit(explore=explore)
        assert strategy.select(population[1], population, rngs(1)[0]) == (
            None,
            "exploitation is off",
        )
        assert strategy.explores_own is explore

    def test_default_does_not_explore(self) -> None:
        assert NoExploit().explores_own is False
        assert TruncationExploit().explores_own is False


# =========================================================================== explore strategies

EXPLORE_SPACE = SearchSpace(
    lr=LogUniform(1e-4, 1.0),
    x=Uniform(0.0, 10.0),
    n=IntUniform(1, 10),
    bs=Choice([32, 64, 128], ordered=True),
    opt=Choice(["sgd", "adam", "rmsprop", "lamb"]),
    fixed=Fixed("keep"),
)
START = {"lr": 0.01, "x": 5.0, "n": 5, "bs": 64, "opt": "adam", "fixed": "keep"}
DOWN = {"lr": 0.005, "x": 2.5, "n": 2, "bs": 32, "fixed": "keep"}  # factor 0.5 (opt resamples)
UP = {"lr": 0.02, "x": 10.0, "n": 10, "bs": 128, "fixed": "keep"}  # factor 2.0


def without_opt(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "opt"}


class TestPerturbExplore:
    def test_single_factor_moves_every_dimension_its_way(self) -> None:
        for rng in rngs(20):
            down = PerturbExplore(factors=(0.5,)).explore(START, EXPLORE_SPACE, rng)
            up = PerturbExplore(factors=(2.0,)).explore(START, EXPLORE_SPACE, rng)
            assert without_opt(down) == pytest.approx(DOWN)
            assert without_opt(up) == pytest.approx(UP)
            assert list(down) == list(EXPLORE_SPACE.names)
            assert down["opt"] in ("sgd", "adam", "rmsprop", "lamb")

    def test_default_factors_are_chosen_uniformly(self) -> None:
        outcomes = Counter(
            round(PerturbExplore().explore(START, EXPLORE_SPACE, rng)["lr"], 12)
            for rng in rngs(2000)
        )
        assert set(outcomes) == {0.008, 0.012}
        assert 900 <= outcomes[0.008] <= 1100

    def test_types_are_kept(self) -> None:
        out = PerturbExplore().explore(START, EXPLORE_SPACE, rngs(1)[0])
        assert [type(out[k]) for k in EXPLORE_SPACE.names] == [float, float, int, int, str, str]

    def test_input_is_not_modified(self) -> None:
        params = dict(START)
        PerturbExplore().explore(params, EXPLORE_SPACE, rngs(1)[0])
        assert params == START

    def test_factor_per_dimension(self) -> None:
        # each dimension draws its own factor: both directions appear within one call
        space = SearchSpace(**{f"p{i}": LogUniform(1e-3, 1e3) for i in range(12)})
        out = PerturbExplore().explore(dict.fromkeys(space, 1.0), space, rngs(1)[0])
        assert {round(v, 9) for v in out.values()} == {0.8, 1.2}

    def test_a_factor_of_one_keeps_the_value(self) -> None:
        # check_factors refuses only "all 1": a 1 among other factors means "keep this value"
        explore = PerturbExplore(factors=(1.0, 1.2))
        outcomes = Counter()
        for rng in rngs(400):
            out = explore.explore(START, EXPLORE_SPACE, rng)
            assert EXPLORE_SPACE.validate(out) == out
            assert out["bs"] in (64, 128)
            outcomes[round(out["lr"], 12)] += 1
        assert set(outcomes) == {0.01, 0.012}
        assert 150 <= outcomes[0.01] <= 250

    def test_a_factor_of_one_in_perturb_or_resample(self) -> None:
        explore = PerturbOrResampleExplore(resample_probability=0.0, factors=(1.0,) * 3 + (2.0,))
        xs = Counter(explore.explore(START, EXPLORE_SPACE, rng)["x"] for rng in rngs(400))
        assert set(xs) == {5.0, 10.0}
        assert 250 <= xs[5.0] <= 350


class TestResampleExplore:
    def test_probability_zero_keeps_everything(self) -> None:
        for rng in rngs(20):
            assert ResampleExplore(0.0).explore(START, EXPLORE_SPACE, rng) == START

    def test_probability_one_resamples_everything(self) -> None:
        xs = [ResampleExplore(1.0).explore(START, EXPLORE_SPACE, rng)["x"] for rng in rngs(500)]
        assert all(0.0 <= x < 10.0 and x != 5.0 for x in xs)
        assert min(xs) < 0.5 and max(xs) > 9.5
        assert 4.5 < float(np.mean(xs)) < 5.5

    def test_probability_is_per_dimension(self) -> None:
        space = SearchSpace(**{f"p{i}": Uniform(0.0, 1.0) for i in range(10)})
        params = dict.fromkeys(space, 0.5)
        changed = sum(
            v != 0.5
            for rng in rngs(300)
            for v in ResampleExplore(0.3).explore(params, space, rng).values()
        )
        assert 0.25 * 3000 <= changed <= 0.35 * 3000

    def test_kept_values_are_returned_unchanged(self) -> None:
        out = ResampleExplore(0.0).explore({**START, "extra": 1}, EXPLORE_SPACE, rngs(1)[0])
        assert out == START  # names outside the space are dropped


class TestPerturbOrResampleExplore:
    def test_probability_zero_only_perturbs(self) -> None:
        explore = PerturbOrResampleExplore(resample_probability=0.0, factors=(0.5,))
        for rng in rngs(20):
            assert without_opt(explore.explore(START, EXPLORE_SPACE, rng)) == pytest.approx(DOWN)

    def test_probability_one_only_resamples(self) -> None:
        explore = PerturbOrResampleExplore(resample_probability=1.0, factors=(0.5,))
        lrs = [explore.explore(START, EXPLORE_SPACE, rng)["lr"] for rng in rngs(300)]
        assert all(1e-4 <= lr <= 1.0 for lr in lrs)
        assert not any(lr == pytest.approx(0.005) for lr in lrs)
        assert min(lrs) < 3e-4 and max(lrs) > 0.3

    def test_default_resamples_a_quarter(self) -> None:
        explore = PerturbOrResampleExplore()
        lrs = [explore.explore(START, EXPLORE_SPACE, rng)["lr"] for rng in rngs(3000)]
        perturbed = sum(round(lr, 12) in (0.008, 0.012) for lr in lrs)
        assert 0.71 * 3000 <= perturbed <= 0.79 * 3000

    def test_defaults(self) -> None:
        explore = PerturbOrResampleExplore()
        assert explore.resample_probability == 0.25
        assert explore.factors == (0.8, 1.2)
        assert PerturbExplore().factors == (0.8, 1.2)
        assert ResampleExplore().probability == 0.25


class TestNoExplore:
    def test_returns_a_copy_of_the_space_params(self) -> None:
        params = {**START, "extra": 3}
        out = NoExplore().explore(params, EXPLORE_SPACE, rngs(1)[0])
        assert out == START
        assert list(out) == list(EXPLORE_SPACE.names)
        out["x"] = 1.0
        assert params["x"] == 5.0


def test_explore_is_deterministic_given_the_generator() -> None:
    for explore in (PerturbOrResampleExplore(), PerturbExplore(), ResampleExplore(0.5)):
        first = explore.explore(START, EXPLORE_SPACE, np.random.default_rng(42))
        assert first == explore.explore(START, EXPLORE_SPACE, np.random.default_rng(42))


# =========================================================================== configuration

STRATEGIES: list[tuple[Strategy, dict[str, Any]]] = [
    (TruncationExploit(), {"type": "TruncationExploit", "bottom": 0.25, "top": 0.25}),
    (TruncationExploit(0.2, 0.5), {"type": "TruncationExploit", "bottom": 0.2, "top": 0.5}),
    (TournamentExploit(), {"type": "TournamentExploit"}),
    (
        TTestExploit(window=6, alpha=0.1, min_samples=3),
        {"type": "TTestExploit", "window": 6, "alpha": 0.1, "min_samples": 3},
    ),
    (NoExploit(), {"type": "NoExploit", "explore": False}),
    (NoExploit(explore=True), {"type": "NoExploit", "explore": True}),
    (
        PerturbOrResampleExplore(0.5, (0.5, 2)),
        {"type": "PerturbOrResampleExplore", "resample_probability": 0.5, "factors": [0.5, 2.0]},
    ),
    (PerturbExplore([0.9, 1.1]), {"type": "PerturbExplore", "factors": [0.9, 1.1]}),
    (ResampleExplore(1.0), {"type": "ResampleExplore", "probability": 1.0}),
    (NoExplore(), {"type": "NoExplore"}),
]


@pytest.mark.parametrize(("strategy", "expected"), STRATEGIES)
def test_strategy_json_round_trip(strategy: Strategy, expected: dict[str, Any]) -> None:
    data = strategy.to_dict()
    assert data == expected
    restored = Strategy.from_dict(json.loads(json.dumps(data)))
    assert type(restored) is type(strategy)
    assert restored == strategy
    assert hash(restored) == hash(strategy)
    assert restored.to_dict() == expected
    base = BaseExploit if isinstance(strategy, BaseExploit) else BaseExplore
    assert base.from_dict(data) == strategy


def test_strategy_equality_and_repr() -> None:
    assert TruncationExploit(0.2, 0.2) != TruncationExploit(0.2, 0.3)
    assert TruncationExploit() != TournamentExploit()
    assert PerturbExplore((0.8, 1.2)) == PerturbExplore([0.8, 1.2])
    assert repr(TruncationExploit(0.2, 0.3)) == "TruncationExploit(bottom=0.2, top=0.3)"
    assert repr(NoExplore()) == "NoExplore()"


def test_from_dict_rejects_unknown_and_wrong_kind() -> None:
    with pytest.raises(ConfigurationError, match="unknown exploit strategy 'Elite'"):
        BaseExploit.from_dict({"type": "Elite"})
    with pytest.raises(ConfigurationError, match="unknown exploit strategy 'NoExplore'") as info:
        BaseExploit.from_dict({"type": "NoExplore"})
    assert "TournamentExploit" in str(info.value) and "'NoExplore'," not in str(info.value)
    with pytest.raises(ConfigurationError, match="unknown explore strategy 'TTestExploit'"):
        BaseExplore.from_dict({"type": "TTestExploit"})
    with pytest.raises(ConfigurationError, match="None"):
        Strategy.from_dict({"bottom": 0.2})


def test_from_dict_validates_arguments() -> None:
    with pytest.raises(ConfigurationError, match="top"):
        Strategy.from_dict({"type": "TruncationExploit", "top": 0.75})
    with pytest.raises(ConfigurationError, match="factors"):
        Strategy.from_dict({"type": "PerturbExplore", "factors": [1, 1]})


def test_from_dict_unknown_argument_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Strategy.from_dict({"type": "TruncationExploit", "bottom": 0.2, "fraction": 0.2})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TruncationExploit(bottom=0.0), "TruncationExploit bottom must be in \\(0, 0.5\\]"),
        (lambda: TruncationExploit(bottom=-0.1), "bottom"),
        (lambda: TruncationExploit(bottom=0.51), "bottom"),
        (lambda: TruncationExploit(bottom=math.nan), "bottom"),
        (lambda: TruncationExploit(top=0.0), "TruncationExploit top must be in"),
        (lambda: TruncationExploit(top=1.0), "top"),
        (lambda: TTestExploit(window=1, min_samples=2), "window >= min_samples >= 2"),
        (lambda: TTestExploit(window=3, min_samples=4), "window=3, min_samples=4"),
        (lambda: TTestExploit(min_samples=1), "min_samples=1"),
        (lambda: TTestExploit(alpha=0.0), "alpha must be in \\(0, 1\\)"),
        (lambda: TTestExploit(alpha=1.0), "alpha"),
        (lambda: TTestExploit(alpha=-0.5), "alpha"),
        (lambda: PerturbExplore(factors=()), "perturbation factors"),
        (lambda: PerturbExplore(factors=(0.0, 1.2)), "positive"),
        (lambda: PerturbExplore(factors=(-0.8, 1.2)), "positive"),
        (lambda: PerturbExplore(factors=(1.0,)), "not all 1"),
        (lambda: PerturbExplore(factors=(1, 1.0)), "not all 1"),
        (lambda: PerturbExplore(factors=(math.inf, 1.2)), "finite"),
        (lambda: PerturbExplore(factors=(math.nan,)), "finite"),
        (lambda: PerturbOrResampleExplore(factors=(1.0, 1.0)), "not all 1"),
        (lambda: PerturbOrResampleExplore(resample_probability=1.5), "resample_probability"),
        (lambda: PerturbOrResampleExplore(resample_probability=-0.1), "resample_probability"),
        (lambda: ResampleExplore(probability=1.01), "probability must be in \\[0, 1\\]"),
        (lambda: ResampleExplore(probability=-1e-9), "probability"),
        (lambda: ResampleExplore(probability=math.nan), "probability"),
    ],
)
def test_bad_strategy_arguments(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_boundary_arguments_are_accepted() -> None:
    assert TruncationExploit(0.5, 0.5).bottom == 0.5
    assert TTestExploit(window=2, min_samples=2).window == 2
    assert ResampleExplore(0.0).probability == 0.0
    assert ResampleExplore(1.0).probability == 1.0
    assert PerturbExplore((0.5,)).factors == (0.5,)
    assert PerturbExplore((1.0, 2.0)).factors == (1.0, 2.0)
