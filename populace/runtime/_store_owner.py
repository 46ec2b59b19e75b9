"""Which database a checkpoint store belongs to, and where a population's store lies.

A store holds the blobs of the populations of one database only. Its owner record (see
:class:`~populace.checkpoints.BaseCheckpointStore`) names that database by the random id it got
with its schema, its location, the store's own location and the populations using it. A second
database is refused the store, so no collector ever deletes blobs that another database's
populations still need; a copy of a SQLite database that still reaches its original's store
(an absolute path) is refused too, while a copied or moved run folder, whose store travels with
the database, takes its copy of the store over.

Checkpoint folders inside the database's folder are recorded relative to it, so a run folder
can be copied or moved and resumed where it now lies.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from populace.checkpoints import BaseCheckpointStore
from populace.checkpoints._base import OWNER_FILE
from populace.checkpoints._open import is_url
from populace.errors import ConfigurationError
from populace.storage import BaseStorage
from populace.storage._sql._sqlite import connect_read_only

__all__ = ["claim_store", "may_claim", "owns_store", "recorded_location", "resolve_location"]

OWNER_FORMAT = 1
_UNREADABLE = "<unreadable>"


def recorded_location(storage: BaseStorage, uri: str) -> str:
    """What a population records for the store at ``uri``: a path relative to the database's
    folder when the store lies inside it, else ``uri`` itself."""
    database = storage.database_file
    if database is None or is_url(uri):
        return uri
    try:
        return Path(os.path.abspath(uri)).relative_to(database.parent).as_posix()
    except ValueError:
        return uri


def resolve_location(storage: BaseStorage, recorded: str) -> str:
    """The path or URL of a store as a population recorded it (see :func:`recorded_location`)."""
    if is_url(recorded) or os.path.isabs(recorded):
        return recorded
    database = storage.database_file
    base = database.parent if database is not None else Path.cwd()
    return os.path.abspath(base / recorded)


def claim_store(storage: BaseStorage, store: BaseCheckpointStore, population: str) -> None:
    """Record that ``population`` of ``storage`` keeps its checkpoints in ``store``.

    Raises:
        ConfigurationError: the store lives in this process's memory while the storage
            outlives it, or the store belongs to another database.
    """
    if store.process_local and storage.url_for_workers is not None:
        raise ConfigurationError(
            f"checkpoint store {store.uri} lives in this process's memory and vanishes when it "
            f"exits, while storage {storage.url} keeps the population: a resumed run would find "
            "every checkpoint missing. Use a folder or a shared filesystem URL"
        )
    owner = store.read_owner()
    me = _identity(storage, store)
    if owner is not None:
        _refuse_if_foreign(owner, me, store)
    if storage.url_for_workers is None:
        return  # an in-memory database claims nothing: it is gone when this process ends
    populations = sorted({*(owner or {}).get("populations", ()), population})
    if owner != {**me, "populations": populations}:
        store.write_owner({**me, "populations": populations})


def may_claim(storage: BaseStorage, store: BaseCheckpointStore) -> bool:
    """Whether :func:`claim_store` would let ``storage`` use ``store``."""
    owner = store.read_owner()
    return owner is None or _owned_by(owner, storage, store)


def owns_store(storage: BaseStorage, store: BaseCheckpointStore) -> bool:
    """Whether ``storage`` may collect ``store``'s garbage: its owner record names it (or, for
    an in-memory database, the store has no owner)."""
    owner = store.read_owner()
    if owner is None:
        return storage.url_for_workers is None
    return _owned_by(owner, storage, store)


def _owned_by(owner: dict[str, Any], storage: BaseStorage, store: BaseCheckpointStore) -> bool:
    """Whether the owner record ``owner`` names ``storage``, and not as the original of a copy."""
    me = _identity(storage, store)
    return owner.get("storage_id") == me["storage_id"] and not _copy_sharing(owner, me)


def _identity(storage: BaseStorage, store: BaseCheckpointStore) -> dict[str, Any]:
    database = storage.database_file
    return {
        "format": OWNER_FORMAT,
        "storage_id": storage.storage_id,
        "database": str(database) if database is not None else storage.url,
        "store": store.uri,
    }


def _refuse_if_foreign(
    owner: dict[str, Any], me: dict[str, Any], store: BaseCheckpointStore
) -> None:
    where = f"{store.uri}/{OWNER_FILE}"
    if owner.get("storage_id") != me["storage_id"]:
        raise ConfigurationError(
            f"checkpoint store {store.uri} belongs to another database, {owner.get('database')} "
            f"(populations {', '.join(owner.get('populations', ())) or 'none'}): sharing it "
            "would let each database's garbage collection delete the other's checkpoints. Use "
            "another checkpoints folder (if that database is gone for good, delete "
            f"{where} to take the store over)"
        )
    if _copy_sharing(owner, me):
        raise ConfigurationError(
            f"database {me['database']} is a copy of {owner['database']}, which still uses "
            f"checkpoint store {store.uri}: resuming the copy there would let each delete the "
            "other's checkpoints. Copy the checkpoints folder too and pass checkpoints= its "
            "copy (or run the original)"
        )


def _copy_sharing(owner: dict[str, Any], me: dict[str, Any]) -> bool:
    """Whether ``me`` is a copy of the SQLite database in ``owner``, both reaching the same store
    (a copied database file whose checkpoints path is absolute)."""
    theirs, mine = owner.get("database"), me["database"]
    if not isinstance(theirs, str) or theirs == mine or owner.get("store") != me["store"]:
        return False
    if not (os.path.isabs(theirs) and os.path.isabs(mine)):
        return False  # database servers: the same id is the same database
    with contextlib.suppress(OSError):
        if os.path.samefile(theirs, mine):
            return False  # the same file, reached by another path
    return _storage_id_of(Path(theirs)) in (me["storage_id"], _UNREADABLE)


def _storage_id_of(database: Path) -> str | None:
    """The storage id of a SQLite database file, read without writing; None if it is gone.

    A file that exists but cannot be read counts as the owner still there: refusing is safe.
    """
    if not database.exists():
        return None
    try:
        with contextlib.closing(connect_read_only(str(database))) as connection:
            row = connection.execute(
                "SELECT value FROM populace_meta WHERE key = 'storage_id'"
            ).fetchone()
    except sqlite3.Error:
        return _UNREADABLE
    return None if row is None else str(row[0])
