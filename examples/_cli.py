"""The command line the examples share: the standard flags, the run, and the closing summary.

Each example keeps what is its own (its flags beyond these, its strategies, its summary line)
and calls :func:`parse`, :func:`run` and :func:`summarize` for the rest.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Mapping
from typing import Any

import populace as pop


def parse(
    argv: list[str] | None,
    doc: str | None,
    name: str,
    settings: Mapping[str, int],
    unit: str,
    exploit_choice: bool = False,
    executor_choice: bool = False,
) -> argparse.Namespace:
    """Parse ``--population --budget --interval --workers --storage --name --seed`` (and
    ``--exploit truncation|ttest`` with ``exploit_choice``, ``--executor
    serial|processes|vectorized`` with ``executor_choice``), with the task's ``settings`` as
    defaults; ``unit`` names a step. Any executor but ``processes`` runs one worker."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--population", type=int, default=settings["population"])
    parser.add_argument("--budget", type=int, default=settings["budget"], help=f"in {unit}")
    parser.add_argument("--interval", type=int, default=settings["interval"], help=f"in {unit}")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--storage", default=f"sqlite:///{name}.db")
    parser.add_argument("--name", default=name)
    parser.add_argument("--seed", type=int, default=0)
    if exploit_choice:
        parser.add_argument("--exploit", choices=["truncation", "ttest"], default="truncation")
    if executor_choice:
        parser.add_argument(
            "--executor", choices=["serial", "processes", "vectorized"], default="processes"
        )
    args = parser.parse_args(argv)
    if executor_choice and args.executor != "processes":
        args.workers = 1
    return args


def run(
    train: Callable[[pop.Member], None],
    space: pop.SearchSpace,
    args: argparse.Namespace,
    train_batch: Callable[[pop.Batch], None] | None = None,
    **options: Any,
) -> pop.Population:
    """``pop.run`` with the parsed flags and the task's own ``options`` (strategies, direction).

    With an ``--executor`` flag (:func:`parse`'s ``executor_choice``) it runs that executor:
    ``train_batch`` for the vectorized one, ``train`` for the others.
    """
    executor = getattr(args, "executor", None)
    if executor is not None:
        options["executor"] = executor
    return pop.run(
        train_batch if executor == "vectorized" and train_batch is not None else train,
        space,
        population=args.population,
        budget=args.budget,
        interval=args.interval,
        workers=args.workers,
        storage=args.storage,
        name=args.name,
        seed=args.seed,
        **options,
    )


def median_score(result: pop.Population) -> float:
    """The median member's latest score."""
    return statistics.median(m.score for m in result.members() if m.score is not None)


def summarize(result: pop.Population, args: argparse.Namespace, line: str) -> None:
    """Print the task's own ``line``, then the exploits, the winning schedule and where to look."""
    best = result.best
    print(line)
    print(f"exploits: {sum(d.decision.kind == 'exploit' for d in result.decisions())}")
    print(f"schedule of the best model: {None if best is None else best.schedule}")
    print(
        f"stored in {result.storage.url}; inspect with: populace status --storage "
        f"{args.storage} {args.name}"
    )
