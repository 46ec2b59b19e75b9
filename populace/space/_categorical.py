"""Categorical dimensions: Choice among listed values, and Fixed, a single value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from populace.errors import SearchSpaceError
from populace.space._base import BaseDimension
from populace.space._values import Value, as_scalar, scalar_key


@dataclass(frozen=True, repr=False, eq=False)
class Choice(BaseDimension[Value]):
    """One of a list of unique JSON scalars, drawn uniformly.

    Values are told apart by type as well as value, so ``1``, ``1.0`` and ``True`` are three
    different choices. Perturbing an ``ordered`` choice moves to the neighbouring value (up the
    list for ``factor > 1``), reflecting at the ends; an unordered choice has no neighbours, so
    perturbing it resamples from the prior.
    """

    values: Sequence[Value]  # a list or tuple, stored as a tuple
    ordered: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.values, (list, tuple)) or not self.values:
            raise SearchSpaceError(f"Choice needs a non-empty list of values, got {self.values!r}")
        values = tuple(as_scalar("Choice value", value) for value in self.values)
        seen: set[tuple[type, Value]] = set()
        for value in values:
            if scalar_key(value) in seen:
                raise SearchSpaceError(f"Choice values must be unique, got {value!r} twice")
            seen.add(scalar_key(value))
        if not isinstance(self.ordered, bool):
            raise SearchSpaceError(f"Choice ordered must be a bool, got {self.ordered!r}")
        object.__setattr__(self, "values", values)

    def sample(self, rng: np.random.Generator) -> Value:
        """Draw one of the values uniformly."""
        return self.values[int(rng.integers(len(self.values)))]

    def _perturb(self, value: Value, rng: np.random.Generator, factor: float) -> Value:
        if not self.ordered:
            return self.sample(rng)
        if len(self.values) == 1:
            return value
        step = 1 if factor > 1 else -1
        index = self._keys().index(scalar_key(value)) + step
        if not 0 <= index < len(self.values):
            index -= 2 * step  # reflect at the ends of the list
        return self.values[index]

    def validate(self, name: str, value: object) -> Value:
        """Return the matching value; raise SearchSpaceError if value is not one of them."""
        try:
            key = scalar_key(as_scalar(name, value))
        except SearchSpaceError:
            key = None
        if key not in self._keys():
            raise SearchSpaceError(f"{name}: {value!r} is not one of {self!r}")
        return self.values[self._keys().index(key)]

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": "Choice", "values": [...], "ordered": ...}``."""
        return {"type": "Choice", "values": list(self.values), "ordered": self.ordered}

    def _keys(self) -> tuple[tuple[type, Value], ...]:
        return tuple(scalar_key(value) for value in self.values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Choice) or type(other) is not type(self):
            return NotImplemented
        return (self._keys(), self.ordered) == (other._keys(), other.ordered)

    def __hash__(self) -> int:
        return hash((self._keys(), self.ordered))

    def __repr__(self) -> str:
        order = ", ordered=True" if self.ordered else ""
        return f"Choice({list(self.values)!r}{order})"


@dataclass(frozen=True, repr=False, eq=False)
class Fixed(BaseDimension[Value]):
    """A single JSON scalar that sampling and exploring leave as it is.

    Declaring it keeps the value in the space, so it is validated, stored and shown with the
    others.
    """

    value: Value

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", as_scalar("Fixed value", self.value))

    def sample(self, rng: np.random.Generator) -> Value:
        """Return the value."""
        return self.value

    def _perturb(self, value: Value, rng: np.random.Generator, factor: float) -> Value:
        return self.value

    def validate(self, name: str, value: object) -> Value:
        """Return the value; raise SearchSpaceError if value differs from it (or in type)."""
        try:
            matches = scalar_key(as_scalar(name, value)) == scalar_key(self.value)
        except SearchSpaceError:
            matches = False
        if not matches:
            raise SearchSpaceError(f"{name}: {value!r} differs from {self!r}")
        return self.value

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": "Fixed", "value": ...}``."""
        return {"type": "Fixed", "value": self.value}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fixed) or type(other) is not type(self):
            return NotImplemented
        return scalar_key(self.value) == scalar_key(other.value)

    def __hash__(self) -> int:
        return hash(scalar_key(self.value))

    def __repr__(self) -> str:
        return f"Fixed({self.value!r})"
