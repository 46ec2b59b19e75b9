"""How a run with worker processes ends when a spawned worker ends it: a populace error,
``sys.exit`` in ``train``, a worker that cannot start. Drivers are real scripts, as users write."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _subprocess import run

import populace as pop
from populace.executors._processes import _died

ROOT = Path(__file__).parents[2]
HEADER = f"""
import multiprocessing, sys, time
sys.path.insert(0, {str(ROOT)!r})
import populace as pop
from tests.runtime.workloads import SPACE

def spawned():
    return multiprocessing.parent_process() is not None

def run(train, **settings):
    settings = dict(population=4, budget=40, interval=5, progress=False) | settings
    return pop.run(train, SPACE, storage="sqlite:///runs.db", workers=2, **settings)
"""


def run_script(folder: Path, body: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``HEADER + body`` as a script in ``folder``; every process it started ends with it."""
    script = folder / "script.py"
    script.write_text(HEADER + textwrap.dedent(body))
    return run([sys.executable, str(script)], cwd=folder, timeout=timeout)


def stopped(folder: Path, name: str = "train") -> pop.Population:
    """The population the script trained, checked to be unfinished and free of leases."""
    population = pop.load(f"sqlite:///{folder / 'runs.db'}", name)
    assert not population.done
    assert all(m.lease_owner is None for m in population.storage.members(population.id))
    return population


@pytest.mark.slow
def test_an_error_in_a_worker_reaches_the_caller_without_a_stray_ctrl_c(tmp_path: Path) -> None:
    # Both workers report NaN: the driver's own error and the supervisor's come at once.
    done = run_script(
        tmp_path,
        """
        def train(member):
            for step in range(member.step + 1, member.budget + 1):
                time.sleep(0.02)
                member.report(step, float("nan") if step == 8 else 1.0, checkpoint={})

        if __name__ == "__main__":
            try:
                run(train)
            except pop.ReportError as exc:
                print("raised:", exc, flush=True)
            time.sleep(2)  # a KeyboardInterrupt sent to stop the driver's worker would land here
            print("carried on")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "raised: score must be a finite number, got nan" in done.stdout
    assert "carried on" in done.stdout
    stopped(tmp_path)


@pytest.mark.slow
def test_an_error_in_a_worker_stops_the_drivers_own_worker_at_its_next_report(
    tmp_path: Path,
) -> None:
    # Only the spawned worker fails; the driver's member alone would train for 20 s.
    done = run_script(
        tmp_path,
        """
        def train(member):
            for step in range(member.step + 1, member.budget + 1):
                time.sleep(0.02)
                nan = spawned() and step == 8
                member.report(step, float("nan") if nan else 1.0, checkpoint={})

        if __name__ == "__main__":
            run(train, budget=1000, interval=100)
        """,
    )
    assert done.returncode == 1
    assert "ReportError: score must be a finite number, got nan" in done.stderr
    population = stopped(tmp_path)
    assert {m.state for m in population.members()} == {"running"}


@pytest.mark.slow
@pytest.mark.parametrize("code", [1, 3])
def test_sys_exit_in_a_spawned_workers_train_exits_the_driver_the_same_way(
    tmp_path: Path, code: int
) -> None:
    done = run_script(
        tmp_path,
        f"""
        def train(member):
            for step in range(member.step + 1, member.budget + 1):
                time.sleep(0.02)
                if spawned() and step == 8:
                    sys.exit({code})
                member.report(step, 1.0, checkpoint={{}})

        if __name__ == "__main__":
            run(train, budget=1000, interval=100)
            print("returned")
        """,
    )
    assert done.returncode == code, done.stderr
    assert "returned" not in done.stdout
    assert f"worker 1: train() called sys.exit({code}); stopping the run" in done.stderr
    assert "Traceback" not in done.stderr  # no hint about a main guard, no queue.Empty
    stopped(tmp_path)


@pytest.mark.slow
def test_a_worker_that_cannot_start_is_named_and_a_missing_main_guard_explained(
    tmp_path: Path,
) -> None:
    # The first thing pop.run does: a worker importing this script stops there.
    done = run_script(
        tmp_path,
        """
        from populace.executors._processes import refuse_run_while_importing_main
        from tests.runtime.workloads import climb

        refuse_run_while_importing_main()

        if __name__ == "__main__":
            run(climb)
        """,
    )
    assert done.returncode == 1
    assert "guard the call with `if __name__ == '__main__':`" in done.stderr  # the worker's
    assert "worker 1 exited with code 1 before it started (its traceback is above)" in done.stderr
    assert "starting another" not in done.stderr


def test_how_a_worker_ended_is_read_from_what_it_said_not_from_its_exit_code() -> None:
    started = [("started",)]
    assert _died(1, 0, started) is False
    assert _died(1, -signal.SIGKILL, started) is True
    assert _died(1, -signal.SIGKILL, []) is True  # killed while it started: restart it
    assert _died(1, 130, [*started, ("interrupted",)]) is True
    with pytest.raises(pop.ReportError, match="bad step"):
        _died(1, 1, [*started, ("error", "ReportError", "bad step")])
    with pytest.raises(SystemExit) as exited:
        _died(1, 3, [*started, ("exit", 3)])
    assert exited.value.code == 3
    with pytest.raises(pop.ConfigurationError, match="exited with code 3 before it started"):
        _died(1, 3, [])
    with pytest.raises(RuntimeError, match="exited with code 1 \\(its traceback is above\\)"):
        _died(1, 1, started)
