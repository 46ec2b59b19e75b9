"""A trial: the unit of work the controller hands out (Li et al., 2019)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from populace.checkpoints import Checkpoint

__all__ = ["Evaluation", "Trial"]


@dataclass(frozen=True)
class Evaluation:
    """What a FIRE PBT evaluator's trial evaluates: ``parent``'s weights (its checkpoint) trained
    with the params of ``child``, to see whether they improve faster than the child does."""

    parent: int
    child: int


@dataclass(frozen=True)
class Trial:
    """Train ``member`` with ``params`` from ``checkpoint`` (or from scratch) for ``steps`` steps.

    ``start_step`` is the step the checkpoint was saved at (0 from scratch); after ``steps`` steps
    the member reaches its next ready point (or its budget) and must be told a score.
    ``evaluation`` is set when ``member`` is a FIRE PBT evaluator (None otherwise).
    """

    member: int
    generation: int
    params: Mapping[str, Any] = field(hash=False)
    checkpoint: Checkpoint | None
    start_step: int
    steps: int
    budget: int
    interval: int
    evaluation: Evaluation | None = None
