"""``pop.run``: check the settings, open (or resume) the population, train it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from sqlalchemy.engine import URL

from populace.controller import Controller, FirePBT
from populace.controller.exploit import BaseExploit
from populace.controller.explore import BaseExplore
from populace.errors import ConfigurationError
from populace.executors import BaseExecutor, RayExecutor, VectorizedExecutor
from populace.executors._choice import check_executor, make_executor
from populace.executors._processes import refuse_run_while_importing_main
from populace.runtime import (
    DEFAULT_STORAGE,
    KEEP_BEST,
    BatchTrainFn,
    Population,
    TrainFn,
    open_population,
    train_population,
)
from populace.runtime._batch import check_space
from populace.space import SearchSpace
from populace.storage import BaseStorage, get_storage
from populace.trackers import BaseTracker

__all__ = ["run"]


def run(
    train: TrainFn | BatchTrainFn,
    space: SearchSpace,
    *,
    population: int = 8,
    budget: int,
    interval: int,
    storage: str | URL | BaseStorage | None = None,
    name: str | None = None,
    seed: int = 0,
    exploit: BaseExploit | None = None,
    explore: BaseExplore | None = None,
    direction: str = "maximize",
    synchronous: bool = False,
    workers: int = 1,
    retries: int = 2,
    checkpoints: str | Path | None = None,
    keep_best: int = KEEP_BEST,
    progress: bool | None = None,
    executor: str | BaseExecutor | None = None,
    algorithm: FirePBT | None = None,
    trackers: Sequence[BaseTracker] = (),
) -> Population:
    """Train a population with PBT and return it; resume it if ``name`` already exists.

    Args:
        train: ``train(member)`` trains from ``member.checkpoint`` (or from scratch) with
            ``member.params`` until ``member.budget``, calling ``member.report`` as it goes;
            with ``executor="vectorized"``, ``train_batch(batch)`` does so for every member
            at once (see :class:`~populace.Batch`).
        space: The hyperparameters to search.
        population: Number of members.
        budget: Steps each member trains for.
        interval: Steps between ready points (where members may exploit and explore).
        storage: Storage URL or instance; default ``sqlite:///populace.db`` in the working
            directory, so every run can be inspected and resumed. ``"memory"`` keeps nothing.
        name: Population name; default ``train.__name__``. An existing name is resumed.
        seed: Seed of the initial params and of every decision.
        exploit, explore: Strategies; truncation 25 % and perturb-or-resample by default.
        direction: ``"maximize"`` or ``"minimize"`` the reported score.
        synchronous: Decide in generations behind a barrier instead of asynchronously.
        workers: Number of workers: 1 trains in this process (the serial executor, fully
            deterministic); more start that many local worker processes. A population larger
            than the worker count is time-multiplexed, least-advanced member first. 0 creates
        (or checks) the population and returns without training it, for workers started
        elsewhere with ``populace worker``.
        retries: How many times a trial whose ``train`` raised is retried from the member's
            last checkpoint before the member is marked failed (the others go on).
        checkpoints: Checkpoint folder, or an fsspec URL such as ``"s3://bucket/prefix"``
            (``pip install 'populace[remote]'``); default next to a SQLite file, else a
            temporary folder for an in-memory storage, else ``populace-checkpoints/`` here. A
            folder belongs to one database (another is refused it). On resume it is the
            recorded one; another is taken only where the population's checkpoints were moved.
        keep_best: How many best checkpoints garbage collection keeps besides live ones (it
            runs while members train, and once more at the end).
        progress: Show progress: a live bar in a terminal, a line updated in place in Jupyter,
            a line a minute in a log (a run shorter than that prints nothing there unless
            ``progress=True``); False shows nothing.
        executor: Where the workers run: ``"serial"``, ``"processes"`` (local worker
            processes), ``"ray"`` (Ray actors of one CPU each) or ``"vectorized"`` (members
            trained at once: ``train`` is then ``train_batch(batch)``, receiving a
            :class:`~populace.Batch` whose params are [K] tensors, for stacked models; the
            whole population in this process, or with more workers one shard per worker
            process; plain PBT), or an executor instance such as
            ``RayExecutor(workers, num_gpus=1)``; default serial for one worker, else processes.
        algorithm: ``pop.FirePBT(...)`` for FIRE PBT: ``population`` members split into
            sub-populations that each apply ``exploit`` and ``explore``, plus its evaluators
            (extra trials on the same workers); default plain PBT.
        trackers: Experiment trackers fed from the storage while it trains, such as
            ``populace.trackers.TensorBoard("runs")`` (see :mod:`populace.trackers`).

    Returns:
        The trained :class:`Population`; ``result.best.schedule`` is the winning schedule.
        Members whose ``train`` kept raising are failed (``result.members()[i].error`` holds
        the traceback); the others trained on, and a warning names the failed ones.

    Raises:
        ConfigurationError: a setting is invalid (before anything is stored), the population
            exists with other settings, or its checkpoint folder cannot serve it.
        PopulaceError: ``train`` misused the API (a bad score or step, an unsafe checkpoint).

    Example:
        >>> import populace as pop
        >>> def train(member):
        ...     x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
        ...     for step in range(member.step + 1, member.budget + 1):
        ...         x += member.params["lr"]
        ...         member.report(step, -abs(1 - x), checkpoint={"x": x})
        >>> result = pop.run(train, pop.SearchSpace(lr=pop.Uniform(0.0, 0.1)), population=4,
        ...                  budget=20, interval=5, storage="memory", progress=False)
        >>> result.best.step
        20
    """
    refuse_run_while_importing_main()
    if not callable(train):
        raise ConfigurationError(f"train must be callable, got {train!r}")
    _check_count("population", population, 1)
    _check_count("workers", workers, 0)
    _check_count("retries", retries, 0)
    _check_count("keep_best", keep_best, 0)
    name = _population_name(name, train)
    if checkpoints is not None and not isinstance(checkpoints, (str, os.PathLike)):
        raise ConfigurationError(
            f"checkpoints must be a folder path or an fsspec URL, got {checkpoints!r}"
        )
    check_executor(executor, workers)
    _check_vectorized(executor, algorithm, space)
    _check_trackers(trackers)
    controller = Controller(
        space,
        budget=budget,
        interval=interval,
        exploit=exploit,
        explore=explore,
        direction=direction,
        synchronous=synchronous,
        seed=seed,
        algorithm=_bound(algorithm, population),
    )
    if controller.interval > controller.budget:
        raise ConfigurationError(
            f"interval ({interval}) is longer than budget ({budget}): no member would reach a "
            "ready point, so PBT would never exploit or explore; use an interval <= budget"
        )
    store = get_storage(DEFAULT_STORAGE if storage is None else storage)
    opened = open_population(store, name, controller, population, checkpoints)
    if workers > 0:
        runner = make_executor(executor, workers, retries)
        # an executor receives train as given: the vectorized one calls it with a Batch
        train_population(
            opened,
            cast(TrainFn, train),
            runner,
            keep_best=keep_best,
            progress=progress,
            trackers=trackers,
        )
    return opened


def _bound(algorithm: object, population: int) -> FirePBT | None:
    """``algorithm`` bound to the population size (checked to fit)."""
    if algorithm is None:
        return None
    if not isinstance(algorithm, FirePBT):
        raise ConfigurationError(f"algorithm must be a pop.FirePBT or None, got {algorithm!r}")
    return algorithm.bind(population)


def _check_vectorized(executor: object, algorithm: object, space: SearchSpace) -> None:
    """Refuse what the vectorized executor cannot train: FIRE PBT's evaluators, and params
    that cannot become tensors."""
    vectorized = executor == "vectorized" or isinstance(executor, VectorizedExecutor)
    if not vectorized and not (isinstance(executor, RayExecutor) and executor.vectorized):
        return
    if isinstance(space, SearchSpace):
        check_space(space)
    if algorithm is not None:
        raise ConfigurationError(
            "the vectorized executor trains plain PBT only; FIRE PBT's evaluators need the "
            "serial, processes or ray executor"
        )


def _check_trackers(trackers: object) -> None:
    if not isinstance(trackers, (list, tuple)) or not all(
        isinstance(t, BaseTracker) for t in trackers
    ):
        raise ConfigurationError(
            f"trackers must be a list of populace.trackers trackers, got {trackers!r}"
        )


def _check_count(what: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ConfigurationError(f"{what} must be {kind}, got {value!r}")


def _population_name(name: object, train: object) -> str:
    """``name``, or the training function's name when it is None."""
    if name is None:
        return str(getattr(train, "__name__", "population"))
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"name must be a non-empty string, got {name!r}")
    return name
