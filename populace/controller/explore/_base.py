"""The contract of explore strategies."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from populace.controller._strategy import Strategy
from populace.errors import ConfigurationError
from populace.space import SearchSpace

__all__ = ["BaseExplore", "check_factors", "check_probability"]


class BaseExplore(Strategy, abc.ABC):
    """Turns the hyperparameters a member copied into new ones (the contract is checked by
    :class:`populace.testing.ExploreSuite` against every strategy).

    ``explore`` is pure: it draws randomness only from ``rng`` and returns a new dict with every
    name of ``space``; each value stays inside its dimension's bounds and type, which the
    dimensions themselves guarantee.
    """

    kind: ClassVar[str] = "explore"

    @abc.abstractmethod
    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Return explored hyperparameters."""


def check_factors(factors: Sequence[float]) -> tuple[float, ...]:
    """Validate perturbation factors: at least one, all positive, not all equal to 1."""
    values = tuple(float(f) for f in factors)
    if not values or any(not np.isfinite(f) or f <= 0 for f in values) or set(values) == {1.0}:
        raise ConfigurationError(
            f"perturbation factors must be positive, finite and not all 1, got {list(factors)}"
        )
    return values


def check_probability(name: str, value: float) -> float:
    """Validate a probability."""
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{name} must be in [0, 1], got {value}")
    return float(value)
