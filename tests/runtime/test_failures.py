"""One member's failure fails that member only, at every point of its trial (the Ray executor's
case is in test_ray.py); a worker that lost its member drops the trial instead of stopping
the run."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

import populace as pop
from populace.errors import StorageError
from populace.runtime._member import Lost
from populace.runtime._session import Session

from .workloads import SPACE, fragile, only_member_0_failed

SETTINGS = dict(population=2, budget=10, interval=5, progress=False, retries=1)


@pytest.mark.parametrize("where", ["at-4", "at-9", "checkpoint"])
def test_a_failing_member_fails_alone_in_the_serial_executor(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="populace"):
        result = pop.run(fragile, SPACE, storage="memory", name=where, **SETTINGS)
    only_member_0_failed(result)
    assert f"population {where!r}: 1 of 2 members failed (0) and the others went on" in caplog.text


@pytest.mark.slow
def test_a_failing_member_fails_alone_in_worker_processes(tmp_path: Path) -> None:
    result = pop.run(
        fragile, SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}", name="at-4", workers=2,
        **SETTINGS,
    )  # fmt: skip
    only_member_0_failed(result)


def _steal(population: pop.Population, member: int, step: int) -> None:
    """Another worker takes the member over (the first one's lease lapsed) and trains it."""
    storage, later = population.storage, time.time() + 5
    assert storage.claim(population.id, member, "fast-worker", later + 60, later) is not None
    storage.record_result(
        population.id, member, 0, step, 0.3, ready=False, checkpoint=None, now=later,
        owner="fast-worker",
    )  # fmt: skip


def test_a_worker_whose_member_moved_on_drops_its_trial(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    population = pop.run(
        fragile, SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}", name="lost", workers=0,
        **SETTINGS,
    )  # fmt: skip
    session = Session(
        population.storage, population.id, population.controller, population.checkpoints
    )
    trial = session.ask("slow-worker", lease_seconds=1.0)
    assert trial is not None and trial.member == 0
    member = session.member(trial)
    member.report(1, 0.1)  # stored at once
    member.report(2, 0.2)  # kept in memory, to be stored with the next write
    _steal(population, 0, 3)
    with pytest.raises(Lost, match="member 0 is leased by fast-worker"):
        member.report(5, 0.5, checkpoint={"x": 0.5})
    assert [r.step for r in population.results()] == [1, 3]

    session.release(0, "slow-worker")  # as the worker loop does: the lease stays the other's
    assert population.storage.members(population.id)[0].lease_owner == "fast-worker"

    trial = session.ask("slow-worker", lease_seconds=1.0)  # member 1 this time
    assert trial is not None and trial.member == 1
    member = session.member(trial)
    member.report(1, 0.1)
    member.report(2, 0.2)
    _steal(population, 1, 4)
    with caplog.at_level(logging.WARNING, logger="populace"):
        session.release(1, "slow-worker")  # what it kept in memory is dropped, not raised
    assert "member 1 is leased by fast-worker" in caplog.text and "1 results dropped" in caplog.text
    assert [r.step for r in population.results() if r.member == 1] == [1, 4]


def test_tell_after_losing_the_member_raises_a_storage_error(tmp_path: Path) -> None:
    population = pop.run(
        fragile, SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}", name="lost", workers=0,
        **SETTINGS,
    )  # fmt: skip
    trial = population.ask("slow-worker", lease_seconds=1.0)
    assert trial is not None
    _steal(population, trial.member, 2)
    with pytest.raises(StorageError, match="this worker's lease lapsed"):
        population.tell(trial, 1, 0.1)
