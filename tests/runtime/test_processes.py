"""Worker processes for real: SIGKILL a worker, SIGKILL the driver, Ctrl-C, exclusive leases."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _subprocess import started

import populace as pop

from .workloads import SPACE, climb, slow_climb

ROOT = Path(__file__).parents[2]
SETTINGS = dict(population=6, budget=40, interval=5, seed=5, progress=False)

pytestmark = pytest.mark.slow
Start = Callable[[list[str]], subprocess.Popen[str]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Starts commands in sessions of their own, output piped; each session is ended when the
    test ends, so that no driver or worker outlives a failed test."""
    with contextlib.ExitStack() as stack:

        def start(command: list[str]) -> subprocess.Popen[str]:
            pipe = subprocess.PIPE
            return stack.enter_context(started(command, stdout=pipe, stderr=pipe))

        yield start


def _driver(db: Path, workers: int = 2) -> list[str]:
    """The command that runs ``pop.run`` with worker processes in a separate driver process."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import populace as pop
        from tests.runtime.workloads import SPACE, slow_climb
        pop.run(slow_climb, SPACE, storage="sqlite:///{db}", name="slow", workers={workers},
                **{SETTINGS!r})
        print("done")
    """)
    return [sys.executable, "-c", script]


def _wait_for_results(
    db: Path, count: int, workers: int = 1, timeout: float = 60.0
) -> pop.Population:
    """Wait until ``count`` results are stored, from at least ``workers`` different workers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                population = pop.load(f"sqlite:///{db}", "slow")
                results = population.results()
                if len(results) >= count and len({r.owner for r in results}) >= workers:
                    return population
            except pop.StorageError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} results after {timeout} s")


def _assert_complete_and_exclusive(population: pop.Population) -> None:
    members = population.members()
    assert [(m.state, m.step) for m in members] == [("finished", 40)] * 6
    keys = [(r.member, r.generation, r.step) for r in population.results()]
    assert len(keys) == len(set(keys)), "a step was recorded twice"
    decisions = [(d.member, d.generation, d.step) for d in population.decisions()]
    assert len(decisions) == len(set(decisions)), "a decision was recorded twice"
    # A member is never trained by two workers at once: in the order results were stored, a
    # member passes from one worker to another only at a trial's start, right after a ready
    # point (steps 5, 10, ...), never in the middle of an interval.
    last_owner: dict[int, str | None] = {}
    for r in population.results():
        if r.member in last_owner and last_owner[r.member] != r.owner:
            assert (r.step - 1) % 5 == 0, f"member {r.member} changed worker at step {r.step}"
        last_owner[r.member] = r.owner


def _worker_pids(population: pop.Population, driver: int) -> list[int]:
    pids = {int(r.owner.split(":")[1]) for r in population.results() if r.owner}
    return sorted(pid for pid in pids if pid != driver)


def test_sigkill_of_a_worker_loses_at_most_the_interval_in_flight(
    tmp_path: Path, start: Start
) -> None:
    db = tmp_path / "runs.db"
    driver = start(_driver(db))
    population = _wait_for_results(db, 40, workers=2)
    victim = _worker_pids(population, driver.pid)[0]
    os.kill(victim, signal.SIGKILL)
    out, err = driver.communicate(timeout=180)
    assert driver.returncode == 0, err
    assert "done" in out
    assert "worker processes: worker 1 died; starting another" in err
    _assert_complete_and_exclusive(pop.load(f"sqlite:///{db}", "slow"))


def test_sigkill_of_the_driver_then_rerun_finishes_the_run(tmp_path: Path, start: Start) -> None:
    db = tmp_path / "runs.db"
    driver = start(_driver(db))
    _wait_for_results(db, 60)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its workers, as a lost machine would
    driver.wait(timeout=30)
    partial = pop.load(f"sqlite:///{db}", "slow")
    assert not partial.done
    again = start(_driver(db))
    _out, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    _assert_complete_and_exclusive(pop.load(f"sqlite:///{db}", "slow"))


def test_workers_end_with_a_driver_killed_by_sigterm(tmp_path: Path, start: Start) -> None:
    """SIGTERM to the driver alone (``kill PID``, a scheduler): its workers must not train on as
    orphans; they unwind like on Ctrl-C, releasing their members, and the run resumes."""
    db = tmp_path / "runs.db"
    driver = start(_driver(db, workers=3))
    population = _wait_for_results(db, 40, workers=3)
    workers = _worker_pids(population, driver.pid)
    assert len(workers) == 2
    os.kill(driver.pid, signal.SIGTERM)
    driver.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a worker outlived its driver"
    # Orphans would have trained on to the end of the run (a few seconds of work were left).
    stopped = pop.load(f"sqlite:///{db}", "slow")
    assert not stopped.done, "the workers trained on after their driver was killed"
    resumed = pop.run(
        slow_climb, SPACE, storage=f"sqlite:///{db}", name="slow", workers=2, **SETTINGS
    )
    _assert_complete_and_exclusive(resumed)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigint_stops_cleanly_and_the_run_resumes(tmp_path: Path, start: Start) -> None:
    db = tmp_path / "runs.db"
    driver = start(_driver(db))
    _wait_for_results(db, 40)
    os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _out, err = driver.communicate(timeout=60)
    assert driver.returncode != 0
    assert "call pop.run again with the same name and storage to resume" in err
    stopped = pop.load(f"sqlite:///{db}", "slow")
    assert all(m.lease_owner is None for m in stopped.storage.members(stopped.id))
    resumed = pop.run(
        slow_climb, SPACE, storage=f"sqlite:///{db}", name="slow", workers=2, **SETTINGS
    )
    _assert_complete_and_exclusive(resumed)


def test_processes_need_shared_storage() -> None:
    # A train that cannot be pickled: tests/runtime/test_notebooks.py.
    with pytest.raises(pop.ConfigurationError, match="in-memory"):
        pop.run(slow_climb, SPACE, storage="memory", workers=2, **SETTINGS)


def test_workers_racing_for_members_never_train_from_a_stale_copy(tmp_path: Path) -> None:
    # Quick members make the workers claim, pause and hand members over constantly.
    for attempt in range(4):
        result = pop.run(
            climb,
            SPACE,
            population=8,
            budget=20,
            interval=5,
            seed=attempt,
            storage=f"sqlite:///{tmp_path / 'race.db'}",
            name=f"race-{attempt}",
            workers=2,
            progress=False,
        )
        assert [(m.state, m.step) for m in result.members()] == [("finished", 20)] * 8
        keys = [(r.member, r.generation, r.step) for r in result.results()]
        assert len(keys) == len(set(keys))


def test_a_script_without_a_main_guard_fails_at_once_with_a_hint(
    tmp_path: Path, start: Start
) -> None:
    # Spawned workers import the script; without the guard each one would start a run of its own.
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            import populace as pop
            from tests.runtime.workloads import SPACE, climb
            pop.run(climb, SPACE, storage="sqlite:///{tmp_path / "u.db"}", workers=2,
                    population=4, budget=20, interval=5, progress=False)
        """)
    )
    began = time.monotonic()
    driver = start([sys.executable, str(script)])
    _out, err = driver.communicate(timeout=120)
    assert driver.returncode != 0
    assert "if __name__ == '__main__':" in err
    assert err.count("starting another") == 0
    assert time.monotonic() - began < 60
