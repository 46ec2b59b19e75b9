"""How much of PBT's result does its schedule alone explain? Replay the best schedule from scratch.

    python benchmarks/replay.py --task digits                  # PBT (seed 0), then its replay
    python benchmarks/replay.py --task digits --seeds 3 --quick
    python benchmarks/replay.py --task digits --storage sqlite:///digits.db --name digits

For each population (trained here with the task's settings, or a stored one), ``pop.replay``
retrains one fresh member along the best member's stored schedule, with no exploit: the same
params at the same steps, its own weights throughout. Reported: the population's best
validation score and held-out score, the replay's, and their differences. Writes
``benchmarks/results/replay.json``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import populace as pop

from _common import RESULTS, table, write_results

EXAMPLES = Path(__file__).parents[1] / "examples"


def replay_one(task: Any, source: pop.Population) -> dict[str, Any]:
    """Replay ``source``'s best schedule and compare the replay with the source's best."""
    start = time.perf_counter()
    replayed = pop.replay(task.train, source, progress=False)
    best = source.best
    assert best is not None
    return {
        "population": source.name,
        "schedule_entries": len(best.schedule),
        "best": replayed.source_score,
        "replay": replayed.score,
        "difference": replayed.difference,
        "best_test": task.test_score(source),
        "replay_test": task.test_score(replayed.population),
        "replay_wall_s": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits", help="a module of examples/")
    parser.add_argument("--seeds", type=int, default=1, help="PBT runs to replay")
    parser.add_argument("--quick", action="store_true", help="the task's tiny settings")
    parser.add_argument("--storage", help="replay this stored population instead of training")
    parser.add_argument("--name", help="the stored population's name (with --storage)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the PBT runs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    args = parser.parse_args()
    sys.path.insert(0, str(EXAMPLES))
    task = importlib.import_module(args.task)
    rows = []
    if args.storage:
        rows.append(replay_one(task, pop.load(args.storage, args.name or args.task)))
    else:
        settings = task.QUICK if args.quick else task.SETTINGS
        with tempfile.TemporaryDirectory() as folder:
            for seed in range(args.seeds):
                source = pop.run(
                    task.train,
                    task.SPACE,
                    **settings,
                    exploit=task.exploit(),
                    direction=task.DIRECTION,
                    workers=args.workers,
                    storage=f"sqlite:///{folder}/replay.db",
                    name=f"{args.task}-{seed}",
                    seed=seed,
                    progress=False,
                )
                rows.append(replay_one(task, source))
    print(
        table(
            f"{args.task}: the best member against one fresh member replaying its schedule",
            ["population", "entries", "best", "replay", "diff", "best held-out", "replay held-out"],
            [
                [
                    r["population"],
                    r["schedule_entries"],
                    r["best"],
                    r["replay"],
                    r["difference"],
                    r["best_test"],
                    r["replay_test"],
                ]
                for r in rows
            ],
        )
    )
    median_difference = statistics.median(r["difference"] for r in rows)
    print(f"median difference (replay - best): {median_difference:.4g}")
    path = write_results("replay", {"task": args.task, "quick": args.quick, "runs": rows}, args.out)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
