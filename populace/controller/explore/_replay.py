"""Training replay: follow a recorded hyperparameter schedule instead of exploring.

Li et al. (2019) retrain a fresh model along the schedule PBT found, to check whether the
schedule alone reproduces the result. ``pop.replay`` stores this strategy with the replay
population, so the replay is resumable and every change of params is a stored decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from populace.controller._decision import Continue, Explore
from populace.controller._snapshot import MemberSnapshot
from populace.controller.explore._strategies import NoExplore
from populace.errors import ConfigurationError

__all__ = ["ReplayExplore"]


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


class ReplayExplore(NoExplore):
    """Change a member's params exactly when, and to what, a recorded schedule says.

    ``schedule`` lists ``{"step": s, "params": {...}}`` entries (or ``ScheduleEntry`` values),
    the first at step 0, steps increasing: the params to train with after step ``s``. The
    member starts with the first entry's params; the controller then hands each of its ready
    points to :meth:`decide` instead of comparing it with other members, so exploit strategies
    are not consulted (the controller requires :class:`~populace.controller.NoExploit`). Its
    own weights are always kept; ``explore`` (inherited) leaves params unchanged.
    """

    def __init__(self, schedule: Sequence[Any]) -> None:
        entries = [_entry(item) for item in schedule]
        steps = [e["step"] for e in entries]
        if not entries or steps[0] != 0 or steps != sorted(set(steps)):
            raise ConfigurationError(
                f"a replay schedule must start at step 0 with steps increasing, got steps {steps}"
            )
        self.schedule = entries

    def decide(self, member: MemberSnapshot, step: int, interval: int) -> Continue | Explore:
        """The decision of ``member`` at its ready point ``step``.

        An entry lands at the ready point at or before its step: here, if it is due before
        ``step + interval`` (the earliest the next ready point can come) and was not due yet
        at the start of the member's current params (``start_step + interval``). With ready
        points every ``interval`` steps, that is exactly the entry at ``step``. Several due at
        once (irregular reports) land together: the latest one wins.
        """
        applied = member.start_step + interval if member.generation > 0 else 1
        due = [e for e in self.schedule if applied <= e["step"] < step + interval]
        if not due:
            return Continue(f"replay: no schedule change before step {step + interval}")
        scheduled = due[-1]["step"]
        late = "" if scheduled == step else f", at ready point {step}"
        return Explore(dict(due[-1]["params"]), f"replay: the params of step {scheduled}{late}")
