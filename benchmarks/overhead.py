"""Framework overhead of populace on the digits CNN, side by side with a plain training loop.

    python benchmarks/overhead.py            # writes benchmarks/results/overhead.json
    python benchmarks/overhead.py --quick    # small budgets (for CI)

Each configuration runs in a fresh process (so peak memory is its own) and is measured in the
same run as the plain loop, which trains the same members one after another with no framework:
- overhead share = (wall - busy / workers) / wall, busy = time inside user code;
- per-report cost: time inside ``report`` when no decision is due;
- per-exploit cost: the ready point that decided the exploit (save, snapshot, decision, commit)
  plus the restart until ``train`` runs again, excluding the user's own state load;
- time from ``pop.run`` to the first stored result, and to the first ``train`` call of each
  spawned worker (its interpreter start plus importing the training code: torch, populace);
- the same overhead share counting that import of the user's module as user code;
- peak RSS of the driver and of each worker, beside the plain loop's;
- how each grows with population (8, 32, 128) and worker count (1, 2, 4).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, table, write_results

HERE = Path(__file__).parent


def _median_ms(values: list[float]) -> float | None:
    return statistics.median(values) * 1e3 if values else None


def _child(config: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration in this process and return its measurements."""
    import _workload

    import populace as pop

    with tempfile.TemporaryDirectory() as folder:
        os.environ["POPULACE_BENCH_DIR"] = folder
        if config["kind"] == "plain":
            busy = _workload.plain(config["population"], config["budget"], seed=0)
            return {
                **config,
                "wall_s": busy,
                "busy_s": busy,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        _workload.digits.splits()  # the data is loaded before timing, as in the plain loop
        start = time.time()
        result = pop.run(
            _workload.train,
            _workload.digits.SPACE,
            population=config["population"],
            budget=config["budget"],
            interval=config["interval"],
            workers=config["workers"],
            storage=f"sqlite:///{folder}/bench.db",
            name="bench",
            progress=False,
            seed=0,
        )
        wall = time.time() - start
        first = min(r.created_at for r in result.results()) - start
        exploits = sum(d.decision.kind == "exploit" for d in result.decisions())
        records: dict[int, list[dict[str, Any]]] = {}
        for path in Path(folder).glob("*.jsonl"):
            records[int(path.stem)] = [json.loads(line) for line in path.read_text().splitlines()]
    every = [r for rs in records.values() for r in rs]
    busy = sum(r["busy"] for r in every)
    quiet = [q for r in every for q in r["quiet_reports"]]
    exploit_costs = [
        r["exploit_report"][0] + nxt["restart_latency"]
        for rs in records.values()
        for r, nxt in itertools.pairwise(rs)
        if r["exploit_report"] and nxt["restart_latency"] is not None
    ]
    spawned = {pid: rs for pid, rs in records.items() if pid != os.getpid()}
    workers_rss = [max(r["rss_kb"] for r in rs) / 1024 for rs in spawned.values()]
    imports = sum(rs[0]["import_s"] for rs in spawned.values())
    return {
        **config,
        "wall_s": wall,
        "busy_s": busy,
        "overhead_share": (wall - busy / config["workers"]) / wall,
        "overhead_share_imports_as_user": (wall - (busy + imports) / config["workers"]) / wall,
        "worker_import_s": [rs[0]["import_s"] for rs in spawned.values()],
        "worker_first_train_s": [
            min(r["started_at"] for r in rs) - start for rs in spawned.values()
        ],
        "report_median_ms": _median_ms(quiet),
        "reports_timed": len(quiet),
        "exploits": exploits,
        "exploit_median_ms": _median_ms(exploit_costs),
        "first_result_s": first,
        "driver_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": workers_rss,
    }


def _measure(config: dict[str, Any]) -> dict[str, Any]:
    """Run ``config`` in a fresh interpreter and return what it measured."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--child", json.dumps(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{config} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets, for CI")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    # --quick exercises every measurement on a tiny grid, for CI; its figures mean little.
    budget, interval, small = (4, 2, 2) if args.quick else (40, 4, 8)
    populations, worker_counts = ((4, 8), (1, 2)) if args.quick else ((8, 32, 128), (1, 2, 4))
    main_config = {
        "kind": "pbt",
        "population": 8,
        "budget": budget,
        "interval": interval,
        "workers": 2,
    }
    plain = _measure({"kind": "plain", "population": 8, "budget": budget})
    headline = _measure(main_config)
    by_population = [
        _measure({**main_config, "population": p, "budget": small}) for p in populations
    ]
    by_workers = [_measure({**main_config, "workers": w}) for w in worker_counts]
    rows = [
        [
            f"{r['population']}x{r['budget']}",
            r["workers"],
            r["wall_s"],
            r["busy_s"],
            r["overhead_share"],
            r["overhead_share_imports_as_user"],
            r["report_median_ms"],
            r["exploit_median_ms"],
            r["first_result_s"],
            max(r["worker_first_train_s"] or [0.0]),
            r["driver_rss_mb"],
            max(r["worker_rss_mb"] or [0.0]),
        ]
        for r in [headline, *by_population, *by_workers]
    ]
    print(
        f"plain loop: {plain['population']} members x {plain['budget']} epochs in "
        f"{plain['wall_s']:.2f} s, peak RSS {plain['rss_mb']:.0f} MB"
    )
    print(
        table(
            "populace on the digits CNN (first row: the main job)",
            [
                "members x epochs",
                "workers",
                "wall s",
                "busy s",
                "overhead",
                "overhead, imports as user",
                "report ms",
                "exploit ms",
                "first result s",
                "worker up s",
                "driver MB",
                "worker MB",
            ],
            rows,
        )
    )
    path = write_results(
        "overhead",
        {
            "quick": args.quick,
            "plain": plain,
            "main": headline,
            "by_population": by_population,
            "by_workers": by_workers,
        },
        args.out,
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
