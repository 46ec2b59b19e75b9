"""Opening a SQLAlchemy engine safely: masked URLs, SQLite tuned for many small writes,
PostgreSQL connections checked before use and waited for while the server is down."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from populace.errors import StorageError
from populace.storage._retry import Retry

__all__ = ["create_engine", "mask_url", "parse_url", "retry_policy"]

MEMORY_URLS = ("memory", "sqlite://", "sqlite:///:memory:")


def parse_url(url: str | URL) -> URL:
    """Parse a storage URL; ``"memory"`` means an in-process SQLite database."""
    if isinstance(url, str) and url.strip() in MEMORY_URLS:
        return make_url("sqlite://")
    try:
        return make_url(url)
    except Exception:
        raise StorageError(
            "cannot parse storage URL (expected e.g. 'sqlite:///runs.db', 'memory' or "
            "'postgresql+psycopg://user@host/db')"
        ) from None


def mask_url(url: str | URL) -> str:
    """Render a URL with its password replaced by ``***``: the only form that may be logged."""
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except StorageError:
        return "<unparseable storage URL>"


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _tune_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued for writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a killed process; only an OS crash can lose the last ones.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the write lock up front, so two writers never deadlock upgrading a read.
        write = connection.get_execution_options().get("populace_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def retry_policy(url: str | URL, seconds: float) -> Retry:
    """How long operations on ``url`` wait out a lost server; never for SQLite, which has none."""
    parsed = parse_url(url)
    return Retry(
        mask_url(parsed),
        seconds,
        enabled=parsed.get_backend_name() != "sqlite",
        secret=str(parsed.password) if parsed.password else None,
    )


def _engine_options(url: URL) -> dict[str, Any]:
    if _is_memory(url):
        return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    if url.get_backend_name() == "sqlite":
        with contextlib.suppress(OSError):  # an impossible folder fails below, with the URL
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"check_same_thread": False, "timeout": 60}}
    # A pooled connection may have died with a server restart: check it before handing it out.
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": 10}  # an unreachable host fails, not hangs
    return options


def create_engine(url: str | URL, retry: Retry) -> sa.Engine:
    """Create an engine for ``url`` and wait, as ``retry`` allows, until it connects.

    Raises:
        StorageError: the URL cannot be opened, or the server stayed unreachable.
    """
    parsed = parse_url(url)
    try:
        engine = sa.create_engine(parsed, **_engine_options(parsed))
    except Exception as exc:
        raise StorageError(
            f"cannot open storage {mask_url(parsed)}: {type(exc).__name__}"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)

    def connect(_retried: bool) -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    try:
        retry.run(connect, "cannot open storage")
    except StorageError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise StorageError(f"cannot open storage {retry.url}: {retry.reason(exc)}") from None
    return engine
