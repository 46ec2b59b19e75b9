"""PBT against fixed hyperparameters on one example script, at equal compute: the shared body of
``lightning_pbt.py`` and ``transformers_pbt.py``.

For each seed, both arms start from the same population (one seed: the same initial params) of
the example and train every member for the same budget: PBT with the example's exploit and
populace's default explore, and the same script with each member's initial params fixed (no
exploit, no explore). Prints the median over seeds of the best member's final validation score
(and of its test score) per arm, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import populace as pop

from _common import RESULTS, write_results

EXAMPLES = Path(__file__).parents[1] / "examples"


def arms(example: ModuleType) -> dict[str, dict[str, Any]]:
    """Each arm's exploit and explore."""
    return {
        "pbt": {"exploit": example.exploit(), "explore": pop.PerturbOrResampleExplore()},
        "fixed": {"exploit": pop.NoExploit(), "explore": pop.NoExplore()},
    }


def measure(
    example: ModuleType, arm: str, seed: int, settings: dict[str, int], workers: int, folder: str
) -> dict[str, Any]:
    """Train one population of ``example`` as ``arm`` and return its scores."""
    start = time.perf_counter()
    result = pop.run(
        example.train,
        example.SPACE,
        **settings,
        **arms(example)[arm],
        direction=example.DIRECTION,
        workers=workers,
        storage=f"sqlite:///{folder}/{arm}-{seed}.db",
        name=f"{arm}-{seed}",
        seed=seed,
        progress=False,
    )
    best = result.best
    assert best is not None and best.score is not None
    return {
        "seed": seed,
        "best": best.score,
        "test": example.test_score(result),
        "exploits": sum(d.decision.kind == "exploit" for d in result.decisions()),
        "wall_s": time.perf_counter() - start,
    }


def main(example_name: str, results: str, description: str, argv: list[str] | None) -> None:
    """Run both arms of ``examples/<example_name>.py`` and write ``<results>.json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="1 seed, the example's QUICK (CI)")
    parser.add_argument("--seeds", type=int, help="default 3, 1 with --quick")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(EXAMPLES))
    example = importlib.import_module(example_name)
    settings = example.QUICK if args.quick else example.SETTINGS
    seeds = range(args.seeds or (1 if args.quick else 3))
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms(example)}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            for arm in runs:
                runs[arm].append(measure(example, arm, seed, settings, args.workers, folder))
                print(f"seed {seed} {arm}: {runs[arm][-1]}", flush=True)
    summary = {
        arm: {key: statistics.median(r[key] for r in arm_runs) for key in ("best", "test")}
        for arm, arm_runs in runs.items()
    }
    wins = sum(p["best"] > f["best"] for p, f in zip(runs["pbt"], runs["fixed"], strict=True))
    for arm, figures in summary.items():
        print(
            f"{arm}: median best validation accuracy {figures['best']:.4f}, "
            f"test accuracy of the best {figures['test']:.4f} over {len(seeds)} seeds"
        )
    print(f"PBT beats fixed on {wins} of {len(seeds)} seeds")
    write_results(
        results,
        {
            "quick": args.quick,
            "settings": settings,
            "workers": args.workers,
            "seeds": len(seeds),
            "summary": summary,
            "pbt_wins": wins,
            "runs": runs,
        },
        args.out,
    )
