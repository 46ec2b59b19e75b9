"""The example and benchmark scripts run end to end (small settings) and write their figures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _subprocess import process_tree, run, started, still_alive

ROOT = Path(__file__).parents[1]


def _run(*args: str) -> str:
    done = run([sys.executable, *args], cwd=ROOT, timeout=600)
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
def test_dashboard_benchmark_quick_mode(tmp_path: Path) -> None:
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        if os.environ.get("POPULACE_REQUIRE_BROWSER") == "1":
            pytest.fail("no Chromium, and POPULACE_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip("no Chromium (apt-get install chromium)")
    out = _run("benchmarks/dashboard.py", "--quick", "--out", str(tmp_path))
    assert "page load to curves drawn" in out
    data = json.loads((tmp_path / "dashboard.json").read_text())
    assert data["quick"] and data["population"]["members"] == 64
    assert len(data["render"]["cold_samples_s"]) == 3 and data["render"]["cold_median_s"] > 0
    runs = data["overhead"]["runs"]
    assert sorted(r["dashboard"] for r in runs) == [False, False, True, True]
    assert all(int(r["page_results_shown"]) > 0 for r in runs if r["dashboard"])


@pytest.mark.slow
def test_compare_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/compare.py", "--quick", "--out", str(tmp_path))
    assert "| digits | 1 | pbt |" in out
    data = json.loads((tmp_path / "compare.json").read_text())
    tasks = ["digits", "digits_hard", "cartpole", "gan", "translate", "toy_plain", "toy_deceptive"]
    assert list(data["summary"]) == tasks
    for task in tasks:
        arms = data["summary"][task]
        assert list(arms) == ["pbt", "random", "explore-only", "exploit-only", "pb2", "fire"]
        assert arms["random"]["exploits"] == 0 and arms["explore-only"]["exploits"] == 0
        fire_runs = json.loads((tmp_path / f"compare-{task}.json").read_text())["runs"]["fire"]
        assert all(r["evaluations"] > 0 for r in fire_runs), task
        assert (tmp_path / f"compare-{task}.png").stat().st_size > 10_000
        runs = json.loads((tmp_path / f"compare-{task}.json").read_text())["runs"]
        assert all(len(runs[arm]) == 1 for arm in arms)
    assert "| task | seeds | arm |" in (tmp_path / "compare.md").read_text()


@pytest.mark.slow
def test_pb2_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/pb2.py", "--quick", "--out", str(tmp_path))
    assert "decision of an exploiting member" in out
    data = json.loads((tmp_path / "pb2.json").read_text())["decisions"]
    assert [(d["population"], d["explore"]) for d in data] == [
        (8, "PB2Explore"),
        (8, "PerturbOrResampleExplore"),
        (32, "PB2Explore"),
        (32, "PerturbOrResampleExplore"),
    ]
    assert all(d["stored_ready_results"] >= 2000 and d["exploits_timed"] > 0 for d in data)


@pytest.mark.slow
def test_fire_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/fire.py", "--quick", "--out", str(tmp_path))
    assert "FIRE evaluator" in out and "FIRE P2 member" in out
    runs = json.loads((tmp_path / "fire.json").read_text())["runs"]
    assert [r["arm"] for r in runs] == ["pbt", "fire", "fire, cache emptied"]
    assert runs[1]["decisions"]["evaluate"] > 0 and "evaluate" not in runs[0]["decisions"]
    assert set(runs[1]["roles"]) == {"FIRE P1 member", "FIRE P2 member", "FIRE evaluator"}


@pytest.mark.slow
def test_fire_decisions_read_a_kept_comparison(tmp_path: Path) -> None:
    keep, out = tmp_path / "keep", tmp_path / "out"
    arms = ("--arms", "pbt", "random", "fire", "--keep", str(keep), "--out", str(out))
    _run("benchmarks/compare.py", "--quick", "--tasks", "toy_deceptive", *arms)
    again = run([sys.executable, "benchmarks/compare.py", "--quick", *arms], cwd=ROOT, timeout=60)
    assert again.returncode == 2 and "holds populations already" in again.stderr
    table = _run("benchmarks/fire_decisions.py", str(keep), "--out", str(out))
    assert "| toy_deceptive | 0 |" in table
    (row,) = json.loads((out / "fire-decisions.json").read_text())["runs"]
    compared = json.loads((out / "compare-toy_deceptive.json").read_text())["runs"]
    assert row["best"] == {arm: compared[arm][0]["best"] for arm in ("random", "pbt", "fire")}
    evaluations = row["evaluations"]
    assert evaluations["count"] == sum(evaluations["endings"].values()) > 0
    assert set(row["best_draw"]) == {
        "P1",
        "P2",
    }  # quick: 4 members, no random row for the evaluator
    empty = run(
        [sys.executable, "benchmarks/fire_decisions.py", str(tmp_path / "none")],
        cwd=ROOT,
        timeout=60,
    )
    assert empty.returncode == 2 and "holds no FIRE populations" in empty.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "floor"), [("lightning", 0.5), ("transformers", 0.1)])
def test_pbt_against_fixed_benchmarks_quick_mode(
    tmp_path: Path, framework: str, floor: float
) -> None:
    pytest.importorskip(framework)
    out = _run(
        f"benchmarks/{framework}_pbt.py", "--quick", "--workers", "1", "--out", str(tmp_path)
    )
    assert "pbt: median best validation accuracy" in out
    data = json.loads((tmp_path / f"{framework}.json").read_text())
    assert data["quick"] and data["seeds"] == 1 and set(data["summary"]) == {"pbt", "fixed"}
    assert data["runs"]["pbt"][0]["exploits"] > 0 and data["runs"]["fixed"][0]["exploits"] == 0
    assert floor < data["summary"]["pbt"]["best"] <= 1.0


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


@pytest.mark.slow
def test_soak_benchmark_quick_mode(tmp_path: Path) -> None:
    out = _run("benchmarks/soak.py", "--quick", "--out", str(tmp_path))
    assert "per minute" in out and "nothing lost" in out
    data = json.loads((tmp_path / "soak.json").read_text())
    assert data["quick"] and data["backend"] == "sqlite"
    assert data["hung"] is False and data["passed"] is True and data["driver_exit_code"] == 0
    checks = data["checks"]
    assert checks["finished"] == checks["members"] == 16 and checks["failed"] == 0
    assert checks["results"] >= 16 * data["settings"]["budget"]
    for lost in ("lost_ready_results", "duplicate_results", "duplicate_decisions",
                 "decisions_without_ready_result", "checkpoints_unloadable"):  # fmt: skip
        assert checks[lost] == 0, lost
    assert len(data["kills"]) >= 3  # one worker every 10 s
    sizes = ["checkpoint_mb", "checkpoint_blobs", "database_mb", "wal_mb"]
    processes = ["driver_rss_mb", "driver_fds", "worker_rss_mb_max", "worker_rss_mb_mean"]
    series = [*sizes, *processes, "worker_fds_max"]
    samples = data["samples"]
    assert len(samples) >= 20 and all({"t_s", *series, "workers"} <= s.keys() for s in samples)
    assert [s["t_s"] for s in samples] == sorted(s["t_s"] for s in samples)
    assert all(s["driver_rss_mb"] > 10 and s["driver_fds"] > 3 for s in samples)
    assert any(len(s["workers"]) == 3 for s in samples)  # the driver and 3 worker processes
    biggest = max(samples, key=lambda s: s["checkpoint_blobs"])
    assert biggest["checkpoint_blobs"] > 16
    assert 1.0 <= biggest["checkpoint_mb"] / biggest["checkpoint_blobs"] < 1.1  # 1 MiB each
    assert samples[-1]["database_mb"] > 0
    assert set(data["trend"]) == set(series)
    for figures in data["trend"].values():
        assert set(figures) == {"start", "middle", "end", "slope_per_min"}
    assert set(data["after_finish"]) == set(sizes)


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _eventually(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_timed_out_command_leaves_no_process_behind() -> None:
    code = textwrap.dedent(
        """
        import subprocess, sys, time
        sleep = [sys.executable, "-c", "import time; time.sleep(299.25)"]
        subprocess.Popen(sleep, process_group=0)  # a process group of its own
        subprocess.Popen(["sh", "-c", "sleep 299.25 & exit 0"])  # an orphan at once
        print("started", flush=True)
        time.sleep(299.25)
        """
    )
    # The watcher finds the command's processes by this odd duration: a plain "sleep 300" run
    # by anyone else on the machine meanwhile would be taken for one that escaped.
    tree: set[tuple[int, str]] = set()

    def watch() -> None:  # the command's processes, seen from outside while it runs
        while not done.is_set():
            for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                if any(s in _command_line(pid) for s in ("sleep(299.25)", "sleep 299.25")):
                    tree.update(process_tree(pid))
            time.sleep(0.05)

    done = threading.Event()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(subprocess.TimeoutExpired) as expired:
            run([sys.executable, "-c", code], timeout=3)
    finally:
        done.set()
        watcher.join()
    assert expired.value.output == "started\n"
    assert len({pid for pid, _ in tree}) >= 3  # the command, its child, the shell's sleep
    assert still_alive(tree) == []


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGKILL])
def test_a_process_killed_first_ends_the_commands_it_started(sent: signal.Signals) -> None:
    # SIGTERM: the helper ends the command's session, then dies of the signal as it would have;
    # SIGKILL: the command gets SIGTERM as its parent dies.
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from _subprocess import started
        with started([sys.executable, "-c", "import time; time.sleep(300)"]) as sleeper:
            print(sleeper.pid, flush=True)
            time.sleep(300)
        """
    )
    with started([sys.executable, "-c", code], stdout=subprocess.PIPE) as test:
        assert test.stdout is not None
        sleeper = process_tree(int(test.stdout.readline()))
        assert len(sleeper) == 1
        test.send_signal(sent)
        assert test.wait(timeout=30) == -sent
        assert _eventually(lambda: not still_alive(sleeper), 10)


class _Tree:
    """The processes a benchmark started (driver, workers, PostgreSQL) and their command lines,
    as seen while it runs: orphans (workers of a killed driver) stay in the set once seen."""

    PARTS = ("populace.cli run", "spawn_main", "postgres -D")

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str], str] = {}

    def add(self, root: int) -> bool:
        """Add what runs under ``root`` now; returns whether the driver, a worker and the
        PostgreSQL server have all been seen."""
        for process in process_tree(root) - self.seen.keys():
            self.seen[process] = _command_line(process[0])
        return all(any(part in c for c in self.seen.values()) for part in self.PARTS)

    def alive(self) -> list[str]:
        return [self.seen[p] for p in self.seen if p[0] in still_alive({p})]

    def postgres_folder(self) -> Path:
        (server,) = {c for c in self.seen.values() if "postgres -D" in c}
        arguments = server.split()
        return Path(arguments[arguments.index("-D") + 1]).parent


# A run of minutes: the benchmark is stopped long before it ends.
FAULTS = [sys.executable, "benchmarks/faults.py", "--backends", "postgresql", "--budget", "2000"]


@pytest.mark.slow
def test_the_faults_benchmark_timed_out_leaves_no_process_behind(
    tmp_path: Path, postgres_server: object
) -> None:
    # postgres_server: skips where PostgreSQL is not installed.
    tree, stop, whole = _Tree(), threading.Event(), threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                if "benchmarks/faults.py" in _command_line(pid) and tree.add(pid):
                    whole.set()
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            run([*FAULTS, "--out", str(tmp_path)], cwd=ROOT, timeout=30)
    finally:
        stop.set()
        watcher.join()
    assert whole.is_set(), list(tree.seen.values())
    # PostgreSQL's own processes leave the session (setsid): they end when the server does.
    assert _eventually(lambda: not tree.alive(), 15), tree.alive()
    assert not tree.postgres_folder().exists()  # the benchmark stopped it on SIGTERM


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGKILL])
def test_the_faults_benchmark_killed_leaves_no_process_behind(
    tmp_path: Path, postgres_server: object, sent: signal.Signals
) -> None:
    tree, command = _Tree(), [*FAULTS, "--out", str(tmp_path)]
    with started(command, cwd=ROOT, stdout=subprocess.DEVNULL) as benchmark:
        assert _eventually(lambda: tree.add(benchmark.pid), 90), list(tree.seen.values())
        benchmark.send_signal(sent)
        benchmark.wait(timeout=60)
        if sent == signal.SIGTERM:  # the benchmark ends what it started, on its own
            assert _eventually(lambda: not tree.alive(), 15), tree.alive()
            assert not tree.postgres_folder().exists()
    # A SIGKILLed benchmark cleans nothing up: ending its session (as a timeout does) ends all.
    assert _eventually(lambda: not tree.alive(), 15), tree.alive()
    shutil.rmtree(tree.postgres_folder(), ignore_errors=True)
