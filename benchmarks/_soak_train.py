"""The soak benchmark's training function: 1 MiB of state that changes at every step.

Each step sleeps ``POPULACE_SOAK_STEP_SECONDS`` (50 ms by default) and moves a float64 array of
131,072 values (1 MiB) and a scalar; every ready point saves both with the step, so every
checkpoint is a blob of its own of about 1 MiB (two members share one only when they share their
whole history). Used by ``benchmarks/soak.py`` as ``benchmarks/_soak_train.py:train``.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

import populace as pop

SIZE = 131_072  # float64 values: 1 MiB
STEP_SECONDS = float(os.environ.get("POPULACE_SOAK_STEP_SECONDS", "0.05"))


def state_at(member: pop.Member) -> tuple[np.ndarray, float]:
    """The weights and scalar to start from: the member's checkpoint, else zeros."""
    if member.checkpoint is None:
        return np.zeros(SIZE), 0.0
    state = member.checkpoint.load()
    return np.asarray(state["weights"]), float(state["x"])


def train(member: pop.Member) -> None:
    """Walk x toward 1 at the member's rate; the weights follow x and the step."""
    weights, x = state_at(member)
    step = member.step
    while step < member.budget:
        time.sleep(STEP_SECONDS)
        step += 1
        x += member.params["lr"] * (1.0 - x) * math.exp(-step / 2000)
        weights = 0.5 * weights + (x + step)  # a new array: a saved one is never changed
        member.report(
            step,
            -abs(1.0 - x),
            checkpoint=lambda w=weights, x=x, s=step: {"weights": w, "x": x, "step": s},
        )
