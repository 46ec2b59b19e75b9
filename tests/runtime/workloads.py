"""Small deterministic training functions shared by the runtime tests."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

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


def fragile(member: pop.Member) -> None:
    """Member 0 raises where the population's name says; the others train normally.

    The name reaches worker processes and Ray actors too: ``at-4`` raises at step 4 (before the
    first ready point), ``at-9`` at step 9 (after it), ``checkpoint`` inside the checkpoint
    callable at the first ready point.
    """
    session = member._session  # the population's name is the test's switch, read where train runs
    where = next(p.name for p in session.storage.list_populations() if p.id == session.population)
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    x, step = state["x"], state["step"]
    while step < member.budget:
        step += 1
        x += member.params["lr"]
        if member.id == 0 and where == f"at-{step}":
            raise RuntimeError(f"member 0 breaks at step {step}")

        def save(x: float = x, step: int = step) -> dict:
            if member.id == 0 and where == "checkpoint":
                raise RuntimeError("member 0's checkpoint cannot be built")
            return {"x": x, "step": step}

        member.report(step, x, checkpoint=save)


def only_member_0_failed(result: pop.Population) -> None:
    """Member 0 of a ``fragile`` run failed, with its traceback stored; member 1 finished."""
    members = {m.id: m for m in result.members()}
    assert members[0].state == "failed" and "member 0" in (members[0].error or "")
    assert members[1].state == "finished" and members[1].step == 10
    steps = [r.step for r in result.results() if r.member == 0]
    assert steps == sorted(set(steps))  # its last results were stored before it failed


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


def wait_for_both_workers(arrivals: str | Path) -> None:
    """Hold each worker's first trial until both worker processes have one, so that both train
    whatever the time a spawned interpreter (or a Ray actor) takes to start."""
    arrivals = Path(arrivals)
    arrivals.mkdir(exist_ok=True)
    (arrivals / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(arrivals.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)


def _climb_with_both_workers(member: pop.Member, arrivals: str) -> None:
    wait_for_both_workers(arrivals)
    climb(member)


def climb_on_two_workers(arrivals: str | Path) -> pop.TrainFn:
    """``climb`` that starts once two worker processes arrived in the folder ``arrivals``."""
    return functools.partial(_climb_with_both_workers, arrivals=str(arrivals))
