"""Core costs of populace on one process with SQLite: reports, decisions, ingestion, exploits.

    python benchmarks/core.py            # full run, writes benchmarks/results/core.json
    python benchmarks/core.py --quick    # smaller samples (for CI)

Figures (medians over many samples, all measured here, in this run):
- durable report cost: one ``tell`` between ready points on a SQLite file (a committed row);
- decision latency: the pure controller deciding from a snapshot, and the whole ready-point path
  on SQLite (snapshot queries + decision + commit), for populations of 8, 64, 256 and 1024;
- results ingested per second by one process on SQLite;
- bytes copied per exploit (an exploit hands over a checkpoint reference).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import populace as pop
from populace.checkpoints import LocalCheckpointStore
from populace.controller import (
    Controller,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    ReadyRecord,
)
from populace.executors import SerialExecutor
from populace.runtime import new_owner
from populace.runtime._session import Session
from populace.storage import SQLStorage

from _common import RESULTS, summary_ms, table, write_results

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-4, 1e-1),
    momentum=pop.Uniform(0.0, 0.99),
    batch=pop.Choice([32, 64, 128, 256], ordered=True),
)
SIZES = (8, 64, 256, 1024)


def _population(folder: Path, name: str, size: int, budget: int, interval: int) -> pop.Population:
    storage = SQLStorage(f"sqlite:///{folder / 'core.db'}")
    controller = Controller(SPACE, budget=budget, interval=interval, seed=0)
    return pop.Population.create(
        storage, name, controller, size, LocalCheckpointStore(folder / f"{name}-ckpt")
    )


def bench_reports(folder: Path, size: int, per_member: int) -> dict[str, Any]:
    """Time ``tell`` between ready points (interval larger than the run) on a SQLite file."""
    population = _population(folder, f"reports-{size}", size, budget=10**9, interval=10**8)
    trials = [population.ask(new_owner()) for _ in range(size)]
    samples = []
    start = time.perf_counter()
    for step in range(1, per_member + 1):
        for trial in trials:
            t0 = time.perf_counter_ns()
            population.tell(trial, step, 0.5 + 1e-4 * step)  # type: ignore[arg-type]
            samples.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    return {"population": size, **summary_ms(samples), "results_per_second": len(samples) / elapsed}


def _snapshot(size: int, step: int, interval: int, rng: np.random.Generator) -> PopulationSnapshot:
    members, records = [], []
    for i in range(size):
        params = SPACE.sample(rng)
        scores = tuple(float(x) for x in rng.normal(0.5, 0.1, 10))
        records += [
            ReadyRecord(i, 0, step - interval, scores[-2], f"sha256:{i:064x}", params),
            ReadyRecord(i, 0, step, scores[-1], f"sha256:{i + size:064x}", params),
        ]
        members.append(
            MemberSnapshot(i, 0, params, MemberState.RUNNING, step, 0, step - interval, scores)
        )
    return PopulationSnapshot.build(members, records, watermark=size * 10)


def bench_controller(size: int, decisions: int) -> dict[str, Any]:
    """Time the pure controller: one decision per member from a snapshot of ``size`` members."""
    interval = 100
    rng = np.random.default_rng(0)
    snapshot = _snapshot(size, 10 * interval, interval, rng)
    out = {}
    for exploit in (pop.TruncationExploit(), pop.TTestExploit()):
        controller = Controller(SPACE, budget=10**6, interval=interval, exploit=exploit)
        samples = []
        for k in range(decisions):
            t0 = time.perf_counter_ns()
            controller.decide(snapshot, k % size, 10 * interval)
            samples.append(time.perf_counter_ns() - t0)
        out[type(exploit).__name__] = summary_ms(samples)
    return {"population": size, **out}


def bench_ready_path(folder: Path, size: int, decisions: int) -> dict[str, Any]:
    """Time a whole ready point on SQLite: snapshot queries, decision and commit."""
    interval = 10
    population = _population(folder, f"ready-{size}", size, budget=10**6, interval=interval)
    storage = population.storage
    ref = population.checkpoints.put({"w": np.zeros(4)})
    for member in range(size):
        storage.record_result(
            population.id,
            member,
            0,
            interval,
            0.5 + 1e-3 * member,
            ready=True,
            checkpoint=ref,
            now=time.time(),
        )
    session = Session(storage, population.id, population.controller, population.checkpoints)
    snapshot_ns, total_ns = [], []
    for member in range(min(size, decisions)):
        t0 = time.perf_counter_ns()
        snapshot = storage.snapshot(population.id, interval, interval, 0)
        t1 = time.perf_counter_ns()
        session._decide(member, 0, interval)  # the ready-point path: snapshot, decide, commit
        t2 = time.perf_counter_ns()
        snapshot_ns.append(t1 - t0)
        total_ns.append(t2 - t1)
        assert snapshot.members
    return {
        "population": size,
        "snapshot": summary_ms(snapshot_ns),
        "ready_point": summary_ms(total_ns),
    }


class _CountingStore(LocalCheckpointStore):
    """Counts bytes written, split into ready-point saves and anything else (copies)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.saving = False
        self.saved_bytes = 0
        self.other_bytes = 0

    def put_bytes(self, data: bytes) -> str:
        if self.saving:
            self.saved_bytes += len(data)
        else:
            self.other_bytes += len(data)
        return super().put_bytes(data)


def bench_exploit_bytes(folder: Path, weights: int) -> dict[str, Any]:
    """Run a small population with big checkpoints; measure bytes written beyond ready saves."""
    store = _CountingStore(folder / "exploit-ckpt")
    storage = SQLStorage(f"sqlite:///{folder / 'exploit.db'}")
    controller = Controller(SPACE, budget=40, interval=5, seed=1)
    population = pop.Population.create(storage, "exploit", controller, 8, store)

    def train(member: pop.Member) -> None:
        if member.checkpoint is not None:
            state = member.checkpoint.load()
            w, step = state["w"], int(state["step"])
        else:
            w, step = np.zeros(weights, dtype=np.float32), 0
        while step < member.budget:
            step += 1
            w = w + np.float32(member.params["lr"])
            store.saving = True  # what report puts is the ready point's own checkpoint
            try:
                member.report(step, float(w[0]), checkpoint=lambda: {"w": w, "step": step})  # noqa: B023
            finally:
                store.saving = False

    SerialExecutor().run(population, train)
    exploits = sum(d.decision.kind == "exploit" for d in population.decisions())
    checkpoint_bytes = weights * 4
    return {
        "exploits": exploits,
        "checkpoint_bytes": checkpoint_bytes,
        "ready_point_bytes_written": store.saved_bytes,
        "bytes_written_outside_ready_points": store.other_bytes,
        "bytes_copied_per_exploit": store.other_bytes / max(exploits, 1),
        "copy_based_bytes_per_exploit": checkpoint_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples, for CI")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    args = parser.parse_args()
    per_member = 30 if args.quick else 250
    decisions = 200 if args.quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reports = [bench_reports(folder, size, max(2, per_member * 8 // size)) for size in SIZES]
        controller = [bench_controller(size, decisions) for size in SIZES]
        ready = [bench_ready_path(folder, size, 64 if args.quick else 256) for size in SIZES]
        exploit = bench_exploit_bytes(folder, 250_000)
    print(
        table(
            "durable report cost on SQLite (tell between ready points) and ingestion",
            ["population", "median ms", "p99 ms", "results/s"],
            [
                [r["population"], r["median_ms"], r["p99_ms"], r["results_per_second"]]
                for r in reports
            ],
        )
    )
    print()
    print(
        table(
            "decision latency, pure controller (ms)",
            ["population", "truncation p50", "truncation p99", "t-test p50", "t-test p99"],
            [
                [
                    c["population"],
                    c["TruncationExploit"]["median_ms"],
                    c["TruncationExploit"]["p99_ms"],
                    c["TTestExploit"]["median_ms"],
                    c["TTestExploit"]["p99_ms"],
                ]
                for c in controller
            ],
        )
    )
    print()
    print(
        table(
            "whole ready point on SQLite (ms): snapshot queries + decision + commit",
            ["population", "snapshot p50", "ready point p50", "ready point p99"],
            [
                [
                    r["population"],
                    r["snapshot"]["median_ms"],
                    r["ready_point"]["median_ms"],
                    r["ready_point"]["p99_ms"],
                ]
                for r in ready
            ],
        )
    )
    print()
    print(
        f"exploits: {exploit['exploits']} with {exploit['checkpoint_bytes']:,}-byte checkpoints; "
        f"bytes copied per exploit: {exploit['bytes_copied_per_exploit']:.0f} "
        f"(a copy-based store would copy {exploit['copy_based_bytes_per_exploit']:,})"
    )
    path = write_results(
        "core",
        {
            "quick": args.quick,
            "reports": reports,
            "controller": controller,
            "ready_point": ready,
            "exploit": exploit,
        },
        args.out,
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
