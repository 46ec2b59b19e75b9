"""The transactions a storage runs on one engine: reads that see one state, writes that lock.

A write takes SQLite's write lock up front (``BEGIN IMMEDIATE``, see ``_sqlite``) and is refused
on a storage opened read-only; a read of several statements (a snapshot) runs at REPEATABLE READ
on PostgreSQL so that it sees one state of the database. An in-memory database is one connection
shared by all threads, which take turns on it. What SQLite reports about the file itself
(read-only, damaged) becomes a StorageError that names it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from populace.errors import StorageError
from populace.storage._sql._engine import database_file
from populace.storage._sql._sqlite import explained

__all__ = ["Transactions"]


class Transactions:
    """Opens read and write transactions on ``engine``, whose masked URL is ``url``."""

    def __init__(self, engine: sa.Engine, url: str, *, read_only: bool) -> None:
        self._url = url
        self._read_only = read_only
        self._file = database_file(engine.url)
        memory = isinstance(engine.pool, StaticPool)
        self._lock: AbstractContextManager[Any] = threading.RLock() if memory else nullcontext()
        self._writer = engine.execution_options(populace_write=True)
        postgresql = engine.dialect.name == "postgresql"
        self._reader = (
            engine.execution_options(isolation_level="REPEATABLE READ") if postgresql else engine
        )

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction, committed when the block ends without an error.

        Raises:
            StorageError: the storage was opened read-only.
        """
        if self._read_only:
            raise StorageError(f"storage {self._url} was opened read-only: it cannot be written")
        with explained(self._file), self._lock, self._writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction that sees one state of the database."""
        with explained(self._file), self._lock, self._reader.begin() as connection:
            yield connection
