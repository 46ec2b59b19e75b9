"""Decision values: what a member does at a ready point, with a human-readable reason.

Decisions are plain values. The controller returns them; the runtime and storage act on them.
``Wait`` is the only one that is never stored: it means "ask again once the synchronous barrier
has been reached".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "NOT_READY",
    "Continue",
    "Decision",
    "Evaluate",
    "Exploit",
    "Explore",
    "Stop",
    "Wait",
    "decision_from_dict",
    "decision_to_dict",
]


@dataclass(frozen=True)
class Continue:
    """Keep training with the same weights and hyperparameters."""

    reason: str
    kind: ClassVar[str] = "continue"


@dataclass(frozen=True)
class Exploit:
    """Copy a stronger member's checkpoint and continue with explored hyperparameters.

    The copied checkpoint was saved by ``parent`` in its generation ``parent_generation`` at
    ``parent_step``: the member continues from that step.
    """

    parent: int
    parent_generation: int
    parent_step: int
    parent_checkpoint: str
    params: Mapping[str, Any] = field(hash=False)
    reason: str
    kind: ClassVar[str] = "exploit"


@dataclass(frozen=True)
class Explore:
    """Keep the member's own weights but continue with new hyperparameters (explore-only PBT)."""

    params: Mapping[str, Any] = field(hash=False)
    reason: str
    kind: ClassVar[str] = "explore"


@dataclass(frozen=True)
class Evaluate:
    """FIRE PBT: an evaluator starts training a parent's weights with a child's hyperparameters.

    Like an exploit, the evaluator starts a new generation from ``parent``'s checkpoint (saved in
    ``parent_generation`` at ``parent_step``), here with the params of ``child`` (a member of the
    next sub-population down, in its generation ``child_generation``). Its curve is then compared
    with the child's: if it improves faster, the child copies the evaluator's weights.
    """

    parent: int
    parent_generation: int
    parent_step: int
    parent_checkpoint: str
    params: Mapping[str, Any] = field(hash=False)
    child: int
    child_generation: int
    reason: str
    kind: ClassVar[str] = "evaluate"


@dataclass(frozen=True)
class Stop:
    """The member is done (its budget is spent)."""

    reason: str
    kind: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Wait:
    """The synchronous barrier is not reached yet: pause and ask again later. Never stored."""

    reason: str
    kind: ClassVar[str] = "wait"


Decision = Continue | Exploit | Explore | Evaluate | Stop | Wait

NOT_READY = Continue("not a ready point")
"""The decision returned for every report between ready points (nothing was decided)."""

_KINDS: dict[str, type] = {c.kind: c for c in (Continue, Exploit, Explore, Evaluate, Stop, Wait)}


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """Return a JSON-able dict with a ``kind`` key."""
    data: dict[str, Any] = {"kind": decision.kind}
    data.update(decision.__dict__)
    if "params" in data:
        data["params"] = dict(data["params"])
    return data


def decision_from_dict(data: Mapping[str, Any]) -> Decision:
    """Rebuild a decision from :func:`decision_to_dict` output."""
    fields = dict(data)
    cls = _KINDS[fields.pop("kind")]
    return cls(**fields)  # type: ignore[no-any-return]
