"""SearchSpace: the named, ordered set of dimensions a population explores."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from populace.errors import SearchSpaceError
from populace.space._base import BaseDimension
from populace.space._values import Value


class SearchSpace(Mapping[str, BaseDimension[Any]]):
    """An immutable, insertion-ordered mapping from parameter names to dimensions.

    The order is part of the space: ``sample`` draws the parameters in that order, so two spaces
    are equal only if they declare the same dimensions in the same order. The space is stored with
    a population as JSON, and ``diff`` against the stored one refuses a resume with another space.

    Example:
        >>> import numpy as np
        >>> from populace.space import Choice, LogUniform, SearchSpace, Uniform
        >>> space = SearchSpace(
        ...     lr=LogUniform(1e-4, 1e-1),
        ...     momentum=Uniform(0.0, 0.99),
        ...     batch_size=Choice([32, 64, 128], ordered=True),
        ... )
        >>> list(space.sample(np.random.default_rng(0)))
        ['lr', 'momentum', 'batch_size']
        >>> SearchSpace.from_json(space.to_json()) == space
        True
    """

    def __init__(self, /, **dimensions: BaseDimension[Any]) -> None:
        """Declare the space, one keyword per parameter.

        Args:
            dimensions: Parameter name -> dimension, in the order parameters are sampled.

        Raises:
            SearchSpaceError: if there is no dimension, a name is empty or a value is not a
                dimension.
        """
        if not dimensions:
            raise SearchSpaceError("a SearchSpace needs at least one dimension")
        for name, dimension in dimensions.items():
            if not name:
                raise SearchSpaceError("parameter names must be non-empty strings, got ''")
            if not isinstance(dimension, BaseDimension):
                raise SearchSpaceError(
                    f"{name}: expected a dimension such as Uniform(0.0, 1.0), got {dimension!r}"
                )
        self._dimensions = dict(dimensions)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, BaseDimension[Any]]) -> SearchSpace:
        """Build a space from a name -> dimension mapping, keeping its order.

        Raises:
            SearchSpaceError: if a name is not a non-empty string or a value is not a dimension.
        """
        for name in mapping:
            if not isinstance(name, str):
                raise SearchSpaceError(f"parameter names must be non-empty strings, got {name!r}")
        return cls(**mapping)

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(self._dimensions)

    def __getitem__(self, name: str) -> BaseDimension[Any]:
        return self._dimensions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dimensions)

    def __len__(self) -> int:
        return len(self._dimensions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return list(self.items()) == list(other.items())

    def __hash__(self) -> int:
        return hash(tuple(self.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={dimension!r}" for name, dimension in self.items())
        return f"SearchSpace({inner})"

    def sample(self, rng: np.random.Generator) -> dict[str, Value]:
        """Draw every parameter from its prior, in declaration order."""
        return {name: dimension.sample(rng) for name, dimension in self.items()}

    def validate(self, params: Mapping[str, object]) -> dict[str, Value]:
        """Return params as a new dict of plain values, in space order.

        Raises:
            SearchSpaceError: if a name is unknown or missing, or a value does not fit its
                dimension.
        """
        if not isinstance(params, Mapping):
            raise SearchSpaceError(f"params must be a mapping of names to values, got {params!r}")
        unknown = [name for name in params if name not in self._dimensions]
        if unknown:
            raise SearchSpaceError(
                f"unknown parameters {unknown}; the space has {list(self.names)}"
            )
        missing = [name for name in self.names if name not in params]
        if missing:
            raise SearchSpaceError(
                f"missing parameters {missing}; the space has {list(self.names)}"
            )
        return {name: dimension.validate(name, params[name]) for name, dimension in self.items()}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Return ``{name: dimension.to_dict()}`` in declaration order."""
        return {name: dimension.to_dict() for name, dimension in self.items()}

    @classmethod
    def from_dict(cls, declaration: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """Rebuild a space from ``to_dict()`` output.

        Raises:
            SearchSpaceError: naming the parameter whose declaration is invalid.
        """
        if not isinstance(declaration, Mapping):
            raise SearchSpaceError(f"a space declaration must be a mapping, got {declaration!r}")
        dimensions = {}
        for name, item in declaration.items():
            try:
                dimensions[name] = BaseDimension.from_dict(item)
            except SearchSpaceError as exc:
                raise SearchSpaceError(f"{name}: {exc}") from exc
        return cls.from_mapping(dimensions)

    def to_json(self) -> str:
        """Return the declaration as JSON, in declaration order."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> SearchSpace:
        """Rebuild a space from ``to_json()`` output.

        Raises:
            SearchSpaceError: if text is not JSON or does not declare a valid space.
        """
        try:
            declaration = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SearchSpaceError(f"a space declaration must be JSON: {exc}") from exc
        return cls.from_dict(declaration)

    def diff(self, other: SearchSpace) -> list[str]:
        """Describe how this space differs from ``other``, typically the one stored with a run.

        Returns:
            One human-readable line per difference; empty exactly when the spaces are equal.
        """
        lines = [
            f"{name}: missing in stored space"
            if name not in other
            else f"{name}: {dimension!r} here, {other[name]!r} stored"
            for name, dimension in self.items()
            if name not in other or other[name] != dimension
        ]
        lines += [
            f"{name}: {other[name]!r} stored, missing here" for name in other if name not in self
        ]
        if not lines and self.names != other.names:
            lines.append(f"parameter order: {list(self.names)} here, {list(other.names)} stored")
        return lines
