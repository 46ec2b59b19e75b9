"""Small deterministic training functions shared by the runtime tests."""

from __future__ import annotations

import signal
import time

import numpy as np

import populace as pop

SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.5), decay=pop.Uniform(0.0, 0.2))


def climb(member: pop.Member, seconds_per_step: float = 0.0) -> None:
    """Walks x toward 1 with step lr, slowed by decay; the score is -|1 - x|."""
    if member.checkpoint is not None:
        state = member.checkpoint.load()
        x, step = float(state["x"]), int(state["step"])
    else:
        x, step = 0.0, 0
    while step < member.budget:
        step += 1
        time.sleep(seconds_per_step)
        x += member.params["lr"] * (1.0 - member.params["decay"]) * np.sign(1.0 - x)
        # report calls the lambda at once (at ready points only), so late binding is right
        member.report(step, -abs(1.0 - x), checkpoint=lambda: {"x": x, "step": step})  # noqa: B023


def slow_climb(member: pop.Member) -> None:
    """``climb`` taking 20 ms per step, so that signals land in the middle of intervals."""
    climb(member, seconds_per_step=0.02)


def decision_log(population: pop.Population) -> list[tuple]:
    """Every decision as plain data, for comparing runs."""
    out = []
    for d in population.decisions():
        params = getattr(d.decision, "params", None)
        out.append(
            (
                d.member,
                d.generation,
                d.step,
                d.decision.kind,
                getattr(d.decision, "parent", None),
                None if params is None else sorted(params.items()),
                d.compared,
            )
        )
    return out


def ctrl_c_enabled() -> None:
    """``preexec_fn`` of a driver the tests send Ctrl-C: Python keeps SIGINT ignored in a child
    whose parent ignored it (a suite started in the background of a script), so undo that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
