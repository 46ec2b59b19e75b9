"""A training function that does no training: the framework's own cost, alone.

The score is a fixed function of the params and the step, so exploits happen as in a real run;
ready points save a checkpoint of a few bytes. Used by the scaling and fault benchmarks as
``benchmarks/_noop.py:train`` (``populace worker`` imports it by path).
"""

from __future__ import annotations

import math
import os
import time

import populace as pop

SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-3, 1.0))
# Seconds of "training" per step; the fault benchmark sets it so that kills land mid-trial.
STEP_SECONDS = float(os.environ.get("POPULACE_NOOP_STEP_SECONDS", "0"))
# A folder to append the milliseconds spent in report() at each ready point to, one file per
# process: the ready-point path (checkpoint, result, snapshot, decision, commit, or a pause).
TIMINGS = os.environ.get("POPULACE_NOOP_TIMINGS")
_timings = None if TIMINGS is None else open(f"{TIMINGS}/{os.getpid()}.txt", "a", buffering=1)  # noqa: SIM115


def train(member: pop.Member) -> None:
    """Walk x toward 1 at the member's rate, reporting every step."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0}
    x, step = float(state["x"]), member.step
    while step < member.budget:
        if STEP_SECONDS:
            time.sleep(STEP_SECONDS)
        step += 1
        x += member.params["lr"] * (1.0 - x) * math.exp(-step / 200)
        if _timings is None or (step % member.interval and step != member.budget):
            member.report(step, -abs(1.0 - x), checkpoint=lambda x=x: {"x": x})
            continue
        started = time.perf_counter()
        try:
            member.report(step, -abs(1.0 - x), checkpoint=lambda x=x: {"x": x})
        finally:  # an exploit unwinds out of report: time it too
            _timings.write(f"{(time.perf_counter() - started) * 1e3:.4f}\n")
