"""Perturb, resample, both (the paper's default), or nothing (the exploit-only ablation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from populace.controller.explore._base import BaseExplore, check_factors, check_probability
from populace.space import SearchSpace

__all__ = ["NoExplore", "PerturbExplore", "PerturbOrResampleExplore", "ResampleExplore"]


def _perturb(name: str, value: Any, space: SearchSpace, factors: Sequence[float], rng: Any) -> Any:
    factor = factors[int(rng.integers(len(factors)))]
    return space[name].perturb(value, rng, factor)


class PerturbOrResampleExplore(BaseExplore):
    """Resample each hyperparameter with ``resample_probability``, else perturb it.

    The paper's combined rule and the default: perturbation multiplies by a factor drawn
    uniformly from ``factors`` (×0.8 or ×1.2); each dimension applies it in its own scale.
    """

    def __init__(
        self, resample_probability: float = 0.25, factors: Sequence[float] = (0.8, 1.2)
    ) -> None:
        self.resample_probability = check_probability("resample_probability", resample_probability)
        self.factors = check_factors(factors)

    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        explored = {}
        for name in space.names:
            if rng.random() < self.resample_probability:
                explored[name] = space[name].resample(rng)
            else:
                explored[name] = _perturb(name, params[name], space, self.factors, rng)
        return explored


class PerturbExplore(BaseExplore):
    """Every hyperparameter is perturbed by a factor drawn uniformly from ``factors``."""

    def __init__(self, factors: Sequence[float] = (0.8, 1.2)) -> None:
        self.factors = check_factors(factors)

    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        return {
            name: _perturb(name, params[name], space, self.factors, rng) for name in space.names
        }


class ResampleExplore(BaseExplore):
    """Each hyperparameter is redrawn from its prior with ``probability``, else kept."""

    def __init__(self, probability: float = 0.25) -> None:
        self.probability = check_probability("probability", probability)

    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        return {
            name: space[name].resample(rng) if rng.random() < self.probability else params[name]
            for name in space.names
        }


class NoExplore(BaseExplore):
    """Keep the copied hyperparameters unchanged (the exploit-only ablation)."""

    def explore(
        self, params: Mapping[str, Any], space: SearchSpace, rng: np.random.Generator
    ) -> dict[str, Any]:
        return {name: params[name] for name in space.names}
