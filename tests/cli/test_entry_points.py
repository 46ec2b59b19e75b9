"""``python -m populace`` and ``python -m populace.cli`` are the ``populace`` command, and a run
they start trains with spawned worker processes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from _subprocess import run

import populace as pop
from tests.cli.test_cli import SPACE, TOY

MODULES = ["populace", "populace.cli"]


@pytest.mark.parametrize("module", MODULES)
def test_the_module_is_the_command(module: str, tmp_path: Path) -> None:
    version = run([sys.executable, "-m", module, "--version"], cwd=tmp_path, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"populace, version {pop.__version__}\n"
    listing = run([sys.executable, "-m", module, "--help"], cwd=tmp_path, timeout=60)
    assert listing.stdout.startswith("Usage: populace [OPTIONS] COMMAND")
    assert "  show " in listing.stdout


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_the_module_trains_with_worker_processes(module: str, tmp_path: Path) -> None:
    (tmp_path / "toy.py").write_text(TOY)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    command = [sys.executable, "-m", module, "run", "toy:train", "--storage", url, "--quiet"]
    settings = ["--population", "2", "--budget", "30", "--interval", "2", "--workers", "2"]
    slow = {**os.environ, "STEP_SECONDS": "0.1"}  # time for the spawned worker to start
    command += [*settings, "--space", json.dumps(SPACE)]
    done = run(command, cwd=tmp_path, env=slow, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("best member: ") == 1 and done.stderr == ""
    population = pop.load(url, "train")
    assert [m.state for m in population.members()] == ["finished", "finished"]
    assert len({r.owner for r in population.results()}) == 2, "one process trained everything"
