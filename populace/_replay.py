"""``pop.replay``: retrain a fresh model along the schedule PBT found (training replay).

PBT's output is a hyperparameter schedule: the params of its best member over steps, stitched
across exploits. Li et al. (2019) check a schedule by replaying it: one new member trains from
scratch with the schedule's params, switching at the same steps, without ever copying weights.
If it ends near the source's best score, the schedule alone explains the result::

    result = pop.run(train, space, budget=40, interval=4, name="digits")
    check = pop.replay(train, result)            # population "digits-replay", one member
    print(check.score, check.source_score, check.difference)

The replay is an ordinary stored population trained by ``pop.run``: its changes of params are
stored decisions, it can be analysed like any population, and calling ``pop.replay`` again with
the same name resumes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL

from populace.analysis import MemberResult, Schedule
from populace.checkpoints._open import sibling_uri
from populace.controller import Controller, MemberState
from populace.errors import ConfigurationError, PopulaceError
from populace.executors._choice import make_executor
from populace.runtime import (
    DEFAULT_STORAGE,
    Population,
    TrainFn,
    load,
    open_population,
    train_population,
)
from populace.runtime._open import checkpoints_folder_name
from populace.storage import BaseStorage

__all__ = ["ReplayResult", "replay"]


@dataclass(frozen=True)
class ReplayResult:
    """How close a replay of the source's best schedule comes to the source's best score.

    Attributes:
        population: The replay population (one member): its schedule, lineage and decisions.
        source: The population whose best schedule was replayed.
        score: The replayed member's final score.
        source_score: The final score of the source's best member.
    """

    population: Population
    source: Population
    score: float
    source_score: float

    @property
    def difference(self) -> float:
        """``score - source_score``: positive when the replay scored higher."""
        return self.score - self.source_score

    def __repr__(self) -> str:
        return (
            f"ReplayResult({self.population.name!r}: score {self.score:.6g}, best of "
            f"{self.source.name!r} {self.source_score:.6g}, difference {self.difference:+.6g})"
        )


def _source(source: Population | str, storage: str | URL | BaseStorage | None) -> Population:
    """The population to replay: as given, or loaded by name from ``storage``."""
    if isinstance(source, Population):
        if storage is not None:
            raise ConfigurationError(
                "storage is only for a source given by name: a Population brings its storage"
            )
        return source
    if isinstance(source, str):
        return load(DEFAULT_STORAGE if storage is None else storage, source)
    raise ConfigurationError(
        f"source must be a Population (from pop.run or pop.load) or a name, got {source!r}"
    )


def _finished_best(source: Population) -> MemberResult:
    """The source's best member, which must have trained to the budget."""
    best = source.best
    if best is None:
        raise ConfigurationError(
            f"population {source.name!r} has no results: there is no schedule to replay"
        )
    budget = source.controller.budget
    if best.step < budget:
        raise ConfigurationError(
            f"the best member of {source.name!r} (member {best.id}, {best.state}) stopped at "
            f"step {best.step} of {budget}: replay needs a schedule that reaches the budget "
            "(pop.run with the same name resumes an interrupted population)"
        )
    return best


def _check_steps(schedule: Schedule, interval: int, name: str) -> None:
    """Schedule changes must fall on ready points of the replay: multiples of the interval."""
    off = [e.step for e in schedule if e.step % interval]
    if off:
        raise ConfigurationError(
            f"the best schedule of {name!r} changes params at steps {off}, which are not "
            f"multiples of its interval {interval}: a replay changes params only at ready "
            "points, so train must report at every multiple of the interval"
        )


def _describe(entry: Mapping[str, Any] | None) -> str:
    return "nothing" if entry is None else f"step {entry['step']} {dict(entry['params'])}"


def _schedule_differences(
    wanted: Sequence[Mapping[str, Any]], stored: Sequence[Mapping[str, Any]]
) -> list[str]:
    """``entry i: ... here, ... stored`` for each schedule entry that differs."""
    return [
        f"entry {i}: {_describe(here)} here, {_describe(there)} stored"
        for i, (here, there) in enumerate(itertools.zip_longest(wanted, stored))
        if here != there
    ]


def _check_stored(source: Population, name: str, controller: Controller) -> bool:
    """Whether the replay ``name`` is stored already, checking that it replays the same schedule
    (a clearer refusal than the settings' differences ``open_population`` lists)."""
    storage = source.storage
    existing = storage.find_population(name)
    if existing is None:
        return False
    stored = Controller.from_dict(source.space, existing.config["controller"]).schedule
    if stored is None:
        raise ConfigurationError(
            f"population {name!r} in {storage.url} is not a replay: choose another name"
        )
    differences = _schedule_differences(controller.schedule or [], stored)
    if differences:
        raise ConfigurationError(
            f"replay {name!r} in {storage.url} follows another schedule; refusing to mix them "
            "(use another name to start afresh):\n  " + "\n  ".join(differences)
        )
    return True


def _checkpoints(source: Population, name: str) -> str:
    """Where a new replay keeps its checkpoints: a folder beside the source's (so collecting
    the replay's garbage never touches the source's checkpoints); an in-memory source's
    temporary folder is shared."""
    folder = source.checkpoints.uri
    if source.storage.url_for_workers is not None:  # a database other processes can open
        folder = sibling_uri(folder, checkpoints_folder_name(name))
    return folder


def replay(
    train: TrainFn,
    source: Population | str,
    *,
    storage: str | URL | BaseStorage | None = None,
    name: str | None = None,
    workers: int = 1,
    retries: int = 2,
    keep_best: int = 3,
    progress: bool | None = None,
) -> ReplayResult:
    """Retrain one fresh member along the best schedule of ``source``; report how close it gets.

    The member starts with the schedule's first params and, at each ready point where the
    schedule changes them, takes the new params while keeping its own weights (a stored
    ``Explore`` decision); it never copies another member. It trains to the source's budget
    with the source's interval and direction.

    Args:
        train: The training function, as for ``pop.run`` (usually the source's own).
        source: A finished population (from ``pop.run`` or ``pop.load``), or its name.
        storage: Where to find ``source`` when it is a name (default as ``pop.run``).
        name: The replay population's name; default ``"<source name>-replay"``. It is stored
            in the source's storage, its checkpoints beside the source's. An existing replay
            of the same schedule is resumed; of another schedule, refused.
        workers, retries, keep_best, progress: As for ``pop.run``.

    Returns:
        A :class:`ReplayResult`: the replay's final score, the source's best score, their
        difference and the replay population.

    Raises:
        ConfigurationError: ``train`` is not callable, ``source`` has no finished best member,
            its schedule changes params between ready points, or ``name`` is taken by another
            population or a replay of another schedule.
        PopulaceError: The replayed member failed (``train`` kept raising).
    """
    if not callable(train):
        raise ConfigurationError(f"train must be callable, got {train!r}")
    origin = _source(source, storage)
    best = _finished_best(origin)
    assert best.score is not None  # the best member is chosen among scored ones
    settings = origin.controller
    _check_steps(best.schedule, settings.interval, origin.name)
    controller = Controller(
        origin.space,
        budget=settings.budget,
        interval=settings.interval,
        direction=settings.direction,
        seed=settings.seed,
        schedule=best.schedule,
    )
    name = f"{origin.name}-replay" if name is None else name
    if name == origin.name:
        raise ConfigurationError(f"the replay needs a name of its own, not {name!r}")
    stored = _check_stored(origin, name, controller)
    checkpoints = None if stored else _checkpoints(origin, name)
    population = open_population(origin.storage, name, controller, 1, checkpoints)
    runner = make_executor(None, workers, retries)
    train_population(population, train, runner, keep_best=keep_best, progress=progress)
    member = population.members()[0]
    if member.state == MemberState.FAILED or member.score is None:
        raise PopulaceError(
            f"the replayed member of {name!r} failed at step {member.step}; its error:\n"
            f"{member.error}"
        )
    return ReplayResult(population, origin, member.score, best.score)
