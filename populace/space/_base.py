"""The contract every search-space dimension follows, and the registry that rebuilds them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import numpy as np

from populace.errors import DimensionTypeError, SearchSpaceError
from populace.space._values import Value, finite_float

T = TypeVar("T", bound=Value)

_REGISTRY: dict[str, Callable[..., BaseDimension[Any]]] = {}


class BaseDimension(ABC, Generic[T]):
    """One hyperparameter's domain: its prior, its explore step and its JSON form.

    Dimensions are immutable values (frozen dataclasses validated on construction), so they are
    safe to share between threads and to pickle into worker processes; they are hashable and equal
    when declared alike, so the space stored with a population can be compared with the running
    one.

    ``sample(rng)`` draws from the prior; ``resample(rng)`` is the same draw, named for the explore
    step that replaces a value instead of moving it. ``perturb(value, rng, factor)`` is one explore
    step chosen by the caller (PBT uses 0.8 and 1.2, GAN setups 0.5 and 2.0): ``factor > 1`` moves
    the value up, ``factor < 1`` moves it down and ``factor == 1`` leaves it. A real value that
    would pass a bound stops at it (the other factor moves it away again); a discrete value
    (integer, ordered choice) always moves by at least one step, inward when it sits at the bound
    it is pushed against. No step leaves the domain or changes the value's type.

    ``validate(name, value)`` returns the value as a plain Python scalar or raises
    :class:`~populace.errors.SearchSpaceError` naming the parameter, the value and the domain;
    ``contains(value)`` is its yes/no form. Values in and out are plain ``int``, ``float``,
    ``str``, ``bool`` or ``None`` (numpy scalars are accepted and converted); a ``bool`` is never
    taken for a number.

    ``to_dict()`` gives a JSON-able declaration tagged with the class name, and
    ``BaseDimension.from_dict`` rebuilds it: every public subclass registers itself under its
    class name, and a second subclass with a taken name raises
    :class:`~populace.errors.DimensionTypeError`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return  # shared private bases are not declarable types
        if cls.__name__ in _REGISTRY:
            raise DimensionTypeError(
                f"a dimension type named {cls.__name__!r} is already registered "
                f"({_REGISTRY[cls.__name__]!r}); give {cls!r} another name"
            )
        _REGISTRY[cls.__name__] = cls

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> T:
        """Draw a value from the prior."""

    def resample(self, rng: np.random.Generator) -> T:
        """Draw a fresh value from the prior (the explore step that replaces a value)."""
        return self.sample(rng)

    def perturb(self, value: object, rng: np.random.Generator, factor: float) -> T:
        """Return value after one explore step: up for ``factor > 1``, down for ``factor < 1``.

        Raises:
            SearchSpaceError: if value is outside the domain, or factor is not a finite number
                greater than 0.
        """
        current = self.validate("value to perturb", value)
        step = finite_float(factor)
        if step is None or step <= 0:
            raise SearchSpaceError(f"perturb factor must be a finite number > 0, got {factor!r}")
        return current if step == 1 else self._perturb(current, rng, step)

    @abstractmethod
    def _perturb(self, value: T, rng: np.random.Generator, factor: float) -> T:
        """Move a validated value by a checked factor."""

    @abstractmethod
    def validate(self, name: str, value: object) -> T:
        """Return value as a plain Python scalar of this domain.

        Raises:
            SearchSpaceError: naming ``name``, the value and the domain, if value has the wrong
                type, is out of bounds or is not among the choices.
        """

    def contains(self, value: object) -> bool:
        """Whether value belongs to this domain."""
        try:
            self.validate("value", value)
        except SearchSpaceError:
            return False
        return True

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able declaration, e.g. ``{"type": "Fixed", "value": 3}``."""

    @staticmethod
    def from_dict(declaration: Mapping[str, Any]) -> BaseDimension[Any]:
        """Rebuild a dimension from ``to_dict()`` output.

        Raises:
            SearchSpaceError: if the type is unknown or the fields do not fit it.
        """
        kind = declaration.get("type") if isinstance(declaration, Mapping) else None
        build = _REGISTRY.get(kind) if isinstance(kind, str) else None
        if build is None:
            raise SearchSpaceError(
                f"unknown dimension type {kind!r} in {declaration!r}; known: {sorted(_REGISTRY)}"
            )
        fields = {key: item for key, item in declaration.items() if key != "type"}
        try:
            return build(**fields)
        except TypeError as exc:
            raise SearchSpaceError(
                f"cannot build {kind} from {dict(declaration)!r}: {exc}"
            ) from exc
