"""``pop.run`` and ``pop.load``: the one call that trains a population, and reopening it."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import tempfile
import weakref
from pathlib import Path

from sqlalchemy.engine import URL

from populace._population import Population
from populace._progress import ProgressDisplay
from populace._retention import KEEP_BEST, reachable_checkpoints
from populace.checkpoints import LocalCheckpointStore, collect_garbage, open_checkpoint_store
from populace.controller import Controller
from populace.controller.exploit import BaseExploit
from populace.controller.explore import BaseExplore
from populace.errors import ConfigurationError, StorageError
from populace.executors import BaseExecutor, TrainFn
from populace.executors._choice import check_executor, make_executor
from populace.space import SearchSpace
from populace.storage import BaseStorage, PopulationRecord, get_storage
from populace.storage._engine import parse_url

__all__ = ["DEFAULT_STORAGE", "load", "run"]

DEFAULT_STORAGE = "sqlite:///populace.db"
_log = logging.getLogger("populace")


def _slug(name: str) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)[:48]}-{digest}"


def _default_checkpoints(storage: str | URL | BaseStorage, name: str) -> LocalCheckpointStore:
    """Next to a SQLite file: ``<db stem>-checkpoints/<name>``; in memory: a temporary folder."""
    url = None if isinstance(storage, BaseStorage) else parse_url(storage)
    if (
        url is not None
        and url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
    ):
        db = Path(url.database)  # type: ignore[arg-type]
        return LocalCheckpointStore(db.parent / f"{db.stem}-checkpoints" / _slug(name))
    if url is not None and url.get_backend_name() == "sqlite":
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
    storage_arg: str | URL | BaseStorage,
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
            else _default_checkpoints(storage_arg, name)
        )
        try:
            return Population.create(storage, name, controller, size, store)
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
    return Population(storage, existing, open_checkpoint_store(existing.checkpoints))


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
            temporary folder.
        keep_best: How many best checkpoints garbage collection keeps besides live ones.
        progress: Show a live progress bar; default when stderr is a terminal.
        executor: Where the workers run: ``"serial"``, ``"processes"`` (local worker
            processes) or ``"ray"`` (Ray actors of one CPU each), or an executor instance such
            as ``RayExecutor(workers, num_gpus=1)``; default serial for one worker, else
            processes.

    Returns:
        The trained :class:`Population`; ``result.best.schedule`` is the winning schedule.

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
    if not callable(train):
        raise ConfigurationError(f"train must be callable, got {train!r}")
    if isinstance(population, bool) or not isinstance(population, int) or population < 1:
        raise ConfigurationError(f"population must be a positive integer, got {population!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigurationError(f"workers must be an integer >= 0, got {workers!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(f"retries must be an integer >= 0, got {retries!r}")
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
    storage_arg = DEFAULT_STORAGE if storage is None else storage
    store = get_storage(storage_arg)
    pop = _open_or_create(
        store,
        storage_arg,
        str(name or getattr(train, "__name__", "population")),
        controller,
        population,
        checkpoints,
    )
    if workers == 0:
        return pop
    steps = {m.id: m.step for m in store.members(pop.id)}
    with ProgressDisplay(
        pop.name, population, budget, steps, direction == "maximize", progress
    ) as display:
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
    collect_garbage(pop.checkpoints, reachable_checkpoints(store, pop.checkpoints.uri, keep_best))
    return pop


def load(storage: str | URL | BaseStorage, name: str) -> Population:
    """Reopen a stored population (finished or interrupted) by name."""
    store = get_storage(storage)
    record = store.find_population(name)
    if record is None:
        known = [p.name for p in store.list_populations()]
        raise StorageError(
            f"no population named {name!r} in {store.url}; populations there: {known}"
        )
    return Population(store, record, open_checkpoint_store(record.checkpoints))
