"""The contract of explore strategies."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from populace.controller._snapshot import PopulationSnapshot, ReadyRecord
from populace.controller._strategy import Strategy
from populace.errors import ConfigurationError
from populace.space import SearchSpace

__all__ = ["BaseExplore", "ExploreContext", "check_factors", "check_probability"]


@dataclass(frozen=True)
class ExploreContext:
    """What a model-based explore strategy may read at a ready point (PB2): the population's
    ready records of the last ``lookback`` intervals and the record the member restarts from.

    Attributes:
        snapshot: The snapshot of the decision; its records reach ``lookback`` intervals back.
        member: The member deciding.
        step: The ready point being decided.
        interval: Steps between ready points.
        maximize: Whether a higher score is better.
        base: The record the member restarts from: the parent's it copies, or its own.
    """

    snapshot: PopulationSnapshot
    member: int
    step: int
    interval: int
    maximize: bool
    base: ReadyRecord


class BaseExplore(Strategy, abc.ABC):
    """Turns the hyperparameters a member copied into new ones (the contract is checked by
    :class:`populace.testing.ExploreSuite` against every strategy).

    ``explore`` (and ``explore_in``, which may also read the population's recent ready records)
    is pure: it draws randomness only from ``rng`` and returns a new dict with every name of
    ``space``; each value stays inside its dimension's bounds and type, which the
    dimensions themselves guarantee.
    """

    kind: ClassVar[str] = "explore"

    @property
    def lookback(self) -> int:
        """How many intervals of past ready records :meth:`explore_in` reads (0: none)."""
        return 0

    @abc.abstractmethod
    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Return explored hyperparameters."""

    def check_space(self, space: SearchSpace) -> None:
        """Raise :class:`~populace.errors.ConfigurationError` if this strategy cannot explore
        ``space`` (checked when the controller is built, before anything is stored)."""

    def explore_in(
        self,
        params: Mapping[str, Any],
        space: SearchSpace,
        rng: np.random.Generator,
        context: ExploreContext,
    ) -> dict[str, Any]:
        """Explore with the population's history in view; what the controller calls. A strategy
        that models the history (PB2) overrides it; the others explore ``params`` alone."""
        return self.explore(params, space, rng)


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
