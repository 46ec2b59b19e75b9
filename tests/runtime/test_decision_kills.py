"""A worker SIGKILLed at any point between storing a result, storing a decision and acting on it
loses nothing, and the population resumes to exactly the decisions of an uninterrupted run.

Each case runs a serial population in a child process that SIGKILLs itself right before or after
the k-th call of one runtime or storage method, then resumes it in a fresh process (under a
timeout: a member that stays ready forever would hang the resume) and compares the stored
decisions and ready results with an uninterrupted run's.
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest
from _subprocess import run

import populace as pop

from .workloads import SPACE, climb, decision_log

ROOT = Path(__file__).parents[2]
SETTINGS = dict(population=4, budget=24, interval=4, seed=3, progress=False, workers=1)

# (class, method, before or after the call): from a checkpoint written but not referenced, to a
# result stored with no decision yet, to a decision stored but not acted on, to a lease freed.
POINTS = [
    ("LocalCheckpointStore", "put_bytes", "after"),
    ("SQLStorage", "record_result", "after"),
    ("Session", "_decide", "before"),
    ("SQLStorage", "commit_decisions", "after"),
    ("Session", "release", "before"),
    ("Session", "release", "after"),
    ("SQLStorage", "claim", "after"),
]

CHILD = """
import os, signal, sys
sys.path.insert(0, {root!r})
import populace as pop
from populace.runtime._session import Session
from populace.checkpoints import LocalCheckpointStore
from populace.storage import SQLStorage
from tests.runtime.workloads import SPACE, climb

owner = {{"SQLStorage": SQLStorage, "Session": Session,
         "LocalCheckpointStore": LocalCheckpointStore}}[{cls!r}]
original, calls = getattr(owner, {method!r}), [0]

def killing(*args, **kwargs):
    calls[0] += 1
    if {when!r} == "before" and calls[0] == {k}:
        os.kill(os.getpid(), signal.SIGKILL)
    out = original(*args, **kwargs)
    if {when!r} == "after" and calls[0] == {k}:
        os.kill(os.getpid(), signal.SIGKILL)
    return out

if {kill!r}:
    setattr(owner, {method!r}, killing)
pop.run(climb, SPACE, storage={url!r}, checkpoints={ckpt!r}, name="kills", **{settings!r})
sys.exit(0 if not {kill!r} else 7)  # a killing run must not get here
"""


def _child(url: str, ckpt: Path, point: tuple[str, str, str], k: int, kill: bool) -> str:
    cls, method, when = point
    return textwrap.dedent(CHILD).format(
        root=str(ROOT), cls=cls, method=method, when=when, k=k, url=url, kill=kill,
        ckpt=str(ckpt), settings=SETTINGS,
    )  # fmt: skip


def _ready(population: pop.Population) -> list[tuple]:
    return [(r.member, r.generation, r.step, r.score) for r in population.results() if r.ready]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pop.Population:
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'runs.db'}"
    return pop.run(climb, SPACE, storage=url, name="kills", **SETTINGS)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("k", [3, 11])
@pytest.mark.parametrize("point", POINTS, ids=lambda p: f"{p[2]}-{p[0]}.{p[1]}")
def test_a_kill_at_any_point_resumes_to_the_same_decisions(
    point: tuple[str, str, str],
    k: int,
    backend: str,
    reference: pop.Population,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'runs.db'}"
    )
    killed = run(
        [sys.executable, "-c", _child(url, tmp_path / "ckpt", point, k, kill=True)], timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    resumed = run(
        [sys.executable, "-c", _child(url, tmp_path / "ckpt", point, k, kill=False)], timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    population = pop.load(url, "kills")
    assert [m.state for m in population.members()] == ["finished"] * 4
    assert all(m.lease_owner is None for m in population.storage.members(population.id))
    # the same decision for every key (a kill may change the order they were committed in)
    assert sorted(decision_log(population)) == sorted(decision_log(reference))
    assert sorted(_ready(population)) == sorted(_ready(reference))
    population.storage.close()
