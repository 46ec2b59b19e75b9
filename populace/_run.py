"""``pop.run`` and ``pop.load``: the one call that trains a population, and reopening it."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import weakref
from pathlib import Path

from sqlalchemy.engine import URL

from populace._collector import BackgroundCollector, collect
from populace._population import Population
from populace._progress import ProgressDisplay
from populace._retention import KEEP_BEST
from populace._store_owner import claim_store, may_claim, recorded_location, resolve_location
from populace.checkpoints import BaseCheckpointStore, LocalCheckpointStore, open_checkpoint_store
from populace.checkpoints._open import store_uri
from populace.controller import Controller, MemberState
from populace.controller.exploit import BaseExploit
from populace.controller.explore import BaseExplore
from populace.errors import ConfigurationError, StorageError
from populace.executors import BaseExecutor, TrainFn
from populace.executors._choice import check_executor, make_executor
from populace.executors._processes import refuse_run_while_importing_main
from populace.space import SearchSpace
from populace.storage import BaseStorage, PopulationRecord, get_storage

__all__ = ["DEFAULT_STORAGE", "load", "run"]

DEFAULT_STORAGE = "sqlite:///populace.db"
_log = logging.getLogger("populace")


def _slug(name: str) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)[:48]}-{digest}"


def _default_checkpoints(storage: BaseStorage, name: str) -> BaseCheckpointStore:
    """Beside a SQLite file: ``<db stem>-checkpoints/<name>``; in memory: a temporary folder;
    beside a database server: ``populace-checkpoints/<name>`` in the working directory."""
    database = storage.database_file
    if database is not None:
        return LocalCheckpointStore(database.parent / f"{database.stem}-checkpoints" / _slug(name))
    if storage.url_for_workers is None:
        folder = tempfile.TemporaryDirectory(prefix="populace-")
        store = LocalCheckpointStore(folder.name, durable=False)
        weakref.finalize(store, folder.cleanup)
        return store
    return LocalCheckpointStore(Path("populace-checkpoints") / _slug(name))


def _config_differences(stored: PopulationRecord, wanted: dict) -> list[str]:
    config = stored.config
    differences = SearchSpace.from_dict(wanted["space"]).diff(
        SearchSpace.from_dict(config["space"])
    )
    if config["population"] != wanted["population"]:
        differences.append(
            f"population: {wanted['population']} here, {config['population']} stored"
        )
    for key, value in wanted["controller"].items():
        if config["controller"].get(key) != value:
            differences.append(f"{key}: {value!r} here, {config['controller'].get(key)!r} stored")
    return differences


def _open_or_create(
    storage: BaseStorage,
    name: str,
    controller: Controller,
    size: int,
    checkpoints: str | Path | None,
) -> Population:
    existing = storage.find_population(name)
    if existing is None:
        _log.info("creating population %r of %d members in %s", name, size, storage.url)
        store = (
            open_checkpoint_store(checkpoints)
            if checkpoints is not None
            else _default_checkpoints(storage, name)
        )
        claim_store(storage, store, name)
        location = recorded_location(storage, store.uri)
        try:
            return Population.create(storage, name, controller, size, store, location=location)
        except StorageError:
            # Another process created it since we looked (two hosts starting at once): join it
            # if the settings agree.
            existing = storage.find_population(name)
            if existing is None:
                raise
    differences = _config_differences(
        existing, Population.config(controller.space, controller, size)
    )
    if differences:
        raise ConfigurationError(
            f"population {name!r} in {storage.url} was created with other settings; refusing to "
            "mix them (use another name to start afresh):\n  " + "\n  ".join(differences)
        )
    _log.info("resuming population %r from %s", name, storage.url)
    store = _stored_checkpoints(storage, existing, checkpoints)
    claim_store(storage, store, name)
    return Population(storage, existing, store)


def _stored_checkpoints(
    storage: BaseStorage, population: PopulationRecord, wanted: str | Path | None
) -> BaseCheckpointStore:
    """Open the checkpoint store of a stored population, checking that it holds the population's
    checkpoints. ``wanted``, another location, is taken only where it holds them and the stored
    one cannot serve: it lost them (the folder was moved), or this database is a copy whose
    original still uses it."""
    stored = resolve_location(storage, population.checkpoints)
    latest = [m.checkpoint for m in storage.members(population.id) if m.checkpoint is not None]
    holding_stored = _holding(stored, latest)
    if wanted is not None and (moved_to := store_uri(wanted)) != stored:
        serves = holding_stored is not None and may_claim(storage, holding_stored)
        if _holding(moved_to, latest) is not None and not serves:
            _log.warning("population %r: its checkpoints moved to %s", population.name, moved_to)
            storage.move_checkpoints(population.id, recorded_location(storage, moved_to))
            return open_checkpoint_store(wanted)
        raise ConfigurationError(
            f"population {population.name!r} keeps its checkpoints in {stored}, not in "
            f"{moved_to}: leave out checkpoints= to resume it (another location is taken only "
            "where it holds the population's checkpoints and the stored one cannot serve: they "
            "were moved, or this database is a copy and that is its original's)"
        )
    if latest and holding_stored is None:
        raise ConfigurationError(
            f"population {population.name!r} refers to {len(latest)} checkpoints in {stored}, "
            "but none of them is there: if the folder was moved, pass checkpoints= its new "
            "location to resume"
        )
    return open_checkpoint_store(stored)


def _holding(location: str, refs: list[str]) -> BaseCheckpointStore | None:
    """The store at ``location``, opened without creating anything, if it holds any of
    ``refs``."""
    store = open_checkpoint_store(location, create=False)
    return store if any(store.exists(ref) for ref in refs) else None


def run(
    train: TrainFn,
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
) -> Population:
    """Train a population with PBT and return it; resume it if ``name`` already exists.

    Args:
        train: ``train(member)`` trains from ``member.checkpoint`` (or from scratch) with
            ``member.params`` until ``member.budget``, calling ``member.report`` as it goes.
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
        progress: Show a live progress bar; default when stderr is a terminal.
        executor: Where the workers run: ``"serial"``, ``"processes"`` (local worker
            processes) or ``"ray"`` (Ray actors of one CPU each), or an executor instance such
            as ``RayExecutor(workers, num_gpus=1)``; default serial for one worker, else
            processes.

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
    controller = Controller(
        space,
        budget=budget,
        interval=interval,
        exploit=exploit,
        explore=explore,
        direction=direction,
        synchronous=synchronous,
        seed=seed,
    )
    if controller.interval > controller.budget:
        raise ConfigurationError(
            f"interval ({interval}) is longer than budget ({budget}): no member would reach a "
            "ready point, so PBT would never exploit or explore; use an interval <= budget"
        )
    store = get_storage(DEFAULT_STORAGE if storage is None else storage)
    pop = _open_or_create(store, name, controller, population, checkpoints)
    if workers == 0:
        return pop
    steps = {m.id: m.step for m in store.members(pop.id)}
    with (
        ProgressDisplay(
            pop.name, population, budget, steps, direction == "maximize", progress
        ) as display,
        BackgroundCollector(store, pop.checkpoints, keep_best),
    ):
        pop.observer = display
        runner = make_executor(
            executor, workers, retries, lambda: display.refresh(store.members(pop.id))
        )
        try:
            runner.run(pop, train)
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: population {pop.name!r} is safe in {store.url}; call pop.run "
                "again with the same name and storage to resume it",
                file=sys.stderr,
            )
            raise
        finally:
            pop.observer = None
    collect(store, pop.checkpoints, keep_best)
    _warn_of_failures(pop)
    return pop


def _check_count(what: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ConfigurationError(f"{what} must be {kind}, got {value!r}")


def _population_name(name: object, train: TrainFn) -> str:
    """``name``, or the training function's name when it is None."""
    if name is None:
        return str(getattr(train, "__name__", "population"))
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"name must be a non-empty string, got {name!r}")
    return name


def _warn_of_failures(population: Population) -> None:
    """Say which members failed: the run went on without them, so the return alone hides it."""
    members = population.storage.members(population.id)
    failed = [m.id for m in members if m.state == MemberState.FAILED]
    if failed:
        _log.warning(
            "population %r: %d of %d members failed (%s) and the others went on; each one's "
            "traceback is in result.members()[i].error",
            population.name,
            len(failed),
            population.size,
            ", ".join(map(str, failed)),
        )


def load(storage: str | URL | BaseStorage, name: str) -> Population:
    """Reopen a stored population (finished or interrupted) by name.

    Its checkpoint folder is opened as it is, never created (a missing folder holds no
    checkpoints). ``populace status`` and the other read-only commands open storage read-only.
    """
    store = get_storage(storage)
    record = store.find_population(name)
    if record is None:
        known = [p.name for p in store.list_populations()]
        raise StorageError(
            f"no population named {name!r} in {store.url}; populations there: {known}"
        )
    checkpoints = resolve_location(store, record.checkpoints)
    return Population(store, record, open_checkpoint_store(checkpoints, create=False))
