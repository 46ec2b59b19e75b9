"""Real-valued dimensions: Uniform on a linear scale, LogUniform on a log scale."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from populace.errors import SearchSpaceError
from populace.space._base import BaseDimension
from populace.space._values import finite_float


def _bounds(kind: str, low: object, high: object, *, positive: bool) -> tuple[float, float]:
    """Return the bounds as floats, checking they are finite numbers with low < high."""
    low_f, high_f = finite_float(low), finite_float(high)
    floor = 0.0 if positive else -math.inf
    if low_f is None or high_f is None or not floor < low_f < high_f:
        needs = "0 < low < high" if positive else "finite numbers low < high"
        raise SearchSpaceError(f"{kind} needs {needs}, got low={low!r}, high={high!r}")
    if not math.isfinite(high_f - low_f):
        raise SearchSpaceError(f"{kind} needs a finite range high - low, got {low!r}, {high!r}")
    return low_f, high_f


class _RealDimension(BaseDimension[float]):
    """Shared validation of a closed real interval [low, high]."""

    low: float
    high: float

    def validate(self, name: str, value: object) -> float:
        """Return value as a float inside [low, high]; raise SearchSpaceError otherwise."""
        number = finite_float(value)
        if number is None:
            raise SearchSpaceError(f"{name}: expected a finite number for {self!r}, got {value!r}")
        if not self.low <= number <= self.high:
            raise SearchSpaceError(f"{name}: {value!r} is outside {self!r}")
        return number

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": ..., "low": ..., "high": ...}``."""
        return {"type": type(self).__name__, "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.low!r}, {self.high!r})"


@dataclass(frozen=True, repr=False)
class Uniform(_RealDimension):
    """Floats drawn uniformly from [low, high).

    Perturbing moves v by ``(factor - 1) * max(|v|, 0.1 * (high - low))``: a relative step, with a
    floor of a tenth of the range so that 0 is not absorbing. A move past a bound stops at it: a
    bound is a legitimate value (often the best one), and the other factor moves away from it.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = _bounds("Uniform", self.low, self.high, positive=False)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator) -> float:
        """Draw uniformly from [low, high)."""
        return min(float(rng.uniform(self.low, self.high)), self.high)

    def _perturb(self, value: float, rng: np.random.Generator, factor: float) -> float:
        step = (factor - 1.0) * max(abs(value), 0.1 * (self.high - self.low))
        return min(max(value + step, self.low), self.high)


@dataclass(frozen=True, repr=False)
class LogUniform(_RealDimension):
    """Positive floats whose logarithm is uniform on [log low, log high].

    Perturbing multiplies by the factor (a step in log space), stopping at the bounds.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = _bounds("LogUniform", self.low, self.high, positive=True)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator) -> float:
        """Draw exp(u) with u uniform on [log low, log high)."""
        drawn = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return min(max(drawn, self.low), self.high)

    def _perturb(self, value: float, rng: np.random.Generator, factor: float) -> float:
        return min(max(value * factor, self.low), self.high)
