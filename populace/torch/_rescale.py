"""Rescaling a hyperparameter a restore brought back: the saved value times new / old.

A param group (or a scheduler) may hold a multiple of the member's param (a backbone at lr / 10,
a decayed rate): writing the new value would lose the multiple, scaling keeps it. The Lightning
and Transformers callbacks share these rules.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

__all__ = ["as_number", "is_factor", "rescaled"]


def as_number(value: Any) -> Any:
    """A one-element tensor or a real number (not a bool) as a float; anything else as it is."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.item())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def is_factor(old: Any, new: Any) -> bool:
    """Whether ``new / old`` is a finite factor: two finite numbers, ``old`` not zero."""
    pair = [as_number(value) for value in (old, new)]
    return all(isinstance(v, float) and math.isfinite(v) for v in pair) and pair[0] != 0


def rescaled(value: Any, old: Any, new: Any) -> float:
    """``value * new / old``, exactly ``new`` where ``value`` is ``old`` itself."""
    value, old, new = as_number(value), as_number(old), as_number(new)
    return float(new) if value == old else float(value) * float(new) / float(old)
