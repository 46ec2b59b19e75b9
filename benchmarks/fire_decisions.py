"""Why FIRE PBT wins or loses a seed against random search, read from the stored decisions.

    python benchmarks/compare.py --tasks gan translate --arms pbt random fire --population 22 \\
        --keep /tmp/keep22 --out benchmarks/results/fire-pop22
    python benchmarks/fire_decisions.py /tmp/keep22 --out benchmarks/results/fire-pop22

Reads the populations ``compare.py --keep`` stored (random search, PBT and FIRE PBT for each task
and seed) and reports, per seed:

- **where FIRE's best model is**: the best final score in each sub-population (the final model
  is P1's by design, so a better one in P2 is lost);
- **where the good initial draws sit.** One seed gives member ``i`` the same initial params in
  every arm, so random search's final score per member id says which draws learn; they are
  grouped by the role the id has under FIRE (P1, P2, evaluator). An evaluator's row never trains
  its own draw: it trains parents' weights with a child's params.
- **what P1 did with its best draw**: the step at which that member was first overwritten, and
  the score margin it lost by (P1 is plain greedy PBT: it gives the final model).
- **the evaluations**: how many ran, for how many steps, how each ended (S1, S2, parent or child
  overwritten, the child done, the budget, the run's end), and the success copies into P1.

Writes ``fire-decisions.json`` and ``fire-decisions.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import populace as pop
from populace.storage import DecisionRecord, get_storage

from _common import RESULTS, write_results

ENDINGS = {
    "(S1)": "S1 never met",
    "S2)": "S2 not faster",
    "its parent": "parent overwritten",
    "its child, member": "child overwritten or done",
    "reached the budget": "budget",
    "every population member is done": "run ended",
}
"""Decision-reason fragments and the evaluation ending each one names (first match wins)."""


def ending(reason: str) -> str:
    """How an evaluation ended, from the reason of the evaluator's next decision."""
    return next((name for fragment, name in ENDINGS.items() if fragment in reason), "other")


def draws(random: pop.Population, fire: pop.Population) -> dict[str, Any]:
    """Random search's final score per member id, grouped by the id's role under FIRE."""
    algorithm = fire.fire
    assert algorithm is not None
    scores = {m.id: m.score for m in random.members() if m.score is not None}
    sign = 1.0 if random.maximize else -1.0
    groups: dict[str, list[int]] = {"P1": [], "P2": [], "evaluators": []}
    for member in sorted(scores):
        if algorithm.is_evaluator(member):
            groups["evaluators"].append(member)
        else:
            groups[f"P{algorithm.subpopulation(member) + 1}"].append(member)
    best = {role: max(ids, key=lambda i: sign * scores[i]) for role, ids in groups.items() if ids}
    return {
        "best_draw": {role: {"member": i, "score": scores[i]} for role, i in best.items()},
        "overall_best_in": max(best, key=lambda role: sign * scores[best[role]]),
    }


def first_overwrite(decisions: list[DecisionRecord], member: int) -> dict[str, Any] | None:
    """When ``member`` first copied another member's weights, and the scores it compared."""
    for record in sorted(decisions, key=lambda d: (d.step, d.id)):
        decision = record.decision
        if (
            record.member != member
            or not isinstance(decision, pop.Exploit)
            or decision.parent == member  # explored its own weights: nothing overwritten
        ):
            continue
        scores = {m: s for m, _, s in record.compared}
        return {
            "step": record.step,
            "own_score": scores.get(member),
            "parent": decision.parent,
            "parent_score": scores.get(decision.parent),
            "reason": decision.reason,
        }
    return None


def evaluations(decisions: list[DecisionRecord], algorithm: pop.FirePBT) -> dict[str, Any]:
    """Every evaluation's length and ending, and the success copies into members."""
    lengths: list[int] = []
    endings: Counter[str] = Counter()
    by_evaluator: dict[int, list[DecisionRecord]] = {}
    for record in sorted(decisions, key=lambda d: (d.generation, d.step, d.id)):
        if algorithm.is_evaluator(record.member):
            by_evaluator.setdefault(record.member, []).append(record)
    for records in by_evaluator.values():
        started: int | None = None
        for record in records:
            decision = record.decision
            ends = isinstance(decision, (pop.Evaluate, pop.Stop)) or "evaluation ended" in (
                decision.reason
            )
            if started is not None and ends:
                lengths.append(record.step - started)
                endings[ending(decision.reason)] += 1
                started = None
            if isinstance(decision, pop.Evaluate):
                started = decision.parent_step
        if started is not None:
            endings["unfinished"] += 1
    copies = [
        record
        for record in decisions
        if not algorithm.is_evaluator(record.member)
        and isinstance(record.decision, pop.Exploit)
        and record.decision.reason.startswith("FIRE: evaluator")
    ]
    return {
        "count": sum(endings.values()),
        "median_steps": statistics.median(lengths) if lengths else None,
        "endings": dict(endings),
        "success_copies": len(copies),
        "success_copies_into_p1": sum(algorithm.subpopulation(r.member) == 0 for r in copies),
    }


def analyse(folder: Path, task: str, seed: int) -> dict[str, Any]:
    """One task and seed: the three arms' best scores, the draws, P1's fate and evaluations."""
    storage = f"sqlite:///{folder / task / 'compare.db'}"
    random, pbt, fire = (
        pop.load(storage, f"{task}-{arm}-{seed}") for arm in ("random", "pbt", "fire")
    )
    best = {arm: _best_score(p) for arm, p in (("random", random), ("pbt", pbt), ("fire", fire))}
    sign = 1.0 if fire.maximize else -1.0
    by_subpopulation: dict[str, float] = {}
    for m in fire.members():
        if m.subpopulation is not None and m.score is not None:
            key = f"P{m.subpopulation}"
            if key not in by_subpopulation or sign * m.score > sign * by_subpopulation[key]:
                by_subpopulation[key] = m.score
    found = draws(random, fire)
    p1_draw = found["best_draw"]["P1"]["member"]
    decisions, algorithm = fire.decisions(), fire.fire
    assert algorithm is not None
    return {
        "task": task,
        "seed": seed,
        "best": best,
        "fire_best_by_subpopulation": by_subpopulation,
        "fire_loses_to_random": _worse(fire, best["fire"], best["random"]),
        "pbt_loses_to_random": _worse(pbt, best["pbt"], best["random"]),
        **found,
        "p1_best_draw_overwritten": first_overwrite(decisions, p1_draw),
        "evaluations": evaluations(decisions, algorithm),
    }


def _best_score(population: pop.Population) -> float:
    best = population.best
    assert best is not None and best.score is not None, population.name
    return best.score


def _worse(population: pop.Population, score: float, baseline: float) -> bool:
    return score < baseline if population.maximize else score > baseline


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """One line per task and seed."""
    lines = [
        "| task | seed | best: random / PBT / FIRE | FIRE's best in P1 / P2 | random's best draw, "
        "by FIRE role (P1 / P2 / evaluators) | P1's best draw overwritten | evaluations (median "
        "steps) | how they ended | success copies into P1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        b, d, e = row["best"], row["best_draw"], row["evaluations"]
        sub = " / ".join(f"{v:.4g}" for _, v in sorted(row["fire_best_by_subpopulation"].items()))
        marks = " (FIRE loses)" if row["fire_loses_to_random"] else ""
        draw = " / ".join(
            f"{d[r]['score']:.3g} (#{d[r]['member']})" for r in ("P1", "P2", "evaluators") if r in d
        )
        over = row["p1_best_draw_overwritten"]
        if over is None:
            fate = "never"
        elif over["reason"].startswith("FIRE: evaluator"):
            fate = f"step {over['step']}: success copy from evaluator #{over['parent']}"
        else:
            fate = (
                f"step {over['step']}: {_number(over['own_score'])} lost to "
                f"#{over['parent']}'s {_number(over['parent_score'])}"
            )
        ends = ", ".join(f"{k} {v}" for k, v in sorted(e["endings"].items()))
        lines.append(
            f"| {row['task']} | {row['seed']} | {b['random']:.4g} / {b['pbt']:.4g} / "
            f"{b['fire']:.4g}{marks} | {sub} | {draw} | {fate} | "
            f"{e['count']} ({e['median_steps']}) | {ends} | {e['success_copies_into_p1']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keep", type=Path, help="the folder compare.py --keep wrote")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for database in sorted(args.keep.glob("*/compare.db")):
        task = database.parent.name
        names = [
            p.name for p in get_storage(f"sqlite:///{database}", read_only=True).list_populations()
        ]
        seeds = sorted(int(n.rsplit("-", 1)[1]) for n in names if n.startswith(f"{task}-fire-"))
        rows.extend(analyse(args.keep, task, seed) for seed in seeds)
    if not rows:
        parser.error(f"{args.keep} holds no FIRE populations: run compare.py --keep first")
    table = markdown(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fire-decisions.md").write_text(table)
    path = write_results("fire-decisions", {"runs": rows}, args.out)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
