"""The controller's replay mode: follow a recorded hyperparameter schedule instead of PBT.

Li et al. (2019) retrain a fresh model along the schedule PBT found, to check whether the
schedule alone reproduces the result. A controller given a ``schedule`` decides every ready
point from it: the member takes the schedule's params where they change and keeps its own
weights (an ``Explore``), and never copies another member. ``pop.replay`` stores such a
controller with the replay population, so the replay resumes like any population.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from populace.controller._decision import Continue, Explore
from populace.controller._snapshot import MemberSnapshot
from populace.errors import ConfigurationError

__all__ = ["replay_decision", "schedule_entries"]


def _entry(item: Any) -> dict[str, Any]:
    """``{"step", "params"}`` from a dict or a :class:`~populace.analysis.ScheduleEntry`."""
    if isinstance(item, Mapping):
        step, params = item.get("step"), item.get("params")
    else:
        step, params = getattr(item, "step", None), getattr(item, "params", None)
    if isinstance(step, bool) or not isinstance(step, int) or not isinstance(params, Mapping):
        raise ConfigurationError(
            f"a schedule entry needs an integer step and a params mapping, got {item!r}"
        )
    return {"step": step, "params": dict(params)}


def schedule_entries(schedule: Sequence[Any]) -> list[dict[str, Any]]:
    """The schedule as ``{"step": s, "params": {...}}`` entries (the params to train with after
    step ``s``), checked to start at step 0 with steps increasing."""
    entries = [_entry(item) for item in schedule]
    steps = [e["step"] for e in entries]
    if not entries or steps[0] != 0 or steps != sorted(set(steps)):
        raise ConfigurationError(
            f"a replay schedule must start at step 0 with steps increasing, got steps {steps}"
        )
    return entries


def replay_decision(
    schedule: Sequence[Mapping[str, Any]], member: MemberSnapshot, step: int, interval: int
) -> Continue | Explore:
    """The decision of ``member`` at its ready point ``step`` under ``schedule``.

    An entry lands at the ready point at or before its step: here, if it is due before
    ``step + interval`` (the earliest the next ready point can come) and was not due yet at the
    start of the member's current params (``start_step + interval``). With ready points every
    ``interval`` steps, that is exactly the entry at ``step``. Several due at once (irregular
    reports) land together: the latest one wins.
    """
    applied = member.start_step + interval if member.generation > 0 else 1
    due = [e for e in schedule if applied <= e["step"] < step + interval]
    if not due:
        return Continue(f"replay: no schedule change before step {step + interval}")
    scheduled = due[-1]["step"]
    late = "" if scheduled == step else f", at ready point {step}"
    return Explore(dict(due[-1]["params"]), f"replay: the params of step {scheduled}{late}")
