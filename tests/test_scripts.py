"""The example and benchmark scripts run end to end (small settings) and write their figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_toy_example_writes_its_figure_and_numbers(tmp_path: Path) -> None:
    out = _run(
        "examples/toy.py",
        "--seeds",
        "2",
        "--out",
        str(tmp_path / "toy.png"),
        "--json",
        str(tmp_path / "toy.json"),
    )
    assert "PBT median best Q at step 100" in out
    figures = json.loads((tmp_path / "toy.json").read_text())["median_best_q"]
    assert set(figures) == {"PBT", "explore only", "exploit only", "no interaction"}
    assert figures["PBT"]["step_100"] > figures["no interaction"]["step_25"]
    assert (tmp_path / "toy.png").stat().st_size > 10_000


@pytest.mark.slow
def test_core_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/core.py", "--quick", "--out", str(tmp_path))
    assert "bytes copied per exploit: 0" in out
    data = json.loads((tmp_path / "core.json").read_text())
    assert [r["population"] for r in data["reports"]] == [8, 64, 256, 1024]
    assert data["exploit"]["exploits"] > 0
    assert data["exploit"]["bytes_written_outside_ready_points"] == 0
