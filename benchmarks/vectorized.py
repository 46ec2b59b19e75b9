"""The vectorized executor against the serial and processes executors on the digits MLP.

The same work (examples/digits_mlp.py: population K, the same budget, interval and seed) by the
serial executor, the processes executor with 2 workers, and the vectorized executor, at K = 8,
32 and 128. Each cell runs in a fresh interpreter (so its peak RSS is its own), executors
interleaved within each size; every process trains on one thread (``torch.set_num_threads(1)``
in the cell and in ``train``), so the processes executor may use 2 cores and the others 1. Two
extra rows per size give the vectorized executor the 2 cores the processes executor has: one
process of 2 threads, and 2 worker processes of one thread training a shard of K/2 each. Torch
loads its compiler stack (``torch._dynamo``, about 1 s) when the first optimizer is built; each
cell loads it before the clock, as it loads the data (a spawned worker loads both inside it).
Per cell: wall seconds of ``pop.run``, member-steps (epochs x members) and results per second,
the share of the wall time not spent in the training function's own code (serial and
vectorized: time outside ``train`` or inside ``report``), peak RSS, and for the vectorized
executor the time of the in-place exploit copies (``populace.runtime._stacked.copy_slots``).

    python benchmarks/vectorized.py            # ~5 minutes on 2 cores
    python benchmarks/vectorized.py --quality  # also 5 seeds of K=8, vectorized vs processes
    python benchmarks/vectorized.py --quick    # K = 4 and 8, 2 epochs, under a minute
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, ProcessGroups, table, write_results

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))

# (executor, torch threads, workers): the last two are the vectorized executor on the 2 cores the
# processes executor uses (2 threads; 2 shards), extra rows beside the one-thread comparison.
VARIANTS = (
    ("serial", 1, 1),
    ("processes", 1, 2),
    ("vectorized", 1, 1),
    ("vectorized", 2, 1),
    ("vectorized", 1, 2),
)
FULL = {"populations": [8, 32, 128], "budget": 20, "interval": 4, "seed": 0, "repeats": 2}
QUICK = {"populations": [4, 8], "budget": 2, "interval": 1, "seed": 0, "repeats": 1}
QUALITY_SEEDS = 5


def cell(
    executor: str,
    threads: int,
    workers: int,
    population: int,
    budget: int,
    interval: int,
    seed: int,
) -> dict:
    """Run one cell in this process and return its figures (called with ``--cell``)."""
    import torch

    import populace as pop
    import populace.runtime._shard as shard

    torch.set_num_threads(threads)  # train sets 1 again in every process
    example = importlib.import_module("digits_mlp")
    inside: list[float] = []  # seconds in train / train_batch
    reporting: list[float] = []  # seconds in report
    copies: list[float] = []  # seconds in copy_slots

    def timed(function: Any, spent: list[float]) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - start)

        return call

    def traced(handle: Any) -> None:
        handle.report = timed(handle.report, reporting)
        fn(handle)

    copy_slots = shard.copy_slots
    shard.copy_slots = timed(copy_slots, copies)  # type: ignore[assignment]
    fn = example.train_batch if executor == "vectorized" else example.train
    torch.optim.SGD([torch.zeros(1, requires_grad=True)])  # loads torch._dynamo before the clock
    example.splits()  # loaded before the clock (a worker process of the processes executor
    # loads its own copy inside it: that is part of what the processes executor costs)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = pop.run(
            fn if workers > 1 else timed(traced, inside),  # train is pickled to workers
            example.SPACE,
            population=population,
            budget=budget,
            interval=interval,
            seed=seed,
            workers=workers,
            executor=executor,
            storage=f"sqlite:///{folder}/bench.db",
            name="bench",
            exploit=example.exploit(),
            progress=False,
        )
        wall = time.perf_counter() - start
        best = result.best
        assert best is not None and best.score is not None
        results = len(result.results())
        exploits = sum(d.decision.kind == "exploit" for d in result.decisions())
    busy = sum(inside) - sum(reporting)
    return {
        "executor": executor,
        "threads": threads,
        "workers": workers,
        "population": population,
        "wall_s": wall,
        "member_steps_per_s": population * budget / wall,
        "results": results,
        "results_per_s": results / wall,
        "overhead_share": None if workers > 1 else 1 - busy / wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "exploits": exploits,
        "copies": len(copies),  # this process's own: none when the shards train elsewhere
        "copy_ms_median": statistics.median(copies) * 1e3 if copies else None,
        "copy_ms_total": sum(copies) * 1e3,
        "report_s": sum(reporting),
        "inside_s": sum(inside),
        "best_score": best.score,
    }


def run_cell(
    executor: str, population: int, settings: dict, seed: int, threads: int = 1, workers: int = 1
) -> dict:
    """One cell in a fresh interpreter."""
    command = [sys.executable, __file__, "--cell", executor, str(threads), str(workers)]
    command += [str(population)]
    command += [str(settings["budget"]), str(settings["interval"]), str(seed)]
    with ProcessGroups() as groups:
        process = groups.start(command, stdout=subprocess.PIPE, text=True)
        out, _ = process.communicate(timeout=900)
    if process.returncode != 0:
        raise RuntimeError(f"cell {executor} K={population} failed ({process.returncode})")
    figures: dict = json.loads(out.strip().splitlines()[-1])
    return figures


def throughput(settings: dict) -> tuple[list[dict], list[dict], list[dict]]:
    """Every cell ``repeats`` times, executors interleaved within each size; the fastest run of
    each cell; and the speed-ups per size from those."""
    runs: list[dict] = []
    fastest: list[dict] = []
    speedups: list[dict] = []
    for population in settings["populations"]:
        by: dict[tuple[str, int, int], list[dict]] = {variant: [] for variant in VARIANTS}
        for _ in range(settings["repeats"]):
            for executor, threads, workers in VARIANTS:
                seed = settings["seed"]
                figures = run_cell(executor, population, settings, seed, threads, workers)
                by[executor, threads, workers].append(figures)
                print(f"  {label(figures)} K={population}: {figures['wall_s']:.1f} s", flush=True)
        best = {variant: min(done, key=lambda c: c["wall_s"]) for variant, done in by.items()}
        runs += [c for done in by.values() for c in done]
        fastest += best.values()
        walls = {variant: c["wall_s"] for variant, c in best.items()}
        speedups.append(
            {
                "population": population,
                "vs_processes": walls["processes", 1, 2] / walls["vectorized", 1, 1],
                "vs_serial": walls["serial", 1, 1] / walls["vectorized", 1, 1],
                "two_threads_vs_processes": walls["processes", 1, 2] / walls["vectorized", 2, 1],
                "two_shards_vs_processes": walls["processes", 1, 2] / walls["vectorized", 1, 2],
                "two_shards_vs_serial": walls["serial", 1, 1] / walls["vectorized", 1, 2],
            }
        )
    return runs, fastest, speedups


def step_costs(populations: list[int], repeats: int = 5) -> list[dict]:
    """Milliseconds per SGD step (forward, backward, update; batch 32 per member) of K digits
    MLPs on one thread: a loop over K models with ``torch.optim.SGD``, and the K models
    stacked, run by ``vmap`` and by the batched matrix products ``stack_modules`` uses for an
    MLP, with ``VectorSGD``; the median of ``repeats`` timings of 50 steps each (5 for the
    loop)."""
    import torch

    torch.set_num_threads(1)
    return [{"population": k, "ms_per_step": _step_ms(k, repeats)} for k in populations]


def _step_ms(size: int, repeats: int) -> dict[str, float]:
    import torch

    import populace.torch as ptorch

    example = importlib.import_module("digits_mlp")
    x, y = example.splits()["train"]
    torch.manual_seed(0)
    models = [example.model() for _ in range(size)]
    order = torch.randint(0, len(y), (size, example.BATCH_SIZE))
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]

    def loop_step() -> None:
        for k, (model, opt) in enumerate(zip(models, optimizers, strict=True)):
            loss = torch.nn.functional.cross_entropy(model(x[order[k]]), y[order[k]])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def stacked_step(fused: bool) -> Any:
        stacked = ptorch.stack_modules(models)
        if not fused:
            stacked._fused = None  # the vmap path, which every other architecture takes
        opt = ptorch.VectorSGD(stacked.parameters(), lr=0.01, momentum=0.9)

        def step() -> None:
            logits = stacked(x[order], per_member=True)
            loss = torch.nn.functional.cross_entropy(
                logits.flatten(0, -2), y[order].flatten(), reduction="sum"
            )
            opt.zero_grad()
            (loss / example.BATCH_SIZE).backward()
            opt.step()

        return step

    steps = {"loop": (loop_step, 5), "vmap": (stacked_step(False), 50)}
    steps["fused"] = (stacked_step(True), 50)
    ms = {}
    for name, (step, count) in steps.items():
        step()  # warm up
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(count):
                step()
            timings.append((time.perf_counter() - start) / count * 1e3)
        ms[name] = statistics.median(timings)
    return ms


def label(cell: dict) -> str:
    threads, workers = cell["threads"], cell.get("workers", 1)
    if cell["executor"] == "vectorized" and workers > 1:
        return f"vectorized ({workers} shards)"
    return cell["executor"] + ("" if threads == 1 else f" ({threads} threads)")


def quality(settings: dict) -> dict:
    """Median best validation accuracy over seeds, K=8, vectorized and processes."""
    scores: dict[str, list[float]] = {"vectorized": [], "processes": []}
    for seed in range(QUALITY_SEEDS):
        for executor in scores:
            workers = 2 if executor == "processes" else 1
            scores[executor].append(run_cell(executor, 8, settings, seed, 1, workers)["best_score"])
    medians = {k: statistics.median(v) for k, v in scores.items()}
    return {
        "population": 8,
        "seeds": QUALITY_SEEDS,
        "best_scores": scores,
        "median_best": medians,
        "difference": medians["vectorized"] - medians["processes"],
    }


def report(
    settings: dict, cells: list[dict], speedups: list[dict], q: dict | None, steps: list[dict]
) -> None:
    def mb(value: float) -> str:
        return f"{value:.0f}"

    rows = [
        [
            label(c),
            c["population"],
            c["wall_s"],
            c["member_steps_per_s"],
            c["results_per_s"],
            "n/a" if c["overhead_share"] is None else f"{c['overhead_share']:.0%}",
            mb(c["rss_mb"]),
            mb(c["worker_rss_mb"]) if c["workers"] > 1 else "-",
            "-" if c["copy_ms_median"] is None else f"{c['copies']} x {c['copy_ms_median']:.3f}",
        ]
        for c in cells
    ]
    header = ["executor", "K", "wall s", "member-steps/s", "results/s", "overhead"]
    header += ["RSS MB", "worker RSS MB", "copies x median ms"]
    title = (
        f"digits MLP, {settings['budget']} epochs, interval {settings['interval']}, seed "
        f"{settings['seed']}; one torch thread per process; processes = 2 workers; fastest of "
        f"{settings['repeats']}"
    )
    print(table(title, header, rows))
    print(
        table(
            "speed-up of the vectorized executor (wall time ratio)",
            [
                "K",
                "vs processes",
                "vs serial",
                "2 threads vs processes",
                "2 shards vs processes",
                "2 shards vs serial",
            ],
            [
                [
                    s["population"],
                    s["vs_processes"],
                    s["vs_serial"],
                    s["two_threads_vs_processes"],
                    s["two_shards_vs_processes"],
                    s["two_shards_vs_serial"],
                ]
                for s in speedups
            ],
        )
    )
    print(
        table(
            "one SGD step of K digits MLPs on one thread, ms (median of 5)",
            [
                "K",
                "loop of K models",
                "stacked, vmap",
                "stacked, batched matmul",
                "loop / vmap",
                "loop / batched",
            ],
            [
                [
                    r["population"],
                    *(r["ms_per_step"][k] for k in ("loop", "vmap", "fused")),
                    r["ms_per_step"]["loop"] / r["ms_per_step"]["vmap"],
                    r["ms_per_step"]["loop"] / r["ms_per_step"]["fused"],
                ]
                for r in steps
            ],
        )
    )
    if q is not None:
        medians = q["median_best"]
        print(
            f"quality, K=8 over {q['seeds']} seeds: median best validation accuracy vectorized "
            f"{medians['vectorized']:.4f}, processes {medians['processes']:.4f} "
            f"(difference {q['difference']:+.4f})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cell", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        executor, *numbers = args.cell
        print(json.dumps(cell(executor, *map(int, numbers))))
        return 0
    settings = QUICK if args.quick else FULL
    steps = step_costs(settings["populations"])
    runs, cells, speedups = throughput(settings)
    q = quality(settings) if args.quality else None
    report(settings, cells, speedups, q, steps)
    data = {"settings": settings, "cells": cells, "speedups": speedups, "step_costs": steps}
    data["runs"] = runs
    path = write_results("vectorized", {**data, "quality": q}, args.out)
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
