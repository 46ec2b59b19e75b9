"""Real populations the analysis tests read: trained on a cheap numpy function, stored in SQLite."""

from __future__ import annotations

import math

import pytest

import populace as pop
from tests.runtime.workloads import climb

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-3, 0.5),
    decay=pop.Uniform(0.0, 0.2),
    optimizer=pop.Choice(["sgd", "adam", True]),
    seed=pop.Fixed(7),
)


def climb_with_loss(member: pop.Member) -> None:
    """``climb``, reporting a ``loss`` metric with every score from step 3 on."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    x, step = float(state["x"]), int(state["step"])
    while step < member.budget:
        step += 1
        x += member.params["lr"] * (1.0 - member.params["decay"]) * math.copysign(1.0, 1.0 - x)
        metrics = {"loss": abs(1.0 - x)} if step >= 3 else None
        member.report(step, -abs(1.0 - x), lambda: {"x": x, "step": step}, metrics=metrics)  # noqa: B023


def exploits(population: pop.Population) -> list:
    return [d for d in population.decisions() if d.decision.kind == "exploit"]


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> pop.Population:
    """Six members, 40 steps, a ready point every 5: several exploits, stored in SQLite."""
    folder = tmp_path_factory.mktemp("plot")
    result = pop.run(
        climb_with_loss,
        SPACE,
        population=6,
        budget=40,
        interval=5,
        storage=f"sqlite:///{folder / 'runs.db'}",
        checkpoints=folder / "checkpoints",
        seed=1,
        progress=False,
    )
    assert exploits(result), "the plots need exploits to draw"
    return result


@pytest.fixture(scope="session")
def large(tmp_path_factory: pytest.TempPathFactory) -> pop.Population:
    """64 members, 200 steps each (12,800 results), a ready point every 20."""
    folder = tmp_path_factory.mktemp("large")
    return pop.run(
        climb,
        SPACE,
        population=64,
        budget=200,
        interval=20,
        storage=f"sqlite:///{folder / 'runs.db'}",
        checkpoints=folder / "checkpoints",
        seed=2,
        progress=False,
    )


@pytest.fixture(scope="session")
def empty() -> pop.Population:
    """Three members that fail before reporting anything."""

    def fail(member: pop.Member) -> None:
        raise RuntimeError("no scores")

    return pop.run(
        fail,
        SPACE,
        population=3,
        budget=10,
        interval=5,
        storage="memory",
        retries=0,
        progress=False,
    )
