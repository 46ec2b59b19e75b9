"""A trial: the unit of work the controller hands out (Li et al., 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from populace.checkpoints import Checkpoint

__all__ = ["Trial"]


@dataclass(frozen=True)
class Trial:
    """Train ``member`` with ``params`` from ``checkpoint`` (or from scratch) for ``steps`` steps.

    ``start_step`` is the step the checkpoint was saved at (0 from scratch); after ``steps`` steps
    the member reaches its next ready point (or its budget) and must be told a score.
    """

    member: int
    generation: int
    params: Mapping[str, Any] = field(hash=False)
    checkpoint: Checkpoint | None
    start_step: int
    steps: int
    budget: int
    interval: int
