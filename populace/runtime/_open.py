"""Opening a stored population: create it, resume it with the same settings, or reopen it.

Every process that works on a population opens it here: ``pop.run`` (create or resume), the
workers an executor starts and ``populace worker`` (reopen by name), the read-only commands.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import weakref
from pathlib import Path

from sqlalchemy.engine import URL

from populace.checkpoints import BaseCheckpointStore, LocalCheckpointStore, open_checkpoint_store
from populace.checkpoints._open import store_uri
from populace.controller import Controller
from populace.errors import ConfigurationError, StorageError
from populace.runtime._population import Population, population_config
from populace.runtime._store_owner import (
    claim_store,
    may_claim,
    recorded_location,
    resolve_location,
)
from populace.space import SearchSpace
from populace.storage import BaseStorage, PopulationRecord, get_storage

__all__ = ["DEFAULT_STORAGE", "checkpoints_folder_name", "load", "open_population"]

DEFAULT_STORAGE = "sqlite:///populace.db"
_log = logging.getLogger("populace")


def checkpoints_folder_name(name: str) -> str:
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)[:48]}-{digest}"


def _default_checkpoints(storage: BaseStorage, name: str) -> BaseCheckpointStore:
    """Beside a SQLite file: ``<db stem>-checkpoints/<name>``; in memory: a temporary folder;
    beside a database server: ``populace-checkpoints/<name>`` in the working directory."""
    database = storage.database_file
    if database is not None:
        return LocalCheckpointStore(
            database.parent / f"{database.stem}-checkpoints" / checkpoints_folder_name(name)
        )
    if storage.url_for_workers is None:
        folder = tempfile.TemporaryDirectory(prefix="populace-")
        store = LocalCheckpointStore(folder.name, durable=False)
        weakref.finalize(store, folder.cleanup)
        return store
    return LocalCheckpointStore(Path("populace-checkpoints") / checkpoints_folder_name(name))


def _config_differences(stored: PopulationRecord, wanted: dict) -> list[str]:
    """``key: ... here, ... stored`` for each setting of ``wanted`` that the stored population
    does not share (the stored controller read back as this version writes it)."""
    config = stored.config
    space = SearchSpace.from_dict(config["space"])
    differences = SearchSpace.from_dict(wanted["space"]).diff(space)
    if config["population"] != wanted["population"]:
        differences.append(
            f"population: {wanted['population']} here, {config['population']} stored"
        )
    here = wanted["controller"]
    there = Controller.from_dict(space, config["controller"]).to_dict()
    for key in [*here, *(k for k in there if k not in here)]:
        if here.get(key) != there.get(key):
            differences.append(f"{key}: {here.get(key)!r} here, {there.get(key)!r} stored")
    return differences


def open_population(
    storage: BaseStorage,
    name: str,
    controller: Controller | None = None,
    size: int | None = None,
    checkpoints: str | Path | None = None,
) -> Population:
    """Create the population ``name`` in ``storage``, or resume it if it exists with the same
    settings; with no ``controller`` and ``size``, resume it with the settings stored with it.

    A new population's checkpoints go to ``checkpoints`` (default: beside a SQLite file, a
    temporary folder for an in-memory storage, else ``populace-checkpoints/`` here), a store
    this database then owns. A stored one keeps its recorded store; ``checkpoints`` is taken
    instead only where it holds the population's checkpoints and the recorded one cannot serve.

    Raises:
        ConfigurationError: the population exists with other settings, or its checkpoints cannot
            be found or belong to another database.
        StorageError: no population is named ``name`` and no settings were given to create it.
    """
    existing = storage.find_population(name)
    if existing is None:
        if controller is None or size is None:
            raise _unknown(storage, name)
        created = _create(storage, name, controller, size, checkpoints)
        if created is not None:
            return created
        # Another process created it since we looked (two hosts starting at once): join it if
        # the settings agree.
        existing = storage.find_population(name)
        assert existing is not None  # _create returns None only when the name is taken
    if controller is not None:
        wanted = population_config(
            controller.space, controller, existing.config["population"] if size is None else size
        )
        differences = _config_differences(existing, wanted)
        if differences:
            raise ConfigurationError(
                f"population {name!r} in {storage.url} was created with other settings; "
                "refusing to mix them (use another name to start afresh):\n  "
                + "\n  ".join(differences)
            )
    _log.info("resuming population %r from %s", name, storage.url)
    store = _stored_checkpoints(storage, existing, checkpoints)
    claim_store(storage, store, name)
    return Population(storage, existing, store)


def _create(
    storage: BaseStorage,
    name: str,
    controller: Controller,
    size: int,
    checkpoints: str | Path | None,
) -> Population | None:
    """Store the new population ``name``; None if another process stored one of that name
    first."""
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
        if storage.find_population(name) is None:
            raise
        return None


def _unknown(storage: BaseStorage, name: str) -> StorageError:
    known = [p.name for p in storage.list_populations()]
    return StorageError(
        f"no population named {name!r} in {storage.url}; populations there: {known}"
    )


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


def load(storage: str | URL | BaseStorage, name: str) -> Population:
    """Reopen a stored population (finished or interrupted) by name.

    Its checkpoint folder is opened as it is, never created (a missing folder holds no
    checkpoints). ``populace status`` and the other read-only commands open storage read-only.
    """
    store = get_storage(storage)
    record = store.find_population(name)
    if record is None:
        raise _unknown(store, name)
    checkpoints = resolve_location(store, record.checkpoints)
    return Population(store, record, open_checkpoint_store(checkpoints, create=False))
