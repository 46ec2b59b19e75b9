"""``populace run --workers 0`` and ``populace worker``, as real processes on a SQLite file."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _subprocess import started

import populace as pop
from tests.cli.test_cli import SPACE, ok, populace

# Slow enough (20 ms a step) that a worker is mid-trial when it is signalled.
SLOW_TOY = '''
import time

def train(member):
    """Walk x toward 1 at the member's rate; the score is minus the distance left."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    x, step = state["x"], state["step"]
    while step < member.budget:
        time.sleep(0.02)
        step += 1
        x += member.params["lr"] * (1.0 - x)
        member.report(step, -abs(1.0 - x), checkpoint={"x": x, "step": step})
'''
SETTINGS = ["--population", "4", "--budget", "30", "--interval", "5", "--seed", "1"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "slow_toy.py").write_text(SLOW_TOY)
    return tmp_path


def create(folder: Path, url: str, name: str = "pbt") -> str:
    """Create population ``name`` with ``populace run --workers 0``; return what it printed."""
    return ok(
        populace(
            "run", "slow_toy:train", *SETTINGS, "--space", json.dumps(SPACE),
            "--storage", url, "--name", name, "--workers", "0", cwd=folder,
        )
    )  # fmt: skip


StartWorker = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """``start_worker(folder, url, *extra, name="pbt")`` starts ``populace worker`` in a session
    of its own, output piped; each session is ended when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(folder: Path, url: str, *extra: str, name: str = "pbt") -> subprocess.Popen[str]:
            command = [sys.executable, "-m", "populace.cli", "worker", "--storage", url, name]
            command += ["slow_toy:train", "--heartbeat-seconds", "0.5", "--lease-seconds", "5"]
            command += extra
            pipe = subprocess.PIPE
            return stack.enter_context(started(command, cwd=folder, stdout=pipe, stderr=pipe))

        yield start


def assert_trained_once(url: str, name: str = "pbt") -> pop.Population:
    """Every member finished at its budget; no result stored twice."""
    population = pop.load(url, name)
    members = population.storage.members(population.id)
    assert all(m.state == "finished" and m.step == 30 for m in members)
    keys = Counter(
        (r.member, r.generation, r.step) for r in population.storage.results(population.id)
    )
    assert max(keys.values()) == 1
    return population


def test_workers_0_creates_the_population_without_training_it(folder: Path) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    printed = create(folder, url)
    assert "populace worker" in printed
    population = pop.load(url, "pbt")
    assert population.size == 4
    assert population.storage.results(population.id) == []
    # Creating it again with the same settings is a no-op, not an error.
    create(folder, url)


@pytest.mark.slow
def test_two_workers_train_the_population_and_exit_cleanly(
    folder: Path, start_worker: StartWorker
) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    create(folder, url)
    processes = [start_worker(folder, url) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in processes]
    for worker, (out, err) in zip(processes, outputs, strict=True):
        assert worker.returncode == 0, out + err
        assert "best member" in out
    population = assert_trained_once(url)
    owners = {r.owner for r in population.storage.results(population.id)}
    assert len(owners) == 2  # both took part
    workers = population.storage.workers(population.id)
    assert {w.owner for w in workers} == owners
    assert all(w.stopped_at is not None and w.pid in {p.pid for p in processes} for w in workers)
    status = ok(populace("status", "--storage", url, "pbt", cwd=folder))
    assert status.count("stopped") == 2


@pytest.mark.slow
def test_a_worker_stopped_with_sigterm_frees_its_members_for_the_others(
    folder: Path, start_worker: StartWorker
) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    create(folder, url)
    doomed = start_worker(folder, url)
    population = pop.load(url, "pbt")
    deadline = time.monotonic() + 60
    while not population.storage.results(population.id):  # wait until it trains
        assert time.monotonic() < deadline
        time.sleep(0.1)
    doomed.send_signal(signal.SIGTERM)
    _, err = doomed.communicate(timeout=30)
    assert doomed.returncode == 130, err
    assert "free for the other workers" in err
    assert all(m.lease_owner is None for m in population.storage.members(population.id))
    survivor = start_worker(folder, url)
    out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, out + err
    assert_trained_once(url)


@pytest.mark.slow
def test_a_worker_started_first_waits_for_the_population(
    folder: Path, start_worker: StartWorker
) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    create(folder, url, name="other")  # the database exists, the population does not yet
    early = start_worker(folder, url, "--wait", "60")
    time.sleep(1.5)
    assert early.poll() is None
    create(folder, url)
    out, err = early.communicate(timeout=120)
    assert early.returncode == 0, out + err
    assert "no population named 'pbt'" in err  # it said what it was waiting for
    assert_trained_once(url)


def test_an_unknown_population_is_an_error_listing_the_known_ones(folder: Path) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    create(folder, url)
    done = populace("worker", "--storage", url, "nope", "slow_toy:train", cwd=folder)
    assert done.returncode == 1
    assert "no population named 'nope'" in done.stderr
    assert "['pbt']" in done.stderr


def test_a_heartbeat_slower_than_the_lease_is_refused(folder: Path) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    done = populace(
        "worker", "--storage", url, "pbt", "slow_toy:train",
        "--heartbeat-seconds", "30", "--lease-seconds", "10", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--heartbeat-seconds" in done.stderr
