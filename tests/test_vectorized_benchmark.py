"""The vectorized executor's benchmark runs in quick mode and writes its figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _subprocess import run

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_vectorized_benchmark_quick_mode(tmp_path: Path) -> None:
    command = [sys.executable, "benchmarks/vectorized.py", "--quick", "--out", str(tmp_path)]
    done = run(command, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "speed-up of the vectorized executor" in done.stdout
    data = json.loads((tmp_path / "vectorized.json").read_text())
    cells = {(c["executor"], c["threads"], c["workers"], c["population"]): c for c in data["cells"]}
    variants = [
        ("serial", 1, 1),
        ("processes", 1, 2),
        ("vectorized", 1, 1),
        ("vectorized", 2, 1),
        ("vectorized", 1, 2),
    ]
    assert set(cells) == {(e, t, w, k) for e, t, w in variants for k in (4, 8)}
    assert all(c["results"] == c["population"] * 2 for c in cells.values())
    assert cells["vectorized", 1, 1, 8]["copies"] > 0  # the exploits were applied in place
    assert [s["population"] for s in data["speedups"]] == [4, 8]
    assert [r["population"] for r in data["step_costs"]] == [4, 8]
    assert all(set(r["ms_per_step"]) == {"loop", "vmap", "fused"} for r in data["step_costs"])
