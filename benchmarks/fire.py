"""What FIRE PBT costs at a ready point, measured inside real runs, beside plain PBT.

    python benchmarks/fire.py            # writes benchmarks/results/fire.json
    python benchmarks/fire.py --quick    # a shorter run (for CI)

A population of 32 members (FIRE: two sub-populations of 16, and 8 evaluators) trains a noisy
toy model that reports every step, on SQLite, in this process (the serial executor), for 20
intervals. Every decision the runtime takes is timed where it happens: the snapshot query and the
pure controller's decision, split by who decides (a P1 member, a P2 parent, an evaluator), with
the curve comparisons' cache as it runs and, in a second FIRE run, emptied before every decision
(what the cache saves). Plain PBT with the same 32 members runs beside it. Medians and p99.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import populace as pop
from populace.controller import _curves
from populace.storage import SQLStorage

from _common import RESULTS, summary_ms, table, write_results

SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.1), noise=pop.Uniform(0.0, 0.02))
INTERVAL = 10
MEMBERS = 32
EVALUATORS = 8


def train(member: pop.Member) -> None:
    """x climbs toward 1 at rate lr; the score is x plus noise, reported every step."""
    x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
    rng = np.random.default_rng([member.id, member.generation, member.step])
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"] * (1.0 - x)
        score = x + float(rng.normal(0, member.params["noise"]))
        member.report(step, score, checkpoint=lambda x=x: {"x": x})


class Timed:
    """Times every snapshot query and decision of the runs while it is installed."""

    def __init__(self, cold_cache: bool) -> None:
        self.cold_cache = cold_cache
        self.samples: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._query_ns = 0

    def install(self) -> None:
        snapshot, decide = SQLStorage.snapshot, pop.Controller.decide_and_rank
        timer = self

        def timed_snapshot(storage: SQLStorage, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter_ns()
            try:
                return snapshot(storage, *args, **kwargs)
            finally:
                timer._query_ns = time.perf_counter_ns() - t0

        def timed_decide(controller: pop.Controller, snap: Any, member: int, step: int) -> Any:
            if timer.cold_cache:
                _curves._compare.cache_clear()
            t0 = time.perf_counter_ns()
            decision, ranked = decide(controller, snap, member, step)
            elapsed = time.perf_counter_ns() - t0
            timer.samples[timer.role(controller, member)].append((timer._query_ns, elapsed))
            return decision, ranked

        self._restore = (snapshot, decide)
        SQLStorage.snapshot = timed_snapshot  # type: ignore[method-assign]
        pop.Controller.decide_and_rank = timed_decide  # type: ignore[method-assign]

    def uninstall(self) -> None:
        SQLStorage.snapshot, pop.Controller.decide_and_rank = self._restore  # type: ignore[method-assign]

    @staticmethod
    def role(controller: pop.Controller, member: int) -> str:
        fire = controller.algorithm
        if fire is None:
            return "PBT member"
        if fire.is_evaluator(member):
            return "FIRE evaluator"
        return f"FIRE P{fire.subpopulation(member) + 1} member"


def bench(folder: Path, arm: str, intervals: int) -> dict[str, Any]:
    timer = Timed(cold_cache=arm == "fire, cache emptied")
    algorithm = None if arm == "pbt" else pop.FirePBT(evaluators=EVALUATORS)
    timer.install()
    start = time.perf_counter()
    try:
        result = pop.run(
            train,
            SPACE,
            population=MEMBERS,
            budget=INTERVAL * intervals,
            interval=INTERVAL,
            storage=f"sqlite:///{folder / (arm.replace(' ', '-').replace(',', '') + '.db')}",
            name="bench",
            progress=False,
            algorithm=algorithm,
        )
    finally:
        timer.uninstall()
    wall = time.perf_counter() - start
    kinds = defaultdict(int)
    for d in result.decisions():
        kinds[d.decision.kind] += 1
    roles = {}
    for role, samples in sorted(timer.samples.items()):
        queries, decisions = zip(*samples, strict=True)
        roles[role] = {
            "snapshot": summary_ms(list(queries)),
            "decision": summary_ms(list(decisions)),
            "ready_point": summary_ms([q + d for q, d in samples]),
        }
    return {
        "arm": arm,
        "members": MEMBERS,
        "evaluators": 0 if algorithm is None else EVALUATORS,
        "results_stored": len(result.results()),
        "decisions": dict(kinds),
        "wall_s": wall,
        "roles": roles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run, for CI")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    args = parser.parse_args()
    intervals = 4 if args.quick else 20
    out, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for arm in ("pbt", "fire", "fire, cache emptied"):
            result = bench(Path(tmp), arm, intervals)
            out.append(result)
            for role, timing in result["roles"].items():
                rows.append(
                    [
                        arm,
                        role,
                        timing["decision"]["n"],
                        timing["snapshot"]["median_ms"],
                        timing["decision"]["median_ms"],
                        timing["decision"]["p99_ms"],
                        timing["ready_point"]["median_ms"],
                        timing["ready_point"]["p99_ms"],
                    ]
                )
    print(
        table(
            f"Ready points of real runs, population {MEMBERS} ({intervals} intervals)",
            [
                "arm",
                "who decides",
                "decisions",
                "snapshot p50 ms",
                "controller p50 ms",
                "controller p99 ms",
                "ready point p50 ms",
                "ready point p99 ms",
            ],
            rows,
        )
    )
    write_results("fire", {"quick": args.quick, "intervals": intervals, "runs": out}, args.out)


if __name__ == "__main__":
    main()
