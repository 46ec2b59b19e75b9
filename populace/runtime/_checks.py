"""What a report must carry: a step that moves the member on, one finite score, and any
extra metrics as finite numbers by name."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from populace.errors import ReportError

__all__ = ["MAX_METRIC_NAME", "check_metrics", "check_score", "check_step"]

MAX_METRIC_NAME = 128


def check_score(score: object, what: str = "score") -> float:
    """The score as a float: a number, or one held in a numpy array or torch tensor."""
    if hasattr(score, "item") and not isinstance(score, numbers.Number):
        count = score.numel() if hasattr(score, "numel") else getattr(score, "size", 1)
        if count != 1:
            raise ReportError(
                f"{what} must be one number, got {type(score).__name__} holding {count} values"
            )
        score = score.item()
    if isinstance(score, (bool, str, bytes)) or not hasattr(score, "__float__"):
        raise ReportError(f"{what} must be a finite number, got {score!r}")
    value = float(score)
    if not math.isfinite(value):
        raise ReportError(f"{what} must be a finite number, got {value}")
    return value


def check_metrics(metrics: object) -> dict[str, float]:
    """Extra metrics as ``{name: float}``: names are non-empty strings other than "score"."""
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise ReportError(f"metrics must be a dict of name to number, got {metrics!r}")
    checked = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name or len(name) > MAX_METRIC_NAME:
            raise ReportError(
                f"metric names must be strings of 1 to {MAX_METRIC_NAME} characters, got {name!r}"
            )
        if name == "score":
            raise ReportError('"score" is the reported score, not an extra metric: rename it')
        checked[name] = check_score(value, f"metric {name!r}")
    return checked


def check_step(step: object, member: int, current: int, budget: int) -> int:
    """The step as an int: an integer after ``current`` and not past ``budget``."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ReportError(f"step must be an integer, got {step!r}")
    if int(step) > budget:
        raise ReportError(
            f"step {step} of member {member} is past its budget of {budget} steps: "
            "train must stop at member.budget"
        )
    if step <= current:
        raise ReportError(
            f"step {step} of member {member} does not come after its current step "
            f"{current}: steps count completed training steps and must increase"
        )
    return int(step)
