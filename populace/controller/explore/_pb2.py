"""PB2: explore with a time-varying Gaussian-process bandit instead of random steps.

Parker-Holder et al. (2020) keep PBT's exploit and replace its explore: a GP models how the
hyperparameters drive a member's *improvement* over an interval, with old observations fading,
and a member that copied another takes the params of highest upper confidence bound from the
copied model's place. PB2-Mix (2021) adds unordered choices, picked by an EXP3-style bandit.
Here (ALGORITHMS.md 5 and 6.1):

- data: every pair of consecutive ready records of one member in one generation within the last
  ``window`` intervals gives a row: time ``T`` (the later step), the score before ``R``, the
  params, and the improvement per step (sign-adjusted when minimising);
- model: ``T`` and ``R`` scaled to [0, 1] by their range, params by their bounds, improvements
  standardised and clipped to [-2, 2]; the kernel of :mod:`._gp`;
- choice: unordered choices first, each by EXP3 over the improvements its values brought;
  then the numeric params maximising ``mean + kappa * variance`` at the copied model's ``(T, R)``
  (``kappa = sqrt(max(0, c1 log(c2 n)))``, the variance, as in PB2's code), the variance
  counting as observed the params of members that restarted within the last interval (a
  diverse batch, as PB2's pending points);
- too little data (fewer than ``min_rows`` rows): PBT's explore of the copied params (PB2's
  start samples the prior, which did worse on digits_hard at population 4: docs/design.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from populace.controller.explore._base import BaseExplore, ExploreContext
from populace.controller.explore._encoding import SpaceEncoding
from populace.controller.explore._gp import TimeVaryingGP
from populace.controller.explore._strategies import PerturbOrResampleExplore
from populace.errors import ConfigurationError
from populace.space import SearchSpace

__all__ = ["MAX_ROWS", "PB2Explore"]

_START = PerturbOrResampleExplore()
MAX_ROWS = 160
"""The latest observed intervals the model is fitted on: its cost grows with their cube."""
_CANDIDATES = 512  # random points scored, then as many around the best few
_POLISHED = 4
_LOCAL_STEP = 0.05


def _rows(context: ExploreContext, encoding: SpaceEncoding) -> tuple[np.ndarray, ...]:
    """(T, R before, encoded params, improvement per step) of every interval in the window."""
    table = context.snapshot.records
    order = np.lexsort((table.step, table.generation, table.member))
    before, after = order[:-1], order[1:]
    steps = table.step[after] - table.step[before]
    kept = (
        (table.member[before] == table.member[after])
        & (table.generation[before] == table.generation[after])
        & (steps > 0)
    )
    before, after, steps = before[kept], after[kept], steps[kept]
    sign = 1.0 if context.maximize else -1.0
    # A generation trains with one set of params: encode each once.
    encoded: dict[tuple[int, int], np.ndarray] = {}
    for i in after:
        key = (int(table.member[i]), int(table.generation[i]))
        if key not in encoded:
            encoded[key] = encoding.encode(table.params[i])
    x = [encoded[(int(table.member[i]), int(table.generation[i]))] for i in after]
    return (
        table.step[after].astype(np.float64),
        table.score[before],
        np.asarray(x).reshape(-1, encoding.width),
        sign * (table.score[after] - table.score[before]) / steps,
    )


@functools.cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


class PB2Explore(BaseExplore):
    """Population-Based Bandits: explored params chosen by a GP-UCB bandit over the population's
    recent improvements (PB2), with unordered choices chosen by EXP3 (PB2-Mix).

    Args:
        window: Intervals of ready records the model is fitted on (rows: about members x window).
        min_rows: Fewer observed intervals than this, and PBT's explore is used instead.
        c1, c2: The exploration weight ``kappa = sqrt(c1 * log(c2 * rows))`` (PB2's 0.2, 0.4).

    Example:
        >>> import populace as pop
        >>> explore = pop.PB2Explore(window=8)
        >>> pop.Controller(pop.SearchSpace(lr=pop.LogUniform(1e-4, 0.1)), budget=40, interval=4,
        ...                explore=explore).lookback
        8
    """

    def __init__(
        self, window: int = 8, min_rows: int = 4, c1: float = 0.2, c2: float = 0.4
    ) -> None:
        for name, value, least in (("window", window, 1), ("min_rows", min_rows, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigurationError(f"{name} must be an integer >= {least}, got {value!r}")
        for name, number in (("c1", c1), ("c2", c2)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 0:
                raise ConfigurationError(f"{name} must be a number > 0, got {number!r}")
        self.window = window
        self.min_rows = min_rows
        self.c1 = float(c1)
        self.c2 = float(c2)

    @property
    def lookback(self) -> int:
        return self.window

    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Without enough history to model: PBT's explore of the copied params (perturbed, or
        resampled with probability 0.25), so that PB2 starts as PBT does."""
        SpaceEncoding.of(space)
        return _START.explore(params, space, rng)

    def check_space(self, space: SearchSpace) -> None:
        SpaceEncoding.of(space)

    def explore_in(
        self,
        params: Mapping[str, Any],
        space: SearchSpace,
        rng: np.random.Generator,
        context: ExploreContext,
    ) -> dict[str, Any]:
        encoding = SpaceEncoding.of(space)
        t, r, x, y = _rows(context, encoding)
        latest = np.argsort(-t, kind="stable")[:MAX_ROWS]
        t, r, x, y = t[latest], r[latest], x[latest], y[latest]
        if len(y) < self.min_rows:
            return self.explore(params, space, rng)
        chosen = {name: self._category(name, encoding, x, y, rng) for name in encoding.categorical}
        # One BLAS thread: on matrices this small, threads spinning for a few cores make the
        # slowest decisions ten times slower than the median (benchmarks/pb2.py).
        with _threadpools().limit(limits=1, user_api="blas"):
            numeric = self._numeric(encoding, t, r, x, y, chosen, context, rng)
        return encoding.decode(numeric, chosen, params)

    def _category(
        self,
        name: str,
        encoding: SpaceEncoding,
        x: np.ndarray,
        y: np.ndarray,
        rng: np.random.Generator,
    ) -> int:
        """EXP3 over the values of one unordered choice: gains are the improvements each value
        brought (scaled to [0, 1]), weighted by how rarely it was played."""
        count = encoding.categories(name)
        offset = len(encoding.numeric) + sum(
            encoding.categories(n) for n in encoding.categorical[: encoding.categorical.index(name)]
        )
        played = np.argmax(x[:, offset : offset + count], axis=1)
        spread = y.std()
        gains = np.clip((y - y.mean()) / spread if spread > 0 else np.zeros_like(y), -2, 2)
        gains = (gains + 2.0) / 4.0
        frequency = np.bincount(played, minlength=count) / len(y)
        total = np.bincount(played, weights=gains, minlength=count)
        estimated = np.divide(total, frequency, out=np.zeros(count), where=frequency > 0)
        gamma = min(1.0, math.sqrt(count * math.log(max(count, 2)) / ((math.e - 1) * len(y))))
        weights = np.exp(gamma * (estimated - estimated.max()) / count)
        probabilities = (1 - gamma) * weights / weights.sum() + gamma / count
        return int(rng.choice(count, p=probabilities / probabilities.sum()))

    def _numeric(
        self,
        encoding: SpaceEncoding,
        t: np.ndarray,
        r: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        chosen: Mapping[str, int],
        context: ExploreContext,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The numeric columns of highest UCB at the copied model's (T, R), in [0, 1]."""
        dimensions = len(encoding.numeric)
        if dimensions == 0:
            return np.zeros(0)
        base = context.base
        t_low, t_high = float(min(t.min(), base.step)), float(max(t.max(), base.step))
        r_low, r_high = float(min(r.min(), base.score)), float(max(r.max(), base.score))
        times = _scale(t, t_low, t_high)
        spread = y.std()
        targets = np.clip((y - y.mean()) / spread if spread > 0 else np.zeros_like(y), -2, 2)
        features = np.column_stack([_scale(r, r_low, r_high), x])
        gp = TimeVaryingGP.fit(times, features, targets)
        now = float(_scale(np.asarray([float(base.step)]), t_low, t_high)[0])
        fixed_r = float(_scale(np.asarray([base.score]), r_low, r_high)[0])
        onehot = np.concatenate(
            [np.eye(encoding.categories(n))[chosen[n]] for n in encoding.categorical]
            or [np.zeros(0)]
        )
        pending = self._pending(context, encoding, fixed_r)
        uncertain = gp.with_points(np.full(len(pending), now), pending)
        kappa = math.sqrt(max(0.0, self.c1 * math.log(self.c2 * len(y))))

        def points(h: np.ndarray) -> np.ndarray:
            h = np.atleast_2d(h)
            rows = len(h)
            return np.column_stack([np.full(rows, fixed_r), h, np.tile(onehot, (rows, 1))])

        def negative_ucb(h: np.ndarray) -> np.ndarray:
            at = points(h)
            times_at = np.full(len(at), now)
            return -(gp.mean(times_at, at) + kappa * uncertain.variance(times_at, at))

        # Random points, then as many around the best of them: two vectorised rounds keep the
        # search within a few milliseconds (a gradient polish costs ten times more).
        candidates = rng.random((_CANDIDATES, dimensions))
        scores = negative_ucb(candidates)
        around = candidates[np.argsort(scores)[:_POLISHED]]
        local = around[rng.integers(_POLISHED, size=_CANDIDATES)]
        local = np.clip(local + rng.normal(0.0, _LOCAL_STEP, local.shape), 0.0, 1.0)
        candidates = np.vstack([candidates, local])
        scores = np.concatenate([scores, negative_ucb(local)])
        return candidates[int(np.argmin(scores))]

    @staticmethod
    def _pending(context: ExploreContext, encoding: SpaceEncoding, fixed_r: float) -> np.ndarray:
        """The points of members that restarted with new params within the last interval: the
        batch chosen so far, counted as observed so that this choice goes elsewhere."""
        recent = [
            m
            for m in context.snapshot.members
            if m.id != context.member
            and m.generation > 0
            and m.start_step >= context.step - context.interval
        ]
        rows = [np.concatenate([[fixed_r], encoding.encode(m.params)]) for m in recent]
        return np.asarray(rows).reshape(-1, 1 + encoding.width)
