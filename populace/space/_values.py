"""Plain JSON scalars: the only values a search space accepts, stores and returns."""

from __future__ import annotations

import math
from typing import Any, TypeAlias, TypeGuard

import numpy as np

from populace.errors import SearchSpaceError

Value: TypeAlias = int | float | str | bool | None
"""A hyperparameter value: a JSON scalar, never a numpy type."""


def is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    """Whether value is an int or float (numpy scalars included) but not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def finite_float(value: object) -> float | None:
    """Return value as a finite float, or None for non-numbers, bools, NaN, inf and huge ints."""
    if not is_real(value):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def plain_int(value: object) -> int | None:
    """Return value as an int, or None unless it is an int (numpy included) and not a bool."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def as_scalar(what: str, value: object) -> Value:
    """Return value as a plain JSON scalar.

    Raises:
        SearchSpaceError: if value is not a str, int, float, bool or None, or is NaN or infinite.
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    number = finite_float(value)
    if number is None:
        raise SearchSpaceError(
            f"{what}: {value!r} is not a JSON scalar (str, int, finite float, bool or None)"
        )
    return number


def scalar_key(value: Value) -> tuple[type, Value]:
    """Return a key that tells 1, 1.0 and True apart, for membership and equality."""
    return (type(value), value)
