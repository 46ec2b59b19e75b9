"""What a report must carry: a step that moves the member on, and one finite score."""

from __future__ import annotations

import math
import numbers

from populace.errors import ReportError

__all__ = ["check_score", "check_step"]


def check_score(score: object) -> float:
    """The score as a float: a number, or one held in a numpy array or torch tensor."""
    if hasattr(score, "item") and not isinstance(score, numbers.Number):
        count = score.numel() if hasattr(score, "numel") else getattr(score, "size", 1)
        if count != 1:
            raise ReportError(
                f"score must be one number, got {type(score).__name__} holding {count} values"
            )
        score = score.item()
    if isinstance(score, (bool, str, bytes)) or not hasattr(score, "__float__"):
        raise ReportError(f"score must be a finite number, got {score!r}")
    value = float(score)
    if not math.isfinite(value):
        raise ReportError(f"score must be a finite number, got {value}")
    return value


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
