"""A small deterministic population with exploits and extra metrics, trained with trackers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import populace as pop
from populace.trackers import BaseTracker


def train(member: pop.Member) -> None:
    """Adds ``lr`` per step: the slowest member is always behind, so it exploits."""
    x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"]
        member.report(step, x, checkpoint={"x": x}, metrics={"loss": -x, "half": x / 2})


def run(folder: Path, trackers: Sequence[BaseTracker], budget: int = 12) -> pop.Population:
    """Train 4 members for ``budget`` steps (interval 3) into a SQLite file under ``folder``."""
    population = pop.run(
        train,
        pop.SearchSpace(lr=pop.Uniform(0.0, 1.0), opt=pop.Choice(["adam", "sgd"])),
        population=4,
        budget=budget,
        interval=3,
        storage=f"sqlite:///{folder / 'runs.db'}",
        name="tracked",
        progress=False,
        trackers=list(trackers),
    )
    exploits = [d for d in population.decisions() if d.decision.kind == "exploit"]
    assert exploits, "the population is meant to exploit"
    return population
