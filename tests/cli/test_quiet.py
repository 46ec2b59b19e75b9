"""``--quiet`` silences every worker: the driver's own, spawned worker processes, and
``populace worker``; without it, a failed trial's warning is shown wherever it ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _subprocess import run

from tests.cli.test_cli import SPACE

# The first trial that ``fails`` says should fail raises once (the marker file remembers it).
FLAKY = '''
import multiprocessing, pathlib, time

def train(member, fails=lambda: True):
    spawned = multiprocessing.parent_process() is not None
    for step in range(member.step + 1, member.budget + 1):
        time.sleep(0.01 if spawned else 0.05)  # the driver leaves members to a late worker
        if fails() and not pathlib.Path("failed").exists():
            pathlib.Path("failed").touch()
            raise RuntimeError("flaky")
        member.report(step, float(step), checkpoint={})

def train_in_worker(member):
    """``train``, failing only in a spawned worker process."""
    train(member, lambda: multiprocessing.parent_process() is not None)
'''
SETTINGS = ["--population", "4", "--budget", "40", "--interval", "5", "--space", json.dumps(SPACE)]
WARNING = "train() raised; retrying from its last checkpoint"


def populace(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m populace.cli`` in ``folder``; every process it started ends with it."""
    done = run([sys.executable, "-m", "populace.cli", *args], cwd=folder, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "flaky.py").write_text(FLAKY)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [True, False])
def test_a_spawned_workers_warning_follows_the_drivers_quiet(folder: Path, quiet: bool) -> None:
    flags = ["--storage", f"sqlite:///{folder / 'runs.db'}", "--workers", "2", *SETTINGS]
    done = populace(folder, "run", "flaky:train_in_worker", *flags, *["--quiet"] * quiet)
    assert (folder / "failed").exists(), "no trial failed: the test proves nothing"
    assert (WARNING in done.stderr) is not quiet, done.stderr
    assert ("RuntimeError: flaky" in done.stderr) is not quiet


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [True, False])
def test_a_standalone_workers_warning_follows_its_quiet(folder: Path, quiet: bool) -> None:
    storage = ["--storage", f"sqlite:///{folder / 'runs.db'}"]
    populace(folder, "run", "flaky:train", *storage, "--workers", "0", "--name", "pbt", *SETTINGS)
    done = populace(folder, "worker", *storage, "pbt", "flaky:train", *["--quiet"] * quiet)
    assert (folder / "failed").exists(), "no trial failed: the test proves nothing"
    assert (WARNING in done.stderr) is not quiet, done.stderr
    assert ("RuntimeError: flaky" in done.stderr) is not quiet
