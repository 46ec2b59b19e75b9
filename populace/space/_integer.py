"""Integer dimension: IntUniform, with both bounds inclusive, on a linear or log scale."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from populace.errors import SearchSpaceError
from populace.space._base import BaseDimension
from populace.space._continuous import LogUniform, Uniform
from populace.space._values import plain_int

_LIMIT = 2**53  # beyond this, float steps can no longer land on every integer


@dataclass(frozen=True, repr=False)
class IntUniform(BaseDimension[int]):
    """Integers drawn uniformly from [low, high], both bounds inclusive, or log-uniformly.

    Perturbing makes the continuous move of :class:`Uniform` (or, with ``log=True``, of
    :class:`LogUniform`), rounds it, and steps by one in the move's direction if rounding gave the
    value back. So the value always changes: 1 becomes 2 with factor 1.2, 2 becomes 1 with 0.8,
    0 moves, and a value at ``high`` moves down even with a factor above 1.
    """

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        low, high = plain_int(self.low), plain_int(self.high)
        if low is None or high is None or not low < high:
            raise SearchSpaceError(
                f"IntUniform needs integers low < high, got low={self.low!r}, high={self.high!r}"
            )
        if max(abs(low), abs(high)) > _LIMIT:
            raise SearchSpaceError(f"IntUniform bounds must lie within ±2**53, got {low}, {high}")
        if not isinstance(self.log, bool):
            raise SearchSpaceError(f"IntUniform log must be a bool, got {self.log!r}")
        if self.log and low < 1:
            raise SearchSpaceError(f"IntUniform with log=True needs low >= 1, got low={low}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator) -> int:
        """Draw uniformly from [low, high], or floor(exp(u)) with u on [log low, log(high + 1))."""
        if not self.log:
            return int(rng.integers(self.low, self.high, endpoint=True))
        drawn = math.floor(math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1))))
        return min(max(drawn, self.low), self.high)

    def _perturb(self, value: int, rng: np.random.Generator, factor: float) -> int:
        continuous = LogUniform if self.log else Uniform
        moved = continuous(self.low, self.high)._perturb(float(value), rng, factor)
        rounded = min(max(round(moved), self.low), self.high)
        if rounded != value:
            return rounded
        upward = value < self.high if factor > 1 else value == self.low
        return value + 1 if upward else value - 1

    def validate(self, name: str, value: object) -> int:
        """Return value as an int inside [low, high]; raise SearchSpaceError otherwise."""
        number = plain_int(value)
        if number is None:
            raise SearchSpaceError(f"{name}: expected an int for {self!r}, got {value!r}")
        if not self.low <= number <= self.high:
            raise SearchSpaceError(f"{name}: {value!r} is outside {self!r}")
        return number

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": "IntUniform", "low": ..., "high": ..., "log": ...}``."""
        return {"type": "IntUniform", "low": self.low, "high": self.high, "log": self.log}

    def __repr__(self) -> str:
        scale = ", log=True" if self.log else ""
        return f"IntUniform({self.low}, {self.high}{scale})"
