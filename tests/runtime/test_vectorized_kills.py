"""A vectorised run SIGKILLed mid-interval or between two members' decisions at a ready point
resumes with ``pop.run`` to exactly the decisions and results of an uninterrupted run."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest
from _subprocess import run

import populace as pop

from .test_vectorized import SETTINGS, SPACE, climb_all
from .workloads import decision_log

ROOT = Path(__file__).parents[2]

CHILD = """
import os, signal, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
import populace as pop
from populace.runtime._shard import Shard
from populace.storage import SQLStorage
from tests.runtime.test_vectorized import SETTINGS, SPACE, climb_all

owner = {{"SQLStorage": SQLStorage, "Shard": Shard}}[{cls!r}]
original, calls = getattr(owner, {method!r}), [0]

def killing(*args, **kwargs):
    out = original(*args, **kwargs)
    calls[0] += 1
    if calls[0] == {k}:
        os.kill(os.getpid(), signal.SIGKILL)
    return out

if {kill!r}:
    setattr(owner, {method!r}, killing)
pop.run(climb_all, SPACE, storage={url!r}, name="kills", executor="vectorized", **SETTINGS)
sys.exit(0 if not {kill!r} else 7)
"""


def _child(url: str, point: tuple[str, str, int], kill: bool) -> str:
    cls, method, k = point
    return textwrap.dedent(CHILD).format(
        root=str(ROOT), tests=str(ROOT / "tests"), cls=cls, method=method, k=k, url=url, kill=kill
    )


# (class, method, k): killed after the k-th call. Mid-interval at step 13 (results in memory
# lost, stored ones after the checkpoint discarded); right after storing the step-10 results, with
# no decision taken; right after committing the step-10 and the step-15 decisions (one
# transaction for the shard), before they are applied to the stacked state.
POINTS = [
    ("Shard", "report", 13),
    ("SQLStorage", "record_results", 3),
    ("SQLStorage", "commit_decisions", 2),
    ("SQLStorage", "commit_decisions", 3),
]


@pytest.mark.parametrize("point", POINTS, ids=lambda p: f"{p[0]}.{p[1]}-{p[2]}")
def test_a_killed_vectorized_run_resumes_to_the_same_decisions(
    tmp_path: Path, point: tuple[str, str, int]
) -> None:
    reference = pop.run(
        climb_all, SPACE, storage=f"sqlite:///{tmp_path / 'r.db'}", name="kills",
        executor="vectorized", **SETTINGS,
    )  # fmt: skip
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    killed = run([sys.executable, "-c", _child(url, point, kill=True)], timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    interrupted = pop.load(url, "kills")
    assert any(m.state == "running" for m in interrupted.members())
    interrupted.storage.close()
    resumed = run([sys.executable, "-c", _child(url, point, kill=False)], timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    population = pop.load(url, "kills")
    assert [m.state for m in population.members()] == ["finished"] * 8
    assert all(m.lease_owner is None for m in population.storage.members(population.id))
    assert sorted(decision_log(population)) == sorted(decision_log(reference))
    ready = [(r.member, r.generation, r.step, r.score) for r in population.results() if r.ready]
    expected = [(r.member, r.generation, r.step, r.score) for r in reference.results() if r.ready]
    assert sorted(ready) == sorted(expected)
    population.storage.close()
