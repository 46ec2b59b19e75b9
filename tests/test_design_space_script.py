"""benchmarks/design_space.py runs end to end (``--quick`` on one task) and writes its files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _subprocess import run

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_design_space_benchmark_quick_mode(tmp_path: Path) -> None:
    command = ["benchmarks/design_space.py", "--quick", "--tasks", "digits_hard"]
    done = run([sys.executable, *command, "--out", str(tmp_path)], cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| digits_hard | exploit | t-test |" in done.stdout
    data = json.loads((tmp_path / "design_space.json").read_text())
    assert data["quick"] and data["seeds"] == 1 and not data["full"]
    task = data["tasks"]["digits_hard"]
    assert task["baseline_population"] == 4 and task["populations"] == [2, 4]
    # One factor at a time around the baseline (2 sizes, 2 other exploits, 3 other explores),
    # then random search at each size
    assert list(task["summary"]) == [
        "pop2-truncation-both",
        "pop4-truncation-both",
        "pop4-tournament-both",
        "pop4-t-test-both",
        "pop4-truncation-perturb",
        "pop4-truncation-resample",
        "pop4-truncation-pb2",
        "random-2",
        "random-4",
    ]
    for label, summary in task["summary"].items():
        assert len(task["runs"][label]) == 1
        assert 0.0 <= summary["best"]["median"] <= 1.0
        if label.startswith("random"):
            assert summary["exploits"] == 0 and summary["gain"]["best"]["median"] == 0.0
    assert "| task | factor | level |" in (tmp_path / "design_space.md").read_text()
    assert (tmp_path / "design_space.png").stat().st_size > 10_000
