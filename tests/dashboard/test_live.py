"""The dashboard's copy of a population: whole at first, then only rows added since, a row
committed late under a lower id picked up, and everything read again after a rewind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import populace as pop
from populace.checkpoints import LocalCheckpointStore
from populace.dashboard import LivePopulation
from populace.storage import BaseStorage, SQLStorage


class Recording:
    """A storage that records the ``after`` of each read and can hold back result ids (a
    PostgreSQL transaction not yet committed)."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self.afters: list[int] = []
        self.held: set[int] = set()

    def results(self, population: int, after: int = 0) -> list[Any]:
        self.afters.append(after)
        rows = self.storage.results(population, after=after)
        return [r for r in rows if r.id not in self.held]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def _population(tmp_path: Path, size: int = 3) -> pop.Population:
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    controller = pop.Controller(space, budget=40, interval=4, seed=1)
    store = LocalCheckpointStore(str(tmp_path / "checkpoints"))
    return pop.Population.create(SQLStorage("sqlite://"), "toy", controller, size, store)


def _train(population: pop.Population, trials: int) -> None:
    """Run ``trials`` trials (an interval each, a result a step), whoever's turn it is."""
    for _ in range(trials):
        trial = population.ask(owner="me")
        assert trial is not None
        for step in range(trial.start_step + 1, trial.start_step + trial.steps + 1):
            score = trial.params["lr"] * step
            population.tell(trial, step, score, checkpoint={"step": step})
        population.release(trial.member, "me")


def _live(population: pop.Population, window: int = 2) -> tuple[LivePopulation, Recording]:
    storage = Recording(population.storage)
    record = population.storage.find_population("toy")
    assert record is not None
    live = LivePopulation(storage, record, every=0.0, window=window)  # type: ignore[arg-type]
    return live, storage


def test_a_refresh_reads_only_the_rows_after_the_window(tmp_path: Path) -> None:
    population = _population(tmp_path)
    _train(population, 6)
    live, storage = _live(population)
    first = live.refresh()
    assert [r.id for r in live.results] == [r.id for r in population.results()]
    assert live.decisions == population.decisions()
    assert live.members == population.storage.members(population.id)
    newest = live.results[-1].id
    _train(population, 2)
    second = live.refresh()
    assert storage.afters == [0, newest - 2]
    assert [r.id for r in live.results] == [r.id for r in population.results()]
    assert second["results"] == first["results"] + 1
    assert second["workers"] == first["workers"]
    assert live.refresh() == second  # nothing new: no part moves


def test_a_row_committed_late_under_a_lower_id_is_picked_up(tmp_path: Path) -> None:
    population = _population(tmp_path)
    _train(population, 8)
    live, storage = _live(population, window=3)
    late = population.results()[-3].id
    storage.held = {late}
    live.refresh()
    assert late not in [r.id for r in live.results]
    storage.held = set()
    live.refresh()
    ids = [r.id for r in live.results]
    assert ids == sorted(ids) == [r.id for r in population.results()]


def test_a_rewound_member_makes_the_next_refresh_read_everything(tmp_path: Path) -> None:
    population = _population(tmp_path)
    _train(population, 12)
    live, storage = _live(population)
    live.refresh()
    members = population.storage.members(population.id)
    member = next(m for m in members if m.step - m.start_step >= 2)
    deleted = population.storage.discard_results_after(
        population.id, member.id, member.generation, member.step - 2
    )
    assert deleted
    live.refresh()
    assert storage.afters[-1] == 0
    assert [r.id for r in live.results] == [r.id for r in population.results()]


def test_reads_are_spaced_by_every_seconds(tmp_path: Path) -> None:
    population = _population(tmp_path)
    _train(population, 4)
    live, storage = _live(population)
    live.every = 3600.0
    live.refresh()
    _train(population, 4)
    live.refresh()
    assert len(storage.afters) == 1


@pytest.mark.parametrize("kind", ["curves", "lineage", "schedule", "params"])
def test_a_figure_is_built_once_per_version(tmp_path: Path, kind: str) -> None:
    from populace.dashboard._figures import figure

    population = _population(tmp_path)
    _train(population, 12)
    live, _storage = _live(population)
    live.refresh()
    first = figure(live, kind, {})
    assert figure(live, kind, {}) is first
    _train(population, 3)
    live.refresh()
    assert figure(live, kind, {}) is not first
