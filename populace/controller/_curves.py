"""FIRE PBT's comparison of two training curves: who improves faster from the same level.

A curve is the scores one model reported since it last took over weights (an evaluator's since
its evaluation began), oldest first and higher-is-better, one point per report. Two curves
*overlap* where the one that starts lower first reaches the other's starting value: from there
both models stood at the same level, and the one that climbs further in the same number of
reports improves faster (Dalibard & Jaderberg, 2021; ALGORITHMS.md 4.3). Curves are smoothed by a
centred moving average before the overlap is found (the paper's GP smoothing costs O(n³) per
curve; ALGORITHMS.md 4.7 allows a cheaper one), and comparisons are cached by curve values, so
a ready point that compares the same curves again pays nothing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CurveComparison", "compare_curves"]

SMOOTHING = 5
"""Points of the centred moving average that smooths a curve before it is aligned."""
SHIFTS = 10
"""Offsets tried when a curve lies wholly above the other (see :func:`_best_score_difference`)."""


@dataclass(frozen=True)
class CurveComparison:
    """How curve ``a`` compares with curve ``b``.

    Attributes:
        overlap: Reports both curves share from the same level (0: they never meet).
        difference: Best-score difference: ``a``'s best over the shared stretch minus ``b``'s
            (positive: ``a`` climbed higher from the same level).
        p_value: One-sided binomial test that ``a`` lies above ``b`` more often than chance
            over the shared stretch; 0 when ``a`` lies wholly above, 2 ("never") when wholly
            below and they never meet.
    """

    overlap: int
    difference: float
    p_value: float


def compare_curves(a: tuple[float, ...], b: tuple[float, ...]) -> CurveComparison:
    """Compare curve ``a`` with curve ``b`` (each at least one point, higher is better)."""
    return _compare(tuple(map(float, a)), tuple(map(float, b)))


@functools.lru_cache(maxsize=4096)
def _compare(a: tuple[float, ...], b: tuple[float, ...]) -> CurveComparison:
    raw_a, raw_b = np.asarray(a), np.asarray(b)
    smooth_a, smooth_b = _smooth(raw_a), _smooth(raw_b)
    aligned = _align(smooth_a, smooth_b)
    difference = _best_score_difference(raw_a, raw_b, smooth_a, smooth_b, aligned)
    if aligned is not None:
        start_a, start_b, length = aligned
        above = smooth_a[start_a : start_a + length] > smooth_b[start_b : start_b + length]
        return CurveComparison(length, difference, _binomial_p(int(above.sum()), length))
    if smooth_a.min() > smooth_b.max():
        return CurveComparison(0, difference, 0.0)
    if smooth_a.max() < smooth_b.min():
        return CurveComparison(0, difference, 2.0)
    # They cross without either reaching the other's start: compare them from their starts.
    length = min(len(smooth_a), len(smooth_b))
    above = smooth_a[:length] > smooth_b[:length]
    return CurveComparison(0, difference, _binomial_p(int(above.sum()), length))


def _binomial_p(wins: int, trials: int) -> float:
    """P(X >= wins) for X ~ Binomial(trials, 1/2): the one-sided test that ``a`` is above more
    often than a coin would put it (exact; curves are short)."""
    return sum(math.comb(trials, k) for k in range(max(wins, 0), trials + 1)) / 2**trials


def _smooth(curve: np.ndarray) -> np.ndarray:
    """A centred moving average of up to :data:`SMOOTHING` points (fewer at the ends)."""
    if len(curve) < 3:
        return curve
    half = min(SMOOTHING, len(curve)) // 2
    padded = np.cumsum(np.concatenate(([0.0], curve)))
    low = np.clip(np.arange(len(curve)) - half, 0, len(curve))
    high = np.clip(np.arange(len(curve)) + half + 1, 0, len(curve))
    return (padded[high] - padded[low]) / (high - low)


def _align(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int] | None:
    """``(start in a, start in b, length)`` of the stretch both share from the same level, or
    None if the curve that starts lower never reaches the other's start."""
    if a[0] <= b[0]:
        reached = np.flatnonzero(a >= b[0])
        if not len(reached):
            return None
        start = int(reached[0])
        return start, 0, min(len(a) - start, len(b))
    reached = np.flatnonzero(b >= a[0])
    if not len(reached):
        return None
    start = int(reached[0])
    return 0, start, min(len(a), len(b) - start)


def _best_score_difference(
    raw_a: np.ndarray,
    raw_b: np.ndarray,
    smooth_a: np.ndarray,
    smooth_b: np.ndarray,
    aligned: tuple[int, int, int] | None,
) -> float:
    """``a``'s best raw score over the shared stretch minus ``b``'s.

    Without a shared stretch: 0 when ``a`` starts lower (it never caught up), and when ``a``
    starts higher, the best difference over :data:`SHIFTS` downward shifts of ``a`` that make
    the curves meet (how much faster ``a`` climbs, at a level ``b`` reached), never below 0.
    """
    if aligned is not None:
        start_a, start_b, length = aligned
        return float(
            raw_a[start_a : start_a + length].max() - raw_b[start_b : start_b + length].max()
        )
    if smooth_a[0] <= smooth_b[0]:
        return 0.0
    best = 0.0
    for shift in np.linspace(0.0, smooth_a[0] - smooth_b[0], SHIFTS + 1)[1:]:
        meet = _align(smooth_a - shift, smooth_b)
        if meet is not None:
            start_a, start_b, length = meet
            gain = (raw_a[start_a : start_a + length] - shift).max()
            best = max(best, float(gain - raw_b[start_b : start_b + length].max()))
    return best
