"""``populace status NAME`` shows a worker whose process died as dead, and why."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from _subprocess import started

import populace as pop
from populace.cli._status import worker_state
from populace.storage import SQLStorage, WorkerRecord
from tests.cli.test_cli import SPACE, TOY, ok, populace

SETTINGS = ["--population", "2", "--budget", "1000", "--interval", "5"]


def _registered(url: str, pid: int, deadline: float) -> None:
    """Wait until the worker process ``pid`` is in the population's workers table."""
    while time.monotonic() < deadline:
        storage = SQLStorage(url, read_only=True)
        try:
            population = storage.find_population("toy")
            if population and any(w.pid == pid for w in storage.workers(population.id)):
                return
        finally:
            storage.close()
        time.sleep(0.1)
    raise AssertionError(f"worker {pid} never registered")


def _worker_line(url: str, pid: int, cwd: Path) -> str:
    out = ok(populace("status", "--storage", url, "toy", cwd=cwd))
    lines = [line for line in out.splitlines() if f" {pid} " in line]
    assert len(lines) == 1, out
    return lines[0]


def test_a_worker_killed_with_sigkill_is_shown_dead(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(TOY)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    create = ["run", "slow.py:train", "--name", "toy", *SETTINGS, "--space", json.dumps(SPACE)]
    ok(populace(*create, "--storage", url, "--workers", "0", cwd=tmp_path))
    command = [sys.executable, "-m", "populace.cli", "worker", "--storage", url, "toy"]
    quiet = subprocess.DEVNULL
    slow = {**os.environ, "STEP_SECONDS": "0.2"}
    with started(
        [*command, "slow.py:train"], cwd=tmp_path, env=slow, stdout=quiet, stderr=quiet
    ) as worker:
        _registered(url, worker.pid, time.monotonic() + 60)
        assert _worker_line(url, worker.pid, tmp_path).endswith("running")
        worker.send_signal(signal.SIGKILL)
    # Leaving ``started`` reaped it: a zombie would still answer to its pid.
    line = _worker_line(url, worker.pid, tmp_path)
    assert line.endswith(f"dead (process {worker.pid} on this host is gone)"), line


def _record(
    host: str, last_seen: float, lease: float | None, stopped: float | None = None
) -> WorkerRecord:
    return WorkerRecord(f"{host}:1:x", host, 1, 0.0, last_seen, stopped, lease)


def test_a_worker_unseen_for_longer_than_its_lease_is_dead() -> None:
    elsewhere = "another-host"
    assert worker_state(_record(elsewhere, 90.0, 30.0), now=100.0, dead=set()) == "running"
    assert worker_state(_record(elsewhere, 60.0, 30.0), now=100.0, dead=set()) == (
        "dead (not seen for 40 s, longer than its 30 s lease)"
    )
    # Recorded before workers stored their lease: the default lease of `populace worker`.
    assert worker_state(_record(elsewhere, 50.0, None), now=100.0, dead=set()) == "running"
    assert worker_state(_record(elsewhere, 30.0, None), now=100.0, dead=set()) == (
        "dead (not seen for 70 s, longer than its 60 s lease)"
    )
    stopped = _record(elsewhere, 10.0, 30.0, stopped=10.0)
    assert worker_state(stopped, now=100.0, dead={stopped.owner}) == "stopped 90 s ago"


def test_a_live_worker_on_this_host_is_running(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    population = pop.run(
        lambda member: None, space, budget=4, interval=2, name="toy", storage=url, workers=0
    )
    host = socket.gethostname()
    population.storage.register_worker(
        population.id, f"{host}:{os.getpid()}:x", host, os.getpid(), time.time(), 60.0
    )
    population.storage.close()
    assert _worker_line(url, os.getpid(), tmp_path).endswith("running")
