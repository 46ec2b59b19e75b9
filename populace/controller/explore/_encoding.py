"""A search space as numbers a Gaussian process can model, and back.

Real, integer and ordered-choice dimensions become one column each in [0, 1] (log-scaled where
the prior is; integers and ordered choices are rounded back to their nearest value). Unordered
choices have no order to model: they become a one-hot block, chosen by a bandit rather than
optimised. Fixed values take no column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from populace.errors import ConfigurationError
from populace.space import Choice, Fixed, IntUniform, LogUniform, SearchSpace, Uniform
from populace.space._values import scalar_key

__all__ = ["SpaceEncoding"]


def _unit(value: float, low: float, high: float, log: bool) -> float:
    if log:
        value, low, high = math.log(value), math.log(low), math.log(high)
    return (value - low) / (high - low)


def _from_unit(unit: float, low: float, high: float, log: bool) -> float:
    unit = min(max(unit, 0.0), 1.0)
    if log:
        return math.exp(math.log(low) + unit * (math.log(high) - math.log(low)))
    return low + unit * (high - low)


@dataclass(frozen=True)
class SpaceEncoding:
    """Which dimensions of ``space`` are modelled as numbers (``numeric``), which are chosen
    among categories (``categorical``), and which stay as they are (``fixed``)."""

    space: SearchSpace
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @classmethod
    def of(cls, space: SearchSpace) -> SpaceEncoding:
        """The encoding of ``space``.

        Raises:
            ConfigurationError: a dimension type that cannot be encoded, or nothing to model.
        """
        numeric, categorical = [], []
        for name in space.names:
            dimension = space[name]
            if isinstance(dimension, (Uniform, LogUniform, IntUniform)) or (
                isinstance(dimension, Choice) and dimension.ordered
            ):
                numeric.append(name)
            elif isinstance(dimension, Choice):
                categorical.append(name)
            elif not isinstance(dimension, Fixed):
                raise ConfigurationError(
                    f"PB2 cannot model {name}={dimension!r}: only Uniform, LogUniform, IntUniform, "
                    "Choice and Fixed dimensions"
                )
        if not numeric and not categorical:
            raise ConfigurationError(
                f"PB2 has nothing to model: every dimension of {space!r} is Fixed"
            )
        return cls(space, tuple(numeric), tuple(categorical))

    def categories(self, name: str) -> int:
        """How many values the unordered choice ``name`` has."""
        dimension = self.space[name]
        assert isinstance(dimension, Choice)
        return len(dimension.values)

    def category(self, name: str, value: Any) -> int:
        """The index of ``value`` among the unordered choice's values."""
        dimension = self.space[name]
        assert isinstance(dimension, Choice)
        keys = [scalar_key(v) for v in dimension.values]
        return keys.index(scalar_key(value))

    @property
    def width(self) -> int:
        """Columns of an encoded point: one per numeric dimension, a block per choice."""
        return len(self.numeric) + sum(self.categories(n) for n in self.categorical)

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """``params`` as a point: numeric columns in [0, 1], then one-hot blocks."""
        columns = [self._unit(name, params[name]) for name in self.numeric]
        for name in self.categorical:
            block = [0.0] * self.categories(name)
            block[self.category(name, params[name])] = 1.0
            columns.extend(block)
        return np.asarray(columns, dtype=np.float64)

    def decode(
        self, numeric: np.ndarray, chosen: Mapping[str, int], base: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Params from numeric columns in [0, 1] and a category index per unordered choice;
        fixed dimensions keep their value (taken from ``base``, validated)."""
        out: dict[str, Any] = {}
        for name in self.space.names:
            dimension = self.space[name]
            if name in self.numeric:
                out[name] = self._value(name, float(numeric[self.numeric.index(name)]))
            elif name in self.categorical:
                assert isinstance(dimension, Choice)
                out[name] = dimension.values[chosen[name]]
            else:
                out[name] = dimension.validate(name, base[name])
        return out

    def _unit(self, name: str, value: Any) -> float:
        dimension = self.space[name]
        if isinstance(dimension, Choice):
            index = [scalar_key(v) for v in dimension.values].index(scalar_key(value))
            return index / max(len(dimension.values) - 1, 1)
        assert isinstance(dimension, (Uniform, LogUniform, IntUniform))
        log = isinstance(dimension, LogUniform) or getattr(dimension, "log", False)
        return _unit(float(value), dimension.low, dimension.high, log)

    def _value(self, name: str, unit: float) -> Any:
        dimension = self.space[name]
        unit = min(max(unit, 0.0), 1.0)
        if isinstance(dimension, Choice):
            return dimension.values[round(unit * (len(dimension.values) - 1))]
        if isinstance(dimension, IntUniform):
            value = _from_unit(unit, dimension.low, dimension.high, dimension.log)
            return min(max(round(value), dimension.low), dimension.high)
        assert isinstance(dimension, (Uniform, LogUniform))
        return _from_unit(unit, dimension.low, dimension.high, isinstance(dimension, LogUniform))
