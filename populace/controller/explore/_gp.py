"""A Gaussian process over (time, point) whose old observations fade: PB2's model.

The kernel is the time-varying squared exponential of PB2 (Bogunovic et al., 2016)::

    k((t, x), (t', x')) = exp(-|x - x'|^2 / lengthscale) * (1 - epsilon) ** (|t - t'| / 2)

on standardised targets (variance 1). Its two hyperparameters are chosen by marginal likelihood
over a small grid, on the latest observations, rather than by gradient ascent: the fit runs at a
ready point, on the training path, and must cost a bounded few milliseconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["EPSILONS", "LENGTHSCALES", "TimeVaryingGP"]

LENGTHSCALES = (0.05, 0.2, 1.0)
EPSILONS = (0.01, 0.1, 0.5)  # PB2 clamps epsilon to at most 0.5
SELECTION_ROWS = 64
NOISE = 1e-2  # observation noise on standardised targets, plus jitter for duplicate rows


def _distances(
    t: np.ndarray, x: np.ndarray, t2: np.ndarray, x2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances between the rows of ``x`` and ``x2``, and between their times."""
    squared = np.sum(x**2, axis=1)[:, None] + np.sum(x2**2, axis=1)[None, :] - 2.0 * x @ x2.T
    return squared.clip(min=0.0), np.abs(t[:, None] - t2[None, :])


def _kernel(distances: tuple[np.ndarray, np.ndarray], lengthscale: float, eps: float) -> np.ndarray:
    squared, elapsed = distances
    return np.exp(-squared / lengthscale) * (1.0 - eps) ** (elapsed / 2.0)


@dataclass(frozen=True)
class TimeVaryingGP:
    """A fitted process: its observations, hyperparameters and the Cholesky factor of their
    covariance."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lengthscale: float
    epsilon: float
    factor: tuple[np.ndarray, bool]
    alpha: np.ndarray

    @classmethod
    def fit(cls, t: np.ndarray, x: np.ndarray, y: np.ndarray) -> TimeVaryingGP:
        """Fit to observations ``y`` at times ``t`` and points ``x`` (rows), with the
        hyperparameters of highest marginal likelihood on the grid, judged on the latest
        :data:`SELECTION_ROWS` observations (the grid costs nine factorisations: on them only,
        it costs little)."""
        latest = np.argsort(-t, kind="stable")[:SELECTION_ROWS]
        ts, xs, ys = t[latest], x[latest], y[latest]
        distances = _distances(ts, xs, ts, xs)
        best: tuple[float, float, float] | None = None
        for lengthscale, eps in itertools.product(LENGTHSCALES, EPSILONS):
            gp = cls._with(ts, xs, ys, lengthscale, eps, distances)
            lower = np.diag(gp.factor[0])
            likelihood = -0.5 * float(ys @ gp.alpha) - float(np.sum(np.log(lower)))
            if best is None or likelihood > best[0]:
                best = (likelihood, lengthscale, eps)
        assert best is not None
        return cls._with(t, x, y, best[1], best[2])

    @classmethod
    def _with(
        cls,
        t: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        lengthscale: float,
        eps: float,
        distances: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> TimeVaryingGP:
        distances = _distances(t, x, t, x) if distances is None else distances
        covariance = _kernel(distances, lengthscale, eps) + NOISE * np.eye(len(y))
        # scipy.linalg on first use: importing it costs 0.1 s, which `import populace` (every
        # worker's start) need not pay for a strategy it may never use.
        from scipy.linalg import cho_factor, cho_solve

        factor = cho_factor(covariance, lower=True)
        return cls(t, x, y, lengthscale, eps, factor, cho_solve(factor, y))

    def with_points(self, t: np.ndarray, x: np.ndarray) -> TimeVaryingGP:
        """The same process with more observations at ``(t, x)`` (their values do not matter to
        the variance, which is all it is used for: PB2's pending points)."""
        if not len(t):
            return self
        return self._with(
            np.concatenate([self.t, t]),
            np.vstack([self.x, x]),
            np.concatenate([self.y, np.zeros(len(t))]),
            self.lengthscale,
            self.epsilon,
        )

    def mean(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Posterior mean at each row of ``x`` (times ``t``)."""
        cross = _kernel(_distances(t, x, self.t, self.x), self.lengthscale, self.epsilon)
        return cross @ self.alpha

    def variance(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Posterior variance at each row of ``x`` (times ``t``)."""
        cross = _kernel(_distances(self.t, self.x, t, x), self.lengthscale, self.epsilon)
        from scipy.linalg import solve_triangular  # on first use: see _with

        solved = solve_triangular(self.factor[0], cross, lower=True)
        return np.clip(1.0 - np.sum(solved**2, axis=0), 1e-12, None)
