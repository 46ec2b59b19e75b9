"""PBT's design space (the paper's section 5): population size, exploit and explore, each
measured as the gain over random search at the same population size.

    python benchmarks/design_space.py                    # 4 seeds, both tasks (about 30-40 min)
    python benchmarks/design_space.py --quick            # 1 seed, tiny budgets (smoke test)
    python benchmarks/design_space.py --tasks cartpole --seeds 2
    python benchmarks/design_space.py --full             # the whole factorial (about 5x longer)

Factors and levels (populace's strategies with their defaults):

- population size: 4, 8, 16, 32 members (2 and 4 with ``--quick``);
- exploit: truncation (``TruncationExploit``: bottom 25 % copy top 25 %), binary tournament
  (``TournamentExploit``), Welch t-test (``TTestExploit``: last 10 scores, one-sided 0.05);
- explore: perturb (``PerturbExplore``: x0.8 / x1.2), resample (``ResampleExplore``: each
  hyperparameter redrawn with probability 0.25, else kept), both (``PerturbOrResampleExplore``:
  resample with probability 0.25, else perturb) and PB2 (``PB2Explore``).

The default varies one factor at a time around a baseline, as the paper does: population 8 (the
tasks' own; 4 with ``--quick``), truncation, perturb-or-resample. That is 4 + 2 + 3 = 9 distinct
PBT configurations per task; ``--full`` runs the 4 x 3 x 4 = 48 of the factorial instead. Each
population size also trains random search (no exploit, no explore), and every configuration
trains seeds 0, 1, ... with the same seed giving the same initial params at a given population
size, so each configuration is paired by seed with random search of its own size: the reported
gain is the median over seeds of (configuration - random search), with its interquartile range.

Tasks and budgets (``examples/``; one step is one epoch of digits_hard, one PPO update of 1,024
environment steps of cartpole):

- digits_hard: the task's SETTINGS (40 epochs, ready every 4);
- cartpole: half the task's SETTINGS (40 updates, ready every 5: as many ready points). At the
  full 80 updates the best member of every arm, random search included, reaches the maximum
  return of 500 (``compare.md``), which leaves no gain to measure on the best member; the half
  budget leaves headroom and halves the cost.

On the 2-core machine with 2 workers, one seed of the default study (13 populations per task)
takes about 4 min on digits_hard and 3 min on cartpole when nothing else runs, hence 4 seeds by
default (about 30 min; the recorded run took 48 min while other jobs loaded the machine).
``--quick`` uses the tasks' QUICK settings, 1 seed and 1 worker.

Writes ``design_space.json`` (every run, and per configuration the quartiles of the best member's
and the median member's final validation score, of the held-out score of the member selected by
validation, and of the paired gains), the table ``design_space.md`` and the figure
``design_space.png`` (one panel per task and factor: level against gain over random search,
median and interquartile range over seeds) to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from compare import EXAMPLES, measure, quartiles, strategies

import populace as pop

from _common import RESULTS, write_results

TASKS = ["digits_hard", "cartpole"]
EXPLOITS = {
    "truncation": pop.TruncationExploit,
    "tournament": pop.TournamentExploit,
    "t-test": pop.TTestExploit,
}
EXPLORES = {
    "perturb": pop.PerturbExplore,
    "resample": pop.ResampleExplore,
    "both": pop.PerturbOrResampleExplore,
    "pb2": pop.PB2Explore,
}
POPULATIONS = [4, 8, 16, 32]
QUICK_POPULATIONS = [2, 4]
BASELINE_EXPLOIT, BASELINE_EXPLORE = "truncation", "both"  # the population: the task's
# Budgets other than the task's SETTINGS (see the docstring); the population is a factor.
BUDGETS = {"cartpole": {"budget": 40, "interval": 5}}
RANDOM = "random"
FACTORS = ["population", "exploit", "explore"]
METRICS = ["best", "median", "test"]


@dataclasses.dataclass(frozen=True)
class Config:
    """One configuration: random search when ``exploit`` is ``RANDOM``."""

    population: int
    exploit: str = RANDOM
    explore: str = RANDOM

    @property
    def label(self) -> str:
        if self.exploit == RANDOM:
            return f"random-{self.population}"
        return f"pop{self.population}-{self.exploit}-{self.explore}"

    def strategies(self, task: ModuleType) -> dict[str, Any]:
        if self.exploit == RANDOM:
            return strategies(task, "random")
        return {"exploit": EXPLOITS[self.exploit](), "explore": EXPLORES[self.explore]()}


def factor_levels(populations: list[int], baseline: int) -> dict[str, list[tuple[str, Config]]]:
    """Each factor's levels with the other two factors at the baseline (the paper's slices)."""
    return {
        "population": [
            (str(n), Config(n, BASELINE_EXPLOIT, BASELINE_EXPLORE)) for n in populations
        ],
        "exploit": [(e, Config(baseline, e, BASELINE_EXPLORE)) for e in EXPLOITS],
        "explore": [(e, Config(baseline, BASELINE_EXPLOIT, e)) for e in EXPLORES],
    }


def configs(populations: list[int], baseline: int, full: bool) -> list[Config]:
    """The PBT configurations to train (each once), then random search at every size."""
    if full:
        pbt = [Config(*c) for c in itertools.product(populations, EXPLOITS, EXPLORES)]
    else:
        levels = factor_levels(populations, baseline)
        pbt = list(dict.fromkeys(c for factor in FACTORS for _, c in levels[factor]))
    return pbt + [Config(n) for n in populations]


def run_config(
    task: ModuleType, config: Config, seed: int, settings: dict[str, int], workers: int, db: Path
) -> dict[str, Any]:
    """Train one population of ``config`` and return its scores, curve and wall time."""
    return measure(
        task,
        seed,
        {**settings, "population": config.population},
        workers,
        f"sqlite:///{db}",
        f"{task.__name__}-{config.label}-{seed}",
        **config.strategies(task),
    )


def summarize(
    runs: dict[str, list[dict[str, Any]]], todo: list[Config], maximize: bool
) -> dict[str, Any]:
    """Per configuration: quartiles over seeds of each score and of its gain over random search
    of the same size on the same seed (positive: better than random search), and wins."""
    sign = 1.0 if maximize else -1.0
    out: dict[str, Any] = {}
    for config in todo:
        mine = runs[config.label]
        baseline = {r["seed"]: r for r in runs[Config(config.population).label]}
        gains = {m: [sign * (r[m] - baseline[r["seed"]][m]) for r in mine] for m in METRICS}
        out[config.label] = {
            **dataclasses.asdict(config),
            **{m: quartiles([r[m] for r in mine]) for m in METRICS},
            "gain": {m: quartiles(gains[m]) for m in METRICS},
            "wins": {
                m: [sum(g > 0 for g in gains[m]), sum(g == 0 for g in gains[m]), len(mine)]
                for m in METRICS
            },
            "wall_s": statistics.median(r["wall_s"] for r in mine),
            "exploits": statistics.median(r["exploits"] for r in mine),
        }
    return out


def _cell(q: dict[str, float]) -> str:
    return f"{q['median']:.4g} [{q['q1']:.4g}, {q['q3']:.4g}]"


def _row(task: str, factor: str, level: str, s: dict[str, Any], baseline: bool) -> str:
    wins = " | ".join("/".join(map(str, s["wins"][m])) for m in ("best", "median"))
    name = f"**{level}**" if baseline else level
    return (
        f"| {task} | {factor} | {name} | {_cell(s['best'])} | {_cell(s['median'])} | "
        f"{_cell(s['gain']['best'])} | {_cell(s['gain']['median'])} | {wins} | "
        f"{s['exploits']:g} | {s['wall_s']:.1f} |"
    )


HEADER = [
    "| task | factor | level | best member | median member | gain best | gain median | "
    "wins best | wins median | exploits | wall s |",
    "|---|---|---|---|---|---|---|---|---|---:|---:|",
]


def markdown(tasks: dict[str, dict[str, Any]], full: bool) -> str:
    """The study as markdown: per task, factor and level, median [q1, q3] over seeds."""
    sizes = " or ".join(sorted({str(d["baseline_population"]) for d in tasks.values()}))
    lines = [
        "Final validation score, median [interquartile range] over seeds. Gain = configuration "
        "minus random search of the same population size on the same seed (positive: better); "
        "wins = wins/ties/runs of those pairs. Each factor varies with the others at the "
        f"baseline (in bold): population {sizes}, truncation, perturb-or-resample (`both`). "
        "Random search rows: its own scores at each size.",
        "",
        *HEADER,
    ]
    for task, data in tasks.items():
        summary, baseline = data["summary"], data["baseline_population"]
        levels = factor_levels(data["populations"], baseline)
        for factor in FACTORS:
            for level, config in levels[factor]:
                is_base = config == Config(baseline, BASELINE_EXPLOIT, BASELINE_EXPLORE)
                lines.append(_row(task, factor, level, summary[config.label], is_base))
        for n in data["populations"]:
            s = summary[Config(n).label]
            lines.append(
                f"| {task} | random search | {n} | {_cell(s['best'])} | {_cell(s['median'])} | "
                f"| | | | 0 | {s['wall_s']:.1f} |"
            )
    if full:
        lines += ["", "The whole factorial:", "", *HEADER]
        for task, data in tasks.items():
            for label, s in data["summary"].items():
                if s["exploit"] != RANDOM:
                    lines.append(_row(task, "all", label, s, False))
    return "\n".join(lines) + "\n"


def plot(tasks: dict[str, dict[str, Any]], path: Path) -> None:
    """One panel per task and factor: gain over random search against the level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(tasks), len(FACTORS), figsize=(4 * len(FACTORS), 3.3 * len(tasks)), squeeze=False
    )
    for row, (task, data) in zip(axes, tasks.items(), strict=True):
        levels = factor_levels(data["populations"], data["baseline_population"])
        for axis, factor in zip(row, FACTORS, strict=True):
            names = [level for level, _ in levels[factor]]
            for offset, metric, marker in ((-0.08, "best", "o"), (0.08, "median", "s")):
                gains = [data["summary"][c.label]["gain"][metric] for _, c in levels[factor]]
                medians = [g["median"] for g in gains]
                spread = [
                    [g["median"] - g["q1"] for g in gains],
                    [g["q3"] - g["median"] for g in gains],
                ]
                axis.errorbar(
                    [i + offset for i in range(len(names))],
                    medians,
                    yerr=spread,
                    marker=marker,
                    linestyle="-" if factor == "population" else "none",
                    capsize=3,
                    label=f"{metric} member",
                )
            axis.axhline(0.0, color="grey", linewidth=0.8)
            axis.set_xticks(range(len(names)), names)
            axis.set_title(f"{task}: {factor}")
            axis.set_xlabel(factor)
            axis.grid(alpha=0.3)
        row[0].set_ylabel("gain over random search")
    axes[0][0].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, QUICK budgets (smoke test)")
    parser.add_argument("--full", action="store_true", help="the whole factorial, not slices")
    parser.add_argument("--tasks", nargs="+", default=TASKS, choices=TASKS)
    parser.add_argument("--seeds", type=int, help="seeds per configuration (4, 1 with --quick)")
    parser.add_argument("--workers", type=int, help="default 2, 1 with --quick")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results")
    args = parser.parse_args()
    seeds = args.seeds or (1 if args.quick else 4)
    workers = args.workers or (1 if args.quick else 2)
    populations = QUICK_POPULATIONS if args.quick else POPULATIONS
    sys.path.insert(0, str(EXAMPLES))
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tasks: dict[str, dict[str, Any]] = {}
    for name in args.tasks:
        task = importlib.import_module(name)
        settings = dict(task.QUICK) if args.quick else {**task.SETTINGS, **BUDGETS.get(name, {})}
        baseline = settings.pop("population")
        todo = configs(populations, baseline, args.full)
        runs: dict[str, list[dict[str, Any]]] = {c.label: [] for c in todo}
        task_start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            for seed in range(seeds):
                for i, config in enumerate(todo, 1):
                    run = run_config(task, config, seed, settings, workers, Path(folder) / "d.db")
                    runs[config.label].append(run)
                    print(
                        f"{name:12} {config.label:26} seed {seed} ({i}/{len(todo)}): best "
                        f"{run['best']:.4g}, median {run['median']:.4g}, held-out "
                        f"{run['test']:.4g} ({run['wall_s']:.1f} s, "
                        f"{time.perf_counter() - started:.0f} s in all)",
                        flush=True,
                    )
        tasks[name] = {
            "settings": settings,
            "baseline_population": baseline,
            "populations": populations,
            "wall_s": time.perf_counter() - task_start,
            "summary": summarize(runs, todo, task.DIRECTION == "maximize"),
            "runs": runs,
        }
        # Written after each task, so that a long study keeps what it finished.
        table = markdown(tasks, args.full)
        (args.out / "design_space.md").write_text(table)
        plot(tasks, args.out / "design_space.png")
        path = write_results(
            "design_space",
            {
                "quick": args.quick,
                "full": args.full,
                "seeds": seeds,
                "workers": workers,
                "baseline": {"exploit": BASELINE_EXPLOIT, "explore": BASELINE_EXPLORE},
                "wall_s": time.perf_counter() - started,
                "tasks": tasks,
            },
            args.out,
        )
    print("\n" + table)
    print(f"written to {path} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
