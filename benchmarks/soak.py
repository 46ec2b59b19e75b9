"""Soak: a long run under worker kills, sampling what could grow without bound.

    python benchmarks/soak.py              # at least 20 minutes; → benchmarks/results/soak.json
    python benchmarks/soak.py --quick      # about 1.5 minutes (for CI)
    python benchmarks/soak.py --postgres   # on a PostgreSQL server this script starts

A driver (``populace run --workers 4``: itself and 3 worker processes) trains 16 members of
``benchmarks/_soak_train.py:train``: 50 ms a step, a ready point every 5 steps, a checkpoint of
1 MiB at each (every one a blob of its own), on SQLite in a temporary folder. Every
``--kill-every`` seconds (10) a random worker process, never the driver, is SIGKILLed; the driver
starts another. Every ``--sample-every`` seconds this script samples the checkpoint folder (bytes
and blobs), the database (the SQLite file and its WAL; for PostgreSQL the database's size and the
server's WAL folder), and the resident memory (VmRSS) and open file descriptors of the driver and
of each worker. At the end it checks that nothing was lost: every member finished, no ready
point's result vanished (results are polled every ``--check-every`` seconds), no result or
decision is stored twice, every decision has its ready result, and every member's latest
checkpoint loads and holds the step it was saved at.

Printed: a table of each series after the warm-up, in the middle and at the end, with its slope
per minute after the warm-up (least squares), and the checks. Written: all of it, the time series
included. A run not finished after ``--timeout`` seconds is stopped and diagnosed as in
``faults.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _postgres import postgres_server

import populace as pop

from _common import (
    Monitor,
    ProcessGroups,
    children,
    count_losses,
    diagnose,
    exit_cleanly_on_signals,
    print_diagnosis,
    table,
    write_results,
)

HERE = Path(__file__).parent
NAME = "soak"
SPACE = {"lr": {"type": "LogUniform", "low": 1e-3, "high": 1.0}}
SERIES = [
    "checkpoint_mb", "checkpoint_blobs", "database_mb", "wal_mb", "driver_rss_mb", "driver_fds",
    "worker_rss_mb_max", "worker_rss_mb_mean", "worker_fds_max",
]  # fmt: skip


def settings_for(quick: bool) -> dict[str, Any]:
    """Budgets: 16 members x budget steps on 4 workers at 20 steps a second each would take 60 s
    and 20 minutes with no overhead at all; on the project's 2-core box, 80 s and about 27."""
    return {
        "population": 16,
        "workers": 4,
        "interval": 5,
        "step_seconds": 0.05,
        "budget": 300 if quick else 6000,
        "warmup_s": 15.0 if quick else 60.0,
        "timeout_s": 600.0 if quick else 4 * 3600.0,
    }


def usage(pid: int) -> dict[str, float] | None:
    """Resident memory (MB) and open file descriptors of ``pid``; None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    rss = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")]
    return {"rss_mb": rss[0] / 1024, "fds": fds} if rss else None  # a zombie has no memory


def folder_size(folder: Path) -> tuple[int, int]:
    """Bytes of every file under ``folder``, and how many blobs (files under ``objects/``)."""
    total = blobs = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # collected meanwhile
                total += os.stat(os.path.join(root, name)).st_size
        if Path(root).relative_to(folder).parts[:1] == ("objects",):
            blobs += len(files)
    return total, blobs


class Database:
    """The size of the storage on disk: the SQLite file and its WAL, or for PostgreSQL the
    database (``pg_database_size``) and the server's WAL folder."""

    def __init__(self, url: str, wal_folder: Path | None = None) -> None:
        self.url = url
        self.wal_folder = wal_folder
        self._engine: Any = None
        if not url.startswith("sqlite:///"):
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            self._engine = create_engine(url, poolclass=NullPool)

    def sizes(self) -> tuple[int, int]:
        """(database bytes, WAL bytes)."""
        if self._engine is None:
            path = Path(self.url.removeprefix("sqlite:///"))
            return _size(path), _size(path.with_name(path.name + "-wal"))
        from sqlalchemy import text

        with self._engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            database = int(size.scalar_one())
        return database, folder_size(self.wal_folder)[0] if self.wal_folder else 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def sizes(checkpoints: Path, database: Database) -> dict[str, float]:
    """The checkpoint folder and the database, in MB (and blobs)."""
    size, blobs = folder_size(checkpoints)
    db_bytes, wal_bytes = database.sizes()
    return {
        "checkpoint_mb": size / 2**20,
        "checkpoint_blobs": blobs,
        "database_mb": db_bytes / 2**20,
        "wal_mb": wal_bytes / 2**20,
    }


def sample(
    elapsed: float, driver: int, checkpoints: Path, database: Database
) -> dict[str, Any] | None:
    """One sample of every series, with each worker's own figures; None if the driver exited."""
    mine = usage(driver)
    if mine is None:
        return None
    workers = {pid: u for pid in children(driver) if (u := usage(pid)) is not None}
    rss = [u["rss_mb"] for u in workers.values()]
    return {
        "t_s": round(elapsed, 2),
        **sizes(checkpoints, database),
        "driver_rss_mb": mine["rss_mb"],
        "driver_fds": mine["fds"],
        # None once the workers have finished (the driver's last members): not a drop to zero
        "worker_rss_mb_max": max(rss) if rss else None,
        "worker_rss_mb_mean": statistics.fmean(rss) if rss else None,
        "worker_fds_max": max(u["fds"] for u in workers.values()) if workers else None,
        "workers": {str(pid): u for pid, u in workers.items()},
    }


def trend(samples: list[dict[str, Any]], warmup_s: float) -> dict[str, dict[str, float]]:
    """Each series after the warm-up, in the middle and at the end, and its slope per minute
    after the warm-up (least squares; samples without a value are left out)."""
    after = [s for s in samples if s["t_s"] >= warmup_s] or samples[-1:]
    figures = {}
    for name in SERIES:
        points = [(s["t_s"] / 60, float(s[name])) for s in after if s[name] is not None]
        if not points:
            continue
        minutes, values = zip(*points, strict=True)
        slope = statistics.linear_regression(minutes, values).slope if len(points) > 1 else 0.0
        figures[name] = {
            "start": values[0],
            "middle": values[len(values) // 2],
            "end": values[-1],
            "slope_per_min": slope,
        }
    return figures


def kill_a_worker(driver: int, rng: random.Random, elapsed: float) -> dict[str, Any] | None:
    """SIGKILL a random worker process of the driver (never the driver)."""
    workers = children(driver)
    if not workers:
        return None
    victim = rng.choice(workers)
    with contextlib.suppress(ProcessLookupError):
        os.kill(victim, signal.SIGKILL)
    return {"at_s": round(elapsed, 2), "pid": victim}


def latest_checkpoints(population: pop.Population) -> dict[str, Any]:
    """Whether every member's latest checkpoint loads and holds the step it was saved at."""
    failures = []
    for member in population.storage.members(population.id):
        try:
            state: Any = population.checkpoints.get(member.checkpoint or "")
            if state["weights"].shape != (131_072,) or state["step"] != member.checkpoint_step:
                failures.append(f"member {member.id}: step {state['step']}, "
                                f"expected {member.checkpoint_step}")  # fmt: skip
        except (pop.PopulaceError, KeyError, AttributeError, TypeError) as exc:
            failures.append(f"member {member.id}: {exc}")
    return {"checkpoints_unloadable": len(failures), "checkpoint_failures": failures}


def checks(population: pop.Population, monitor: Monitor) -> dict[str, Any]:
    """What was lost, stored twice or left unloadable."""
    storage = population.storage
    ready = {(r.member, r.generation, r.step) for r in storage.results(population.id) if r.ready}
    decided = {(d.member, d.generation, d.step) for d in storage.decisions(population.id)}
    return {
        **count_losses(population, monitor),
        "decisions_without_ready_result": len(decided - ready),
        **latest_checkpoints(population),
    }


def passed(found: dict[str, Any]) -> bool:
    """Whether nothing was lost."""
    zero = ["failed", "lost_ready_results", "duplicate_results", "duplicate_decisions",
            "decisions_without_ready_result", "checkpoints_unloadable"]  # fmt: skip
    return found["finished"] == found["members"] and not any(found[k] for k in zero)


def soak(
    url: str, folder: Path, database: Database, settings: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Run the driver under worker kills, sampling as it goes; check what is left at the end."""
    env = {**os.environ, "POPULACE_SOAK_STEP_SECONDS": str(settings["step_seconds"])}
    command = [
        sys.executable, "-m", "populace.cli", "run", f"{HERE / '_soak_train.py'}:train",
        "--space", json.dumps(SPACE), "--population", str(settings["population"]),
        "--budget", str(settings["budget"]), "--interval", str(settings["interval"]),
        "--workers", str(settings["workers"]), "--storage", url,
        "--checkpoints", str(folder / "checkpoints"), "--name", NAME, "--seed", str(args.seed),
        "--quiet",
    ]  # fmt: skip
    rng = random.Random(args.seed)
    log_path = folder / "driver.log"
    samples: list[dict[str, Any]] = []
    kills: list[dict[str, Any]] = []
    started = time.time()
    with open(log_path, "w") as log, ProcessGroups() as groups:
        driver = groups.start(command, env=env, stdout=log, stderr=log)
        population = wait_for_population(url, driver, started + settings["timeout_s"])
        with Monitor(url, NAME, every=args.check_every) as monitor:
            next_sample, next_kill = started, started + args.kill_every
            while driver.poll() is None:
                now = time.time()
                if now - started > settings["timeout_s"]:
                    groups.end()
                    return {"hung": True, "wall_s": now - started, "samples": samples,
                            "kills": kills, "diagnosis": diagnose(url, NAME, log_path)}  # fmt: skip
                if now >= next_sample:
                    next_sample += args.sample_every
                    taken = sample(now - started, driver.pid, folder / "checkpoints", database)
                    samples += [taken] if taken else []
                if now >= next_kill:
                    next_kill += args.kill_every
                    if kill := kill_a_worker(driver.pid, rng, now - started):
                        kills.append(kill)
                time.sleep(0.1)
            wall_s = time.time() - started
    log_tail = log_path.read_text(errors="replace").splitlines()[-20:]
    return {
        "hung": False,
        "wall_s": wall_s,
        "driver_exit_code": driver.returncode,
        "driver_log_tail": log_tail if driver.returncode else [],
        "kills": kills,
        "samples": samples,
        "after_finish": sizes(folder / "checkpoints", database),
        "checks": checks(population, monitor),
    }


def wait_for_population(url: str, driver: subprocess.Popen[bytes], deadline: float) -> Any:
    """The population, once the driver has created it."""
    while time.time() < deadline and driver.poll() is None:
        with contextlib.suppress(pop.PopulaceError):
            return pop.load(url, NAME)
        time.sleep(0.2)
    raise SystemExit(f"the driver created no population (exit code {driver.poll()})")


@contextlib.contextmanager
def storage(postgres: bool, folder: Path) -> Iterator[tuple[str, Database]]:
    """The storage URL and its size on disk: SQLite in ``folder``, or a PostgreSQL server."""
    if not postgres:
        url = f"sqlite:///{folder / 'soak.db'}"
        yield url, Database(url)
        return
    with postgres_server() as server:
        yield server.url, Database(server.url, server.data / "pg_wal")


def report(result: dict[str, Any], settings: dict[str, Any]) -> None:
    if result["hung"]:
        print_diagnosis(result["diagnosis"])
        return
    figures = result["trend"]
    rows = [[name, *(f[k] for k in ("start", "middle", "end", "slope_per_min"))]
            for name, f in figures.items()]  # fmt: skip
    title = (f"soak: {result['wall_s']:.0f} s, {len(result['kills'])} workers killed; series "
             f"after {settings['warmup_s']:.0f} s of warm-up")  # fmt: skip
    print(table(title, ["series", "start", "middle", "end", "per minute"], rows))
    after = [[name, value] for name, value in result["after_finish"].items()]
    print(table("after the finish (checkpoints collected)", ["series", "value"], after))
    found = [[k, v] for k, v in result["checks"].items() if k != "checkpoint_failures"]
    print(table("checks", ["check", "value"], found))
    print("nothing lost" if passed(result["checks"]) else "LOST OR DAMAGED: see the checks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 1.5 minutes (for CI)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kill-every", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--sample-every", type=float, metavar="SECONDS",
                        help="[default: 2 with --quick, else 5]")  # fmt: skip
    parser.add_argument("--check-every", type=float, metavar="SECONDS",
                        help="how often stored results are polled [default: 3 with --quick, "
                        "else 30]")  # fmt: skip
    parser.add_argument("--budget", type=int, help="steps per member (overrides the mode's)")
    parser.add_argument("--out", type=Path, help="folder of the results")
    args = parser.parse_args()
    args.sample_every = args.sample_every or (2.0 if args.quick else 5.0)
    args.check_every = args.check_every or (3.0 if args.quick else 30.0)
    exit_cleanly_on_signals()
    settings = settings_for(args.quick)
    if args.budget:
        settings["budget"] = args.budget
    with tempfile.TemporaryDirectory(prefix="populace-soak-") as tmp:
        folder = Path(tmp)
        with storage(args.postgres, folder) as (url, database):
            result = soak(url, folder, database, settings, args)
    if not result["hung"]:
        result["trend"] = trend(result["samples"], settings["warmup_s"])
        result["passed"] = passed(result["checks"])
    report(result, settings)
    out = write_results(
        "soak",
        {"quick": args.quick, "backend": "postgresql" if args.postgres else "sqlite",
         "settings": {**settings, "kill_every_s": args.kill_every,
                      "sample_every_s": args.sample_every, "check_every_s": args.check_every},
         **result},
        *([args.out] if args.out else []),
    )  # fmt: skip
    print(f"wrote {out}")
    if result["hung"] or not result["passed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
