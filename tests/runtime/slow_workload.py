"""A training function that takes real time per step, importable by worker processes."""

from __future__ import annotations

import time

import numpy as np

import populace as pop

SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.5), decay=pop.Uniform(0.0, 0.2))


def slow_climb(member: pop.Member) -> None:
    """Like workloads.climb, sleeping 20 ms per step so that signals land mid-interval."""
    if member.checkpoint is not None:
        state = member.checkpoint.load()
        x, step = float(state["x"]), int(state["step"])
    else:
        x, step = 0.0, 0
    while step < member.budget:
        step += 1
        time.sleep(0.02)
        x += member.params["lr"] * (1.0 - member.params["decay"]) * np.sign(1.0 - x)
        # report calls the lambda at once (at ready points only), so late binding is right
        member.report(step, -abs(1.0 - x), checkpoint=lambda: {"x": x, "step": step})  # noqa: B023
