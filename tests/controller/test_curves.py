"""FIRE PBT's curve comparison: overlap, best-score difference and the binomial test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from populace.controller._curves import _binomial_p, compare_curves


def line(start: float, slope: float, n: int = 20) -> tuple[float, ...]:
    return tuple(start + slope * np.arange(n))


def test_a_curve_that_climbs_faster_from_the_same_level_wins() -> None:
    fast, slow = line(0.0, 0.05), line(0.0, 0.02)
    won = compare_curves(fast, slow)
    assert won.overlap > 10
    assert won.difference == pytest.approx(max(fast[: won.overlap]) - max(slow[-won.overlap :]))
    assert won.difference > 0 and won.p_value < 0.01
    lost = compare_curves(slow, fast)
    assert lost.difference == pytest.approx(-won.difference) and lost.p_value > 0.5


def test_curves_are_aligned_where_the_lower_one_reaches_the_other_start() -> None:
    # b starts at 0.5, which a (from 0, +0.1 per report) reaches at its 6th report: from there
    # a climbs 0.1 per report against b's 0.01, so a improves faster from the same level.
    a, b = line(0.0, 0.1), line(0.5, 0.01)
    compared = compare_curves(a, b)
    assert 12 <= compared.overlap <= 16
    assert compared.difference > 0.5 and compared.p_value < 0.01


def test_curves_that_never_meet() -> None:
    above, below = line(5.0, 0.01), line(0.0, 0.01)
    assert compare_curves(above, below).p_value == 0.0
    never = compare_curves(below, above)
    assert never.overlap == 0 and never.p_value == 2.0 and never.difference == 0.0


def test_a_curve_wholly_above_is_credited_for_climbing_faster_once_shifted_down() -> None:
    steep_above = line(1.0, 0.05)
    flat_below = line(0.0, 0.01)
    assert compare_curves(steep_above, flat_below).difference > 0
    flat_above = line(1.0, 0.0)
    assert compare_curves(flat_above, line(0.0, 0.01)).difference == 0.0


def test_noise_is_smoothed_before_the_curves_are_aligned() -> None:
    rng = np.random.default_rng(0)
    noisy = tuple(np.asarray(line(0.0, 0.05, 40)) + rng.normal(0, 0.02, 40))
    assert compare_curves(noisy, line(0.0, 0.02, 40)).p_value < 0.01


def test_the_binomial_p_value_is_exact() -> None:
    for wins, trials in [(0, 5), (3, 5), (5, 5), (9, 12), (60, 100)]:
        expected = binomtest(wins, trials, 0.5, alternative="greater").pvalue
        assert _binomial_p(wins, trials) == pytest.approx(expected, rel=1e-12)


def test_comparisons_are_cached_by_curve_values() -> None:
    a, b = line(0.0, 0.03), line(0.1, 0.01)
    assert compare_curves(a, b) is compare_curves(list(a), tuple(b))
