"""Opening a SQLAlchemy engine safely: masked URLs, SQLite tuned for many small writes,
PostgreSQL connections checked before use and waited for while the server is down, and engines
that only read."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool, StaticPool

from populace import _secrets
from populace.errors import StorageError
from populace.storage._sql import _sqlite
from populace.storage._sql._retry import Retry

__all__ = ["create_engine", "database_file", "mask_url", "parse_url", "retry_policy", "url_secrets"]

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
    """Render a URL with every password in it (user info, or a query parameter named like a
    secret: ``password``, ``sslpassword``, ``token``...) replaced by ``***``: the only form that
    may be shown."""
    try:
        return _secrets.mask_url(parse_url(url).render_as_string(hide_password=True))
    except StorageError:
        return "<unparseable storage URL>"


def url_secrets(url: str | URL) -> set[str]:
    """Every secret in ``url``, in each form a driver's message may quote it."""
    parsed = parse_url(url)
    found = _secrets.url_secrets(parsed.render_as_string(hide_password=False))
    if isinstance(url, str):  # as the user wrote it, which may be quoted differently
        found |= _secrets.url_secrets(url)
    if parsed.password:
        found.add(str(parsed.password))
    return found


def database_file(url: URL) -> str | None:
    """The path of a SQLite database file; None for a server or an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = str(url.database)
    if str(url.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        database = unquote(urlsplit(database).path)  # a SQLite URI: file:path?mode=ro
    return None if database in ("", ":memory:") else database


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and database_file(url) is None


def retry_policy(url: str | URL, seconds: float) -> Retry:
    """How long operations on ``url`` wait out a lost server; never for SQLite, which has none."""
    parsed = parse_url(url)
    return Retry(
        mask_url(parsed),
        seconds,
        enabled=parsed.get_backend_name() != "sqlite",
        secrets=url_secrets(url),
    )


def _engine_options(url: URL, read_only: bool) -> dict[str, Any]:
    if _is_memory(url):
        return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    path = database_file(url)
    if path is not None and read_only:
        return {
            "creator": functools.partial(_sqlite.connect_read_only, path),
            "poolclass": NullPool,
        }
    if path is not None:
        with contextlib.suppress(OSError):  # an impossible folder fails below, with the URL
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        _sqlite.check_writable(path)
        return {"connect_args": {"check_same_thread": False, "timeout": 60}}
    # A pooled connection may have died with a server restart: check it before handing it out.
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = 10  # an unreachable host fails, not hangs
        if read_only:  # the server itself refuses every write, not only this code
            given = url.query.get("options", "")
            connect_args["options"] = f"{given} -c default_transaction_read_only=on".strip()
        options["connect_args"] = connect_args
    return options


def create_engine(url: str | URL, retry: Retry, *, read_only: bool = False) -> sa.Engine:
    """Create an engine for ``url`` and wait, as ``retry`` allows, until it connects.

    ``read_only`` opens it for reading only: a SQLite file is opened read-only and left exactly
    as it was (no journal mode set, no file created beside it); a PostgreSQL session refuses
    writes.

    Raises:
        StorageError: the URL cannot be opened, the server stayed unreachable, or a SQLite file
            to write is read-only or damaged.
    """
    parsed = parse_url(url)
    try:
        engine = sa.create_engine(parsed, **_engine_options(parsed, read_only))
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(
            f"cannot open storage {mask_url(parsed)}: {type(exc).__name__}"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _sqlite.tune(engine, read_only=read_only)

    def connect(_retried: bool) -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    try:
        with _sqlite.explained(database_file(parsed)):
            retry.run(connect, "cannot open storage")
    except StorageError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise StorageError(f"cannot open storage {retry.url}: {retry.reason(exc)}") from None
    return engine
