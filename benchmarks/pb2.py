"""What PB2 costs at a ready point: the GP fit and the UCB search, beside PBT's random explore.

    python benchmarks/pb2.py            # writes benchmarks/results/pb2.json
    python benchmarks/pb2.py --quick    # fewer samples (for CI)

A population is stored on SQLite with about 2,000 ready results (each member reporting every
interval, scores rising with its learning rate), then the decisions of its bottom members, which
exploit and so explore, are timed at the last ready point: the snapshot query (PB2 reads
``window`` intervals of records, PBT one), the pure controller's decision, and their sum. Medians
and p99 over many decisions, for populations of 8, 32 and 128, PB2 and PBT's default side by side.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import populace as pop
from populace.checkpoints import LocalCheckpointStore
from populace.storage import SQLStorage

from _common import RESULTS, summary_ms, table, write_results

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-4, 1e-1),
    momentum=pop.Uniform(0.0, 0.99),
    batch_size=pop.Choice([16, 32, 64, 128], ordered=True),
    optimizer=pop.Choice(["sgd", "adam", "rmsprop"]),
)
INTERVAL = 4
RESULTS_STORED = 2000


def _stored(folder: Path, size: int, explore: Any) -> tuple[pop.Population, int]:
    """A population of ``size`` with about 2,000 ready results; returns it and its last step."""
    storage = SQLStorage(f"sqlite:///{folder / f'{type(explore).__name__}-{size}.db'}")
    intervals = math.ceil(RESULTS_STORED / size)
    controller = pop.Controller(
        SPACE, budget=INTERVAL * (intervals + 10), interval=INTERVAL, explore=explore, seed=1
    )
    population = pop.Population.create(
        storage, "bench", controller, size, LocalCheckpointStore(folder / "ckpt")
    )
    ref = population.checkpoints.put({"w": np.zeros(4)})
    rng = np.random.default_rng(0)
    members = storage.members(population.id)
    for member in members:
        score, drift = 0.0, math.log10(member.params["lr"]) + 4
        for k in range(1, intervals + 1):
            score += 0.01 * drift + float(rng.normal(0, 0.005))
            storage.record_result(
                population.id, member.id, 0, k * INTERVAL, score, ready=True, checkpoint=ref,
                now=time.time(),
            )  # fmt: skip
    return population, intervals * INTERVAL


def bench(folder: Path, size: int, explore: Any, samples: int) -> dict[str, Any]:
    population, step = _stored(folder, size, explore)
    controller, storage = population.controller, population.storage
    window = INTERVAL * controller.lookback
    snapshot = storage.snapshot(population.id, step, window, controller.exploit.history)
    ranked = sorted(snapshot.members, key=lambda m: _latest_score(snapshot, m.id))
    bottom = [m.id for m in ranked[: max(1, size // 4)]]
    query_ns, decide_ns, kinds = [], [], []
    for k in range(samples):
        member = bottom[k % len(bottom)]
        t0 = time.perf_counter_ns()
        snapshot = storage.snapshot(population.id, step, window, controller.exploit.history)
        t1 = time.perf_counter_ns()
        decision = controller.decide(snapshot, member, step)
        t2 = time.perf_counter_ns()
        query_ns.append(t1 - t0)
        decide_ns.append(t2 - t1)
        kinds.append(decision.kind)
    return {
        "population": size,
        "explore": type(explore).__name__,
        "stored_ready_results": len(storage.saved_results(population.id, from_step=0)),
        "records_in_snapshot": len(snapshot.records),
        "exploits_timed": kinds.count("exploit"),
        "snapshot": summary_ms(query_ns),
        "decision": summary_ms(decide_ns),
        "ready_point": summary_ms([a + b for a, b in zip(query_ns, decide_ns, strict=True)]),
    }


def _latest_score(snapshot: Any, member: int) -> float:
    records = snapshot.records_of(member)
    return records[-1].score if records else -math.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, for CI")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    args = parser.parse_args()
    samples = 20 if args.quick else 200
    sizes = (8, 32) if args.quick else (8, 32, 128)
    rows, out = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for explore in (pop.PB2Explore(), pop.PerturbOrResampleExplore()):
                result = bench(Path(tmp), size, explore, samples)
                out.append(result)
                rows.append(
                    [
                        size,
                        result["explore"],
                        result["stored_ready_results"],
                        result["records_in_snapshot"],
                        result["snapshot"]["median_ms"],
                        result["decision"]["median_ms"],
                        result["decision"]["p99_ms"],
                        result["ready_point"]["median_ms"],
                        result["ready_point"]["p99_ms"],
                    ]
                )
    print(
        table(
            "decision of an exploiting member, ms (snapshot query + pure controller)",
            [
                "population",
                "explore",
                "stored",
                "records read",
                "snapshot p50",
                "decide p50",
                "decide p99",
                "ready point p50",
                "ready point p99",
            ],
            rows,
        )
    )
    path = write_results("pb2", {"quick": args.quick, "decisions": out}, args.out)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
