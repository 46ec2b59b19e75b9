"""How populace's coordination scales: results per second and ready-point latency against worker
count and population size, on SQLite and PostgreSQL, with a training function that does nothing.

    python benchmarks/scaling.py                      # writes benchmarks/results/scaling.json
    python benchmarks/scaling.py --quick              # small populations (for CI)
    python benchmarks/scaling.py --postgres-url URL   # an existing server (default: start one)

Each configuration creates a population (``pop.run(..., workers=0)``) and starts N standalone
``populace worker`` processes on it, as a cluster would. From the stored rows:
- results per second: results stored between the first and the last one, per second;
- ready-point latency: time inside ``report`` at a ready point, measured in the training
  function: checkpoint save, result, snapshot, strategy and decision commit (or a pause when a
  member behind waits for a worker), median and p99;
- errors: lock, serialisation, deadlock or connection errors, retries and tracebacks printed by
  any worker (target 0), and workers that exited with an error.
Workers are processes on this machine: with more workers than cores they share the CPU, so
results/s measures the storage's contention, not a cluster's aggregate.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
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

from _common import table, write_results

HERE = Path(__file__).parent
ERRORS = re.compile(
    r"Traceback|OperationalError|deadlock|database is locked|could not serialize|retrying",
    re.IGNORECASE,
)
FULL = {
    "sqlite": {"workers": [1, 4, 16], "grow_workers": 4},
    "postgresql": {"workers": [1, 8, 32], "grow_workers": 8},
}
QUICK = {
    "sqlite": {"workers": [1, 2], "grow_workers": 2},
    "postgresql": {"workers": [1, 2], "grow_workers": 2},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(url: str, name: str, population: int, budget: int, interval: int, workers: int) -> dict:
    """Train one population with ``workers`` standalone workers; return its figures."""
    from _noop import SPACE, train

    pop.run(
        train, SPACE, population=population, budget=budget, interval=interval,
        storage=url, name=name, workers=0, progress=False,
    )  # fmt: skip
    command = [
        sys.executable, "-m", "populace.cli", "worker", "--storage", url, name,
        f"{HERE / '_noop.py'}:train", "--quiet",
    ]  # fmt: skip
    timings = Path(tempfile.mkdtemp(prefix="populace-timings-"))
    env = {**os.environ, "POPULACE_NOOP_TIMINGS": str(timings)}
    started = time.time()
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(workers)
    ]
    error_lines: list[str] = []
    failed = 0
    for process in processes:
        _, err = process.communicate(timeout=3600)
        error_lines += [line for line in err.splitlines() if ERRORS.search(line)]
        if process.returncode != 0:
            failed += 1
            error_lines += err.splitlines()[-1:]
    wall = time.time() - started
    latency_ms = [float(x) for f in timings.iterdir() for x in f.read_text().split()]
    shutil.rmtree(timings)
    stored = pop.load(url, name)
    results = stored.storage.results(stored.id)
    decisions = stored.storage.decisions(stored.id)
    times = [r.created_at for r in results]
    span = max(times) - min(times)
    members = stored.storage.members(stored.id)
    stored.storage.close()
    return {
        "workers": workers,
        "population": population,
        "results": len(results),
        "decisions": len(decisions),
        "finished": sum(m.state == "finished" for m in members),
        "results_per_s": len(results) / span if span > 0 else None,
        "ready_ms_median": statistics.median(latency_ms) if latency_ms else None,
        "ready_ms_p99": percentile(latency_ms, 0.99) if latency_ms else None,
        "wall_s": wall,
        "errors_printed": len(error_lines),
        "error_lines": sorted(set(error_lines))[:20],
        "workers_failed": failed,
    }


@contextlib.contextmanager
def storage_url(backend: str, postgres_url: str | None, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'scaling.db'}"
    elif postgres_url:
        yield postgres_url
    else:
        with postgres_server() as server:
            yield server.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small populations (for CI)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", help="use this server instead of starting one")
    parser.add_argument("--out", type=Path, help="folder of the results")
    args = parser.parse_args()
    grid = QUICK if args.quick else FULL
    # Worker scaling at a population of 64 (32 quick), 40 steps, ready every 5; growth at a fixed
    # worker count, 10 steps, up to 1,024 members.
    size, budget = (16, 10) if args.quick else (64, 40)
    grow = [16, 64] if args.quick else [64, 256, 1024]
    rows: list[dict[str, Any]] = []
    for backend in args.backends:
        with (
            tempfile.TemporaryDirectory() as tmp,
            storage_url(backend, args.postgres_url, Path(tmp)) as url,
        ):
            runs = [("workers", size, budget, n) for n in grid[backend]["workers"]]
            runs += [("population", p, 10, grid[backend]["grow_workers"]) for p in grow]
            for i, (axis, population, steps, workers) in enumerate(runs):
                name = f"scaling-{axis}-{population}-{workers}-{i}-{time.time_ns()}"
                row = {"backend": backend, "axis": axis, "budget": steps}
                row |= measure(url, name, population, steps, 5, workers)
                rows.append(row)
                print(
                    f"{backend:10} {axis:10} population {population:5} workers {workers:3}: "
                    f"{row['results_per_s']:.0f} results/s, ready-point p99 "
                    f"{row['ready_ms_p99']:.1f} ms, errors {row['errors_printed']}",
                    flush=True,
                )
    header = ["backend", "axis", "population", "workers", "results/s", "ready median ms",
              "ready p99 ms", "finished", "errors"]  # fmt: skip
    columns = ["backend", "axis", "population", "workers", "results_per_s", "ready_ms_median",
               "ready_ms_p99", "finished"]  # fmt: skip
    print(
        table(
            "scaling (no-op training, standalone workers on this machine)",
            header,
            [[r[k] for k in columns] + [r["errors_printed"] + r["workers_failed"]] for r in rows],
        )
    )
    out = write_results(
        "scaling", {"quick": args.quick, "rows": rows}, *([args.out] if args.out else [])
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
