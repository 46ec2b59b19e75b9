"""The executor contract as a test suite: subclass :class:`ExecutorSuite`.

Every test trains a small population with the executor an ``executor`` fixture of the subclass
provides (a new one per test, or one reused: ``run`` may be called again), on a SQLite file in
pytest's ``tmp_path``, and checks one promise of :class:`~populace.executors.BaseExecutor`.
The training functions live at module level here, so that worker processes import them by name
and Ray pickles them by reference. populace runs the suite against the serial, processes and
Ray executors. Requires pytest::

    import pytest
    from populace.testing import ExecutorSuite

    class TestMyExecutor(ExecutorSuite):
        @pytest.fixture
        def executor(self):
            return MyExecutor(workers=2, retries=1)  # retries must be 1: the suite counts them
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import populace as pop
from populace.executors import BaseExecutor
from populace.runtime import Member

__all__ = ["ExecutorSuite", "count", "exit_in_member_0", "misreport", "raise_in_member_0"]

SPACE = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
SETTINGS: dict[str, Any] = {"population": 3, "budget": 8, "interval": 4, "progress": False}


def count(member: Member) -> None:
    """Adds ``lr`` each step, from the checkpoint or zero; the score is the sum."""
    x = 0.0
    if member.checkpoint is not None:
        state = member.checkpoint.load()
        assert isinstance(state, dict)
        x = float(state["x"])
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"]
        member.report(step, x, checkpoint={"x": x})


def raise_in_member_0(member: Member) -> None:
    """Member 0's training always fails; the others count."""
    if member.id == 0:
        raise RuntimeError("member 0's training fails")
    count(member)


def misreport(member: Member) -> None:
    """Member 0 reports a step past its budget (the user's code misuses populace)."""
    if member.id == 0:
        member.report(member.budget + 1, 0.0)
    count(member)


def exit_in_member_0(member: Member) -> None:
    """Member 0's training calls ``sys.exit(3)``."""
    if member.id == 0:
        sys.exit(3)
    count(member)


def _storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _leases(population: pop.Population) -> list[str]:
    return [m.lease_owner for m in population.storage.members(population.id) if m.lease_owner]


class ExecutorSuite:
    """The contract of :class:`~populace.executors.BaseExecutor`; subclass it and provide an
    ``executor`` fixture returning an executor with ``retries=1``."""

    def test_every_member_trains_to_its_budget_and_no_lease_is_left(
        self, executor: BaseExecutor, tmp_path: Path
    ) -> None:
        result = pop.run(count, SPACE, storage=_storage(tmp_path), executor=executor, **SETTINGS)
        assert [(m.state, m.step) for m in result.members()] == [("finished", 8)] * 3
        steps = [(r.member, r.generation, r.step) for r in result.results()]
        assert len(steps) == len(set(steps)), "a result was stored twice"
        assert not _leases(result)

    def test_a_member_whose_training_keeps_failing_fails_alone(
        self, executor: BaseExecutor, tmp_path: Path
    ) -> None:
        result = pop.run(
            raise_in_member_0, SPACE, storage=_storage(tmp_path), executor=executor, **SETTINGS
        )
        members = {m.id: m for m in result.members()}
        assert members[0].state == "failed"
        assert "member 0's training fails" in (members[0].error or "")
        failures = result.storage.members(result.id)[0].failures
        assert failures == 2, f"one try and one retry, got {failures} failures"
        assert [(members[i].state, members[i].step) for i in (1, 2)] == [("finished", 8)] * 2
        assert not _leases(result)

    def test_an_error_of_populace_stops_the_run_and_is_raised_as_such(
        self, executor: BaseExecutor, tmp_path: Path
    ) -> None:
        with pytest.raises(pop.ReportError, match="past its budget"):
            pop.run(misreport, SPACE, storage=_storage(tmp_path), executor=executor, **SETTINGS)
        stopped = pop.load(_storage(tmp_path), "misreport")
        assert not _leases(stopped)
        assert all(m.state != "failed" for m in stopped.members()), "the error is not a failure"

    def test_sys_exit_in_training_stops_the_run_with_its_code(
        self, executor: BaseExecutor, tmp_path: Path
    ) -> None:
        with pytest.raises(SystemExit) as stopped:
            pop.run(
                exit_in_member_0, SPACE, storage=_storage(tmp_path), executor=executor, **SETTINGS
            )
        assert stopped.value.code == 3
        assert not _leases(pop.load(_storage(tmp_path), "exit_in_member_0"))

    def test_a_damaged_checkpoint_is_repaired_and_the_member_trains_on(
        self, executor: BaseExecutor, tmp_path: Path
    ) -> None:
        population = pop.run(count, SPACE, storage=_storage(tmp_path), workers=0, **SETTINGS)
        trial = population.ask("suite")
        assert trial is not None
        for step in range(1, 5):
            population.tell(trial, step, 0.1 * step, checkpoint={"x": 0.1 * step})
        population.release(trial.member, "suite")
        damaged = population.storage.members(population.id)[trial.member].checkpoint
        assert damaged is not None
        blob = Path(population.checkpoints.location(damaged).removeprefix("file://"))
        blob.unlink()  # blobs may be read-only: replace it
        blob.write_bytes(b"not the checkpoint")
        result = pop.run(count, SPACE, storage=_storage(tmp_path), executor=executor, **SETTINGS)
        assert [(m.state, m.step) for m in result.members()] == [("finished", 8)] * 3
        assert not _leases(result)
