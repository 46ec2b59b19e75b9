"""Fixtures shared by every test folder: a real PostgreSQL server with a fresh database per test.

Hypothesis keeps its search but drops its timing checks (``deadline``, the too-slow health
check): on a loaded machine they fail tests whose properties hold.

``POPULACE_TEST_POSTGRES_URL`` (a user allowed to create databases) points the tests at an
existing server; otherwise a throwaway server is started from the installed PostgreSQL binaries.
Without either the PostgreSQL tests are skipped, unless ``POPULACE_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
from _postgres import PostgresServer, find_binaries
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import URL, make_url

settings.register_profile("populace", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("populace")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("POPULACE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}, and POPULACE_REQUIRE_POSTGRES=1", pytrace=False)
    pytest.skip(reason)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'populace[postgresql]'")
    return psycopg


def _admin(url: URL) -> Any:
    """An autocommit psycopg connection to ``url``, for creating and dropping databases."""
    return _psycopg().connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the session's own, which tests may stop and restart."""
    _psycopg()
    binaries = find_binaries()
    if binaries is None:
        _unavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin: "
            "apt-get install postgresql, or set POPULACE_TEST_POSTGRES_URL)"
        )
    server = PostgresServer(binaries)
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def postgres_base_url(request: pytest.FixtureRequest) -> str:
    """The URL of a PostgreSQL database whose user may create databases."""
    given = os.environ.get("POPULACE_TEST_POSTGRES_URL")
    if given:
        return given
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url


@contextlib.contextmanager
def _databases(base_url: str) -> Iterator[Callable[[], str]]:
    base, names = make_url(base_url), []

    def create() -> str:
        names.append(f"populace_test_{uuid.uuid4().hex[:12]}")
        with _admin(base) as admin:
            admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return base.set(database=names[-1]).render_as_string(hide_password=False)

    yield create
    with _admin(base) as admin:
        for name in names:
            _drop(admin, name)


def _drop(admin: Any, name: str) -> None:
    """Drop database ``name``, ending its sessions. An autovacuum worker on it is the server's
    own process, which a non-superuser may not end: wait for it to finish (it does in moments)."""
    refused = _psycopg().errors.InsufficientPrivilege
    for _ in range(100):
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except refused:
            time.sleep(0.1)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_postgres_database(postgres_base_url: str) -> Iterator[Callable[[], str]]:
    """Creates new, empty databases (returning their URLs, password included) for one test."""
    with _databases(postgres_base_url) as create:
        yield create


@pytest.fixture
def postgres_url(new_postgres_database: Callable[[], str]) -> str:
    """The URL (password included) of a new, empty database, dropped after the test."""
    return new_postgres_database()


@pytest.fixture
def postgres_server_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database on ``postgres_server``, for tests that stop or restart it."""
    with _databases(postgres_server.url) as create:
        yield create()
