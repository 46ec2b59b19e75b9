"""PBT against random search and the paper's ablations at equal compute, on every workload.

    python benchmarks/compare.py                        # 5 seeds, full settings (long)
    python benchmarks/compare.py --quick                # 1 seed, tiny budgets (CI)
    python benchmarks/compare.py --tasks digits gan --seeds 3

Every task is a module of ``examples/`` exposing SPACE, DIRECTION, SETTINGS, QUICK, exploit(),
train, test_score and optionally explore(). For each task and seed, four arms train the same
initial population (one seed: the same initial params) with the same members, steps and
evaluations, so they cost the same compute (``--arms`` picks some of them, ``--population``
changes the population size of every task):

- PBT: the task's exploit and explore (populace's defaults unless the task names others);
- random search: no exploit, no explore (each member keeps its sampled params);
- explore only: every member perturbs its own params at each ready point;
- exploit only: weak members copy strong ones without perturbing;
- PB2: PBT's exploit, with the params chosen by PB2's GP bandit instead of random steps;
- FIRE: FIRE PBT with the task's exploit and explore inside each of its two sub-populations,
  its evaluators counted inside the population size (as its authors compare, 8 + 8 members and
  6 evaluators against PBT's 22; see :func:`fire_split`), so it trains the same number of
  models at once for the same budget.

Reported per arm (median and interquartile range over seeds): the best member's final validation
score, the median member's, and the held-out score of the member selected by validation; paired
wins against random search (same seed); and score-vs-total-steps curves as PNG. Writes
``compare-<task>.json`` and ``compare-<task>.png`` per task, then ``compare.json`` and the table
``compare.md`` over every task's file present, to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import populace as pop

from _common import RESULTS, write_results

EXAMPLES = Path(__file__).parents[1] / "examples"
TASKS = ["digits", "digits_hard", "cartpole", "gan", "translate", "toy_plain", "toy_deceptive"]
ARMS = ["pbt", "random", "explore-only", "exploit-only", "pb2", "fire"]


def fire_split(population: int) -> tuple[int, int]:
    """(members, evaluators) of a FIRE PBT arm as costly as PBT with ``population`` members:
    about 6 evaluators in 22 (the authors' 8 + 8 + 6), members even (two sub-populations of
    at least 2), evaluators at most one per parent member. Below 6 it is the smallest FIRE
    population, 4 members and 1 evaluator (``--quick`` runs), which costs a little more.

    >>> fire_split(22), fire_split(8), fire_split(4)
    ((16, 6), (6, 2), (4, 1))
    """
    members = 2 * ((population - max(1, round(population * 6 / 22))) // 2)
    if members < 4:
        return 4, 1
    return members, min(population - members, members // 2)


def strategies(task: ModuleType, arm: str) -> dict[str, Any]:
    """The exploit and explore strategies of ``arm`` for ``task``."""
    explore = task.explore() if hasattr(task, "explore") else pop.PerturbOrResampleExplore()
    return {
        "pbt": {"exploit": task.exploit(), "explore": explore},
        "random": {"exploit": pop.NoExploit(), "explore": pop.NoExplore()},
        "explore-only": {"exploit": pop.NoExploit(explore=True), "explore": explore},
        "exploit-only": {"exploit": task.exploit(), "explore": pop.NoExplore()},
        "pb2": {"exploit": task.exploit(), "explore": pop.PB2Explore()},
        "fire": {"exploit": task.exploit(), "explore": explore},
    }[arm]


def curves(result: pop.Population, population: int) -> dict[str, list[float]]:
    """Population best and median score at each step, against total steps trained.

    A member's score at a step is its latest result there (an exploit may rewind a member to
    its parent's step, so a step can hold results of several generations). Under FIRE PBT the
    members are the population's (evaluators' scores are not a model's), and total steps still
    count ``population``, the compute the arm stands for.
    """
    fire = result.fire
    counted = population if fire is None else fire.members
    latest: dict[tuple[int, int], tuple[float, float]] = {}
    for r in result.results():
        if fire is not None and fire.is_evaluator(r.member):
            continue
        key = (r.member, r.step)
        if key not in latest or r.created_at >= latest[key][0]:
            latest[key] = (r.created_at, r.score)
    by_step: dict[int, list[float]] = defaultdict(list)
    for (_member, step), (_, score) in latest.items():
        by_step[step].append(score)
    sign = 1.0 if result.maximize else -1.0
    steps = sorted(s for s, scores in by_step.items() if len(scores) == counted)
    return {
        "total_steps": [s * population for s in steps],
        "best": [sign * max(sign * x for x in by_step[s]) for s in steps],
        "median": [statistics.median(by_step[s]) for s in steps],
    }


def run_one(
    task: ModuleType, arm: str, seed: int, settings: dict[str, int], workers: int, folder: Path
) -> dict[str, Any]:
    """Train one population of ``arm`` and return its scores, curve and wall time."""
    members = dict(settings)
    algorithm = None
    if arm == "fire":
        members["population"], evaluators = fire_split(settings["population"])
        algorithm = pop.FirePBT(evaluators=evaluators)
    return measure(
        task,
        seed,
        members,
        workers,
        f"sqlite:///{folder / 'compare.db'}",
        f"{task.__name__}-{arm}-{seed}",
        algorithm=algorithm,
        **strategies(task, arm),
    )


def measure(
    task: ModuleType,
    seed: int,
    settings: dict[str, int],
    workers: int,
    storage: str,
    name: str,
    **strategies: Any,
) -> dict[str, Any]:
    """Train one population of ``task`` with ``strategies`` (``pop.run``'s exploit, explore
    and algorithm) and return its scores, curve and wall time.

    Total steps in the curve count ``settings["population"]``: under FIRE PBT, the compute its
    members and evaluators stand for.
    """
    start = time.perf_counter()
    result = pop.run(
        task.train,
        task.SPACE,
        **settings,
        **strategies,
        direction=task.DIRECTION,
        workers=workers,
        storage=storage,
        name=name,
        seed=seed,
        progress=False,
    )
    wall = time.perf_counter() - start
    best = result.best
    assert best is not None and best.score is not None
    scores = [m.score for m in result.members() if m.score is not None and not m.evaluator]
    fire = result.fire
    return {
        "seed": seed,
        "best": best.score,
        "median": statistics.median(scores),
        "test": task.test_score(result),
        "exploits": sum(d.decision.kind == "exploit" for d in result.decisions()),
        "evaluations": sum(d.decision.kind == "evaluate" for d in result.decisions()),
        "wall_s": wall,
        "curve": curves(result, settings["population"] + (0 if fire is None else fire.evaluators)),
    }


def quartiles(values: list[float]) -> dict[str, float]:
    """Median and interquartile range (the median alone for one value)."""
    if len(values) < 2:
        return {"median": values[0], "q1": values[0], "q3": values[0]}
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"median": median, "q1": q1, "q3": q3}


def summarize(runs: dict[str, list[dict[str, Any]]], maximize: bool) -> dict[str, Any]:
    """Per arm: quartiles of each score over seeds, and paired wins against random search."""
    sign = 1.0 if maximize else -1.0
    baseline = {r["seed"]: r for r in runs["random"]}
    out: dict[str, Any] = {}
    for arm, arm_runs in runs.items():
        wins: dict[str, list[int]] = {}
        for metric in ("best", "median", "test"):
            diffs = [sign * (r[metric] - baseline[r["seed"]][metric]) for r in arm_runs]
            wins[metric] = [sum(d > 0 for d in diffs), sum(d == 0 for d in diffs), len(diffs)]
        out[arm] = {
            **{m: quartiles([r[m] for r in arm_runs]) for m in ("best", "median", "test")},
            "wins_vs_random": wins,
            "wall_s": statistics.median(r["wall_s"] for r in arm_runs),
            "exploits": statistics.median(r["exploits"] for r in arm_runs),
        }
    return out


def markdown(summary: dict[str, dict[str, Any]], seeds: dict[str, int]) -> str:
    """The comparison as a markdown table: median [q1, q3] over seeds, wins w/t/n vs random."""

    def cell(q: dict[str, float]) -> str:
        return f"{q['median']:.4g} [{q['q1']:.4g}, {q['q3']:.4g}]"

    lines = [
        "Median [interquartile range] over seeds; wins = paired by seed against random search, "
        "as wins/ties/runs.",
        "",
        "| task | seeds | arm | best member | median member | held-out (best) | wins best | "
        "wins median | wins held-out | exploits | wall s |",
        "|---|---:|---|---|---|---|---|---|---|---:|---:|",
    ]
    for task, arms in summary.items():
        for arm, s in arms.items():
            wins = ["/".join(map(str, s["wins_vs_random"][m])) for m in ("best", "median", "test")]
            lines.append(
                f"| {task} | {seeds[task]} | {arm} | {cell(s['best'])} | {cell(s['median'])} | "
                f"{cell(s['test'])} | {' | '.join(wins)} | {s['exploits']:g} | {s['wall_s']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def plot(task: str, runs: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Population best and median member against total steps: median over seeds, IQR shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for arm, arm_runs in runs.items():
        length = min(len(r["curve"]["total_steps"]) for r in arm_runs)
        x = arm_runs[0]["curve"]["total_steps"][:length]
        for axis, key in zip(axes, ("best", "median"), strict=True):
            ys = np.array([r["curve"][key][:length] for r in arm_runs])
            q1, median, q3 = np.percentile(ys, [25, 50, 75], axis=0)
            (line,) = axis.plot(x, median, label=arm)
            axis.fill_between(x, q1, q3, color=line.get_color(), alpha=0.15)
    for axis, title in zip(axes, ("best member", "median member"), strict=True):
        axis.set_title(f"{task}: {title}")
        axis.set_xlabel("total steps trained by the population")
        axis.set_ylabel("validation score")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, tiny budgets (for CI)")
    parser.add_argument("--tasks", nargs="+", default=TASKS, choices=TASKS)
    parser.add_argument("--seeds", type=int, help="seeds per arm (default 5, 1 with --quick)")
    parser.add_argument("--workers", type=int, help="default 2, 1 with --quick")
    parser.add_argument("--arms", nargs="+", default=ARMS, choices=ARMS)
    parser.add_argument("--population", type=int, help="members per population (default: task's)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the stored populations in KEEP/<task>/ (for benchmarks/fire_decisions.py)",
    )
    args = parser.parse_args()
    if "random" not in args.arms:
        parser.error("--arms must include random: every arm is compared with it")
    for name in args.tasks if args.keep else ():
        if (args.keep / name / "compare.db").exists():
            parser.error(f"{args.keep / name} holds populations already: --keep needs a new folder")
    seeds = args.seeds or (1 if args.quick else 5)
    workers = args.workers or (1 if args.quick else 2)
    sys.path.insert(0, str(EXAMPLES))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.tasks:
        task = importlib.import_module(name)
        settings = dict(task.QUICK if args.quick else task.SETTINGS)
        if args.population is not None:
            settings["population"] = args.population
        runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in args.arms}
        with contextlib.ExitStack() as stack:
            if args.keep:
                folder = str(args.keep / name)
                Path(folder).mkdir(parents=True, exist_ok=True)
            else:
                folder = stack.enter_context(tempfile.TemporaryDirectory())
            for seed in range(seeds):
                for arm in args.arms:
                    run = run_one(task, arm, seed, settings, workers, Path(folder))
                    runs[arm].append(run)
                    print(
                        f"{name:12} {arm:13} seed {seed}: best {run['best']:.4g}, median "
                        f"{run['median']:.4g}, held-out {run['test']:.4g} "
                        f"({run['wall_s']:.1f} s)",
                        flush=True,
                    )
        # One file per task, written as soon as it is done: tasks can be run separately.
        write_results(
            f"compare-{name}",
            {
                "quick": args.quick,
                "seeds": seeds,
                "workers": workers,
                "settings": settings,
                "summary": summarize(runs, task.DIRECTION == "maximize"),
                "runs": runs,
            },
            args.out,
        )
        plot(name, runs, args.out / f"compare-{name}.png")
    collect(args.out)


def collect(folder: Path) -> None:
    """Gather every task's results in ``folder`` into compare.json and the compare.md table."""
    tasks = {}
    for name in TASKS:
        path = folder / f"compare-{name}.json"
        if path.exists():
            tasks[name] = json.loads(path.read_text())
    summary = {name: data["summary"] for name, data in tasks.items()}
    table = markdown(summary, {name: data["seeds"] for name, data in tasks.items()})
    print("\n" + table)
    (folder / "compare.md").write_text(table)
    settings = {
        name: {k: data[k] for k in ("quick", "seeds", "workers", "settings", "when")}
        for name, data in tasks.items()
    }
    path = write_results("compare", {"tasks": settings, "summary": summary}, folder)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
