"""SQLite files: tuned for many small writes, opened read-only without a trace, and what SQLite
reports about the file itself (read-only, damaged) said in one line that names it."""

from __future__ import annotations

import os
import shlex
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event

from populace.errors import StorageError

__all__ = ["check_writable", "connect_read_only", "explained", "tune"]

_BUSY_TIMEOUT_S = 60
_READ_ONLY = ("attempt to write a readonly database",)
_DAMAGED = ("database disk image is malformed", "file is not a database")


def tune(engine: sa.Engine, *, read_only: bool) -> None:
    """Set each new connection up: WAL and write locks taken up front, or reads only."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued for writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
        if not read_only:  # setting the journal mode writes the file's header
            _use_wal(cursor)
            # WAL + NORMAL: a commit survives a killed process; only an OS crash can lose one.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the write lock up front, so two writers never deadlock upgrading a read.
        write = connection.get_execution_options().get("populace_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL, waiting for the connections that open a new file at once.

    Switching needs the exclusive lock, and SQLite answers "database is locked" at once, without
    its busy handler, to all but one of several connections that each read the header first: the
    wait is ours to do. A file already in WAL (every open but the first) needs no lock at all.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def connect_read_only(path: str) -> sqlite3.Connection:
    """Open the database file ``path`` for reading, leaving no file behind.

    Opened read-only, a WAL database makes SQLite create ``-wal`` and ``-shm`` files beside it
    and leave them, with the file's permissions: a read-only ``-shm`` then blocks every later
    writer. Without a ``-wal`` file no process has the database open and all it holds is in
    the file, so the file is read as immutable: no locks, no files. A writer that starts
    meanwhile appends to its WAL and leaves the file alone until it checkpoints, and the engine
    opens a connection per transaction (NullPool), so the next read goes through that WAL.
    With a ``-wal`` file (a live writer, or one that died), reads go through it as usual.
    """
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    if not os.path.exists(f"{path}-wal"):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=60)


def _read_only(path: str, why: str) -> StorageError:
    return StorageError(f"the database {path} is read-only: {why}")


def check_writable(path: str) -> None:
    """Refuse, before SQLite opens it, a database this process cannot write.

    Opened anyway, it would leave a read-only ``-shm`` file beside it that blocks writers later.

    Raises:
        StorageError: naming the read-only file or folder.
    """
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise _read_only(path, "this process may not write the file (make it writable)")
    for file in (f"{path}-wal", f"{path}-shm"):
        if os.path.exists(file) and not os.access(file, os.W_OK):
            raise _read_only(path, f"this process may not write {file} (make it writable)")
    folder = Path(path).parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        raise _read_only(
            path, f"this process may not write its folder {folder}, where SQLite keeps its journal"
        )


def explain(exc: BaseException, path: str) -> StorageError | None:
    """A one-line error for what SQLite reports about the file itself, or None for any other."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    if any(text in message for text in _READ_ONLY):
        return _read_only(path, "make the file, its -wal and -shm files and its folder writable")
    if any(text in message for text in _DAMAGED):
        return StorageError(
            f"the database {path} is damaged (SQLite: {message}); recover what it holds into a "
            f'new file with: sqlite3 {shlex.quote(path)} ".recover" | sqlite3 recovered.db'
        )
    return None


@contextmanager
def explained(path: str | None) -> Iterator[None]:
    """Turn SQLite's report of the file ``path`` being read-only or damaged into a StorageError.

    Nothing else is touched: not the transient errors of a database server, which are retried.
    """
    try:
        yield
    except sa.exc.DBAPIError as exc:
        error = None if path is None else explain(exc, path)
        if error is None:
            raise
        raise error from exc
