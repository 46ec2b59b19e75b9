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


@pytest.mark.slow
def test_overhead_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/overhead.py", "--quick", "--out", str(tmp_path))
    assert "plain loop: 8 members x 4 epochs" in out
    data = json.loads((tmp_path / "overhead.json").read_text())
    main = data["main"]
    assert main["workers"] == 2 and len(main["worker_first_train_s"]) == 1
    assert main["reports_timed"] > 0 and main["report_median_ms"] > 0
    assert main["busy_s"] > 0 and main["wall_s"] > 0
    assert [r["population"] for r in data["by_population"]] == [4, 8]
    assert [r["workers"] for r in data["by_workers"]] == [1, 2]


@pytest.mark.slow
def test_compare_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/compare.py", "--quick", "--out", str(tmp_path))
    assert "| digits | 1 | pbt |" in out
    data = json.loads((tmp_path / "compare.json").read_text())
    tasks = ["digits", "digits_hard", "cartpole", "gan", "translate"]
    assert list(data["summary"]) == tasks
    for task in tasks:
        arms = data["summary"][task]
        assert list(arms) == ["pbt", "random", "explore-only", "exploit-only"]
        assert arms["random"]["exploits"] == 0 and arms["explore-only"]["exploits"] == 0
        assert (tmp_path / f"compare-{task}.png").stat().st_size > 10_000
        runs = json.loads((tmp_path / f"compare-{task}.json").read_text())["runs"]
        assert all(len(runs[arm]) == 1 for arm in arms)
    assert "| task | seeds | arm |" in (tmp_path / "compare.md").read_text()


@pytest.mark.slow
def test_replay_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/replay.py", "--task", "digits_hard", "--quick", "--out", str(tmp_path))
    assert "median difference (replay - best)" in out
    (run,) = json.loads((tmp_path / "replay.json").read_text())["runs"]
    assert run["population"] == "digits_hard-0"
    assert 0.0 <= run["replay"] <= 1.0 and 0.0 <= run["replay_test"] <= 1.0
    assert run["difference"] == pytest.approx(run["replay"] - run["best"])


@pytest.mark.slow
def test_scaling_benchmark_quick_mode(tmp_path: Path, postgres_url: str) -> None:
    out = _run(
        "benchmarks/scaling.py", "--quick", "--postgres-url", postgres_url, "--out", str(tmp_path)
    )
    assert "ready p99 ms" in out
    rows = json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert {r["backend"] for r in rows} == {"sqlite", "postgresql"}
    for row in rows:
        assert row["finished"] == row["population"]
        # an exploit may restart a member from a parent a little behind it: a few steps again
        assert row["results"] >= row["population"] * row["budget"]
        assert row["errors_printed"] == 0 and row["workers_failed"] == 0
        assert row["ready_ms_p99"] >= row["ready_ms_median"] > 0


@pytest.mark.slow
def test_faults_benchmark_quick_mode(tmp_path: Path, postgres_server: object) -> None:
    # postgres_server: the benchmark starts a server of its own, from the same binaries.
    out = _run("benchmarks/faults.py", "--quick", "--out", str(tmp_path))
    assert "recovery" in out
    rows = json.loads((tmp_path / "faults.json").read_text())["rows"]
    assert [r["backend"] for r in rows] == ["sqlite", "postgresql"]
    for row in rows:
        assert row["finished"] == row["members"] == 16
        assert row["lost_ready_results"] == row["duplicate_results"] == 0
        assert row["duplicate_decisions"] == row["out_of_order"] == 0
        kinds = {f["fault"] for f in row["faults"]}
        assert {"SIGKILL worker", "SIGKILL driver", "corrupt checkpoint"} <= kinds
    assert "restart PostgreSQL" in {f["fault"] for f in rows[1]["faults"]}
