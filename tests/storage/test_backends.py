"""The storage conformance suite on every backend, plus what is specific to SQL storage."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from populace.errors import StorageError
from populace.storage import SQLStorage, get_storage, mask_url
from populace.storage._sql import _schema
from populace.storage._sql._engine import create_engine, retry_policy
from populace.testing import StorageSuite
from populace.testing.storage import new_population, report_result


def backend_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty database of the named backend."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return "memory" if backend == "memory" else f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture(params=["memory", "sqlite-file", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLStorage]:
    backend = SQLStorage(backend_url(request.param, request, tmp_path), retry_seconds=0)
    yield backend
    backend.close()


class TestSQLStorage(StorageSuite):
    """The contract on in-memory SQLite, a SQLite file and PostgreSQL (the ``storage`` above)."""


def count_statements(engine: object, action: Callable[[], object]) -> int:
    """How many SQL statements ``action`` sends through a SQLAlchemy engine."""
    count = 0

    def before(*_args: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return count


def test_snapshot_costs_the_same_queries_whatever_the_size(storage: SQLStorage) -> None:
    def queries(size: int) -> int:
        pid = new_population(storage, f"size-{size}", size)
        for member in range(size):
            report_result(storage, pid, member, 4, 0.1 * member, ready=True, checkpoint=None)
        return count_statements(storage._engine, lambda: storage.snapshot(pid, 4, 4, recent=10))

    assert queries(3) == queries(60) <= 5


def test_sqlite_file_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = SQLStorage(url)
    pid = new_population(first)
    report_result(first, pid, 0, 3, 0.25)
    first.close()
    again = SQLStorage(url)
    assert again.find_population("pop") is not None
    assert [(r.step, r.score) for r in again.results(pid)] == [(3, 0.25)]


def test_connections_opening_a_new_file_at_once_all_open(tmp_path: Path) -> None:
    # Switching a new file to WAL takes the exclusive lock, which SQLite refuses at once (no busy
    # wait) to some of several connections that read the header together: 8% of these rounds
    # failed before the engine waited for it itself.
    for round_ in range(100):
        url = f"sqlite:///{tmp_path}/{round_}.db"
        barrier = threading.Barrier(8)
        errors: list[StorageError] = []

        def open_engine(
            url: str = url,
            barrier: threading.Barrier = barrier,
            errors: list[StorageError] = errors,
        ) -> None:
            barrier.wait(timeout=30)
            try:
                create_engine(url, retry_policy(url, 0)).dispose()
            except StorageError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_engine) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [], f"round {round_}: {errors}"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    SQLStorage(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE populace_meta SET value='99' WHERE key='schema_version'")
    engine.dispose()
    with pytest.raises(StorageError, match="schema version 99"):
        SQLStorage(url)


def test_unopenable_url_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StorageError, match="cannot open storage sqlite:///"):
        SQLStorage(f"sqlite:///{tmp_path / 'a-file' / 'x.db'}")
    with pytest.raises(StorageError, match="cannot parse storage URL"):
        get_storage("not a url at all")


def test_password_never_reaches_errors_or_repr() -> None:
    url = "postgresql+psycopg://alice:s3cret-pw@127.0.0.1:1/db"
    assert mask_url(url) == "postgresql+psycopg://alice:***@127.0.0.1:1/db"
    with pytest.raises(StorageError) as info:
        SQLStorage(url, retry_seconds=0)
    assert "s3cret-pw" not in str(info.value) and "alice:***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_get_storage_passes_instances_through(storage: SQLStorage) -> None:
    assert get_storage(storage) is storage


def test_sqlite_tuning_stays_sqlite_only(storage: SQLStorage) -> None:
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        sent.append(statement)

    sa.event.listen(storage._engine, "before_cursor_execute", record)
    try:
        new_population(storage)
    finally:
        sa.event.remove(storage._engine, "before_cursor_execute", record)
    sqlite = storage._engine.dialect.name == "sqlite"
    assert ("BEGIN IMMEDIATE" in sent) == sqlite  # SQLite writers take the write lock up front
    with storage._engine.connect() as c:
        if sqlite:
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            isolation = c.exec_driver_sql("SHOW transaction_isolation").scalar()
            assert isolation == "read committed"


def test_postgresql_columns_are_double_boolean_and_serial(postgres_url: str) -> None:
    storage = SQLStorage(postgres_url, retry_seconds=0)
    inspector = sa.inspect(storage._engine)
    for table in _schema.metadata.sorted_tables:
        reflected = {c["name"]: c for c in inspector.get_columns(table.name)}
        for column in table.columns:
            kind = reflected[column.name]["type"]
            if isinstance(column.type, sa.Float):
                assert isinstance(kind, postgresql.DOUBLE_PRECISION), (table.name, column.name)
            if isinstance(column.type, sa.Boolean):
                assert isinstance(kind, sa.Boolean), (table.name, column.name)
    for table in (_schema.populations, _schema.results, _schema.decisions):
        assert "nextval" in str(reflected_default(inspector, table.name, "id"))
    storage.close()


def reflected_default(inspector: sa.Inspector, table: str, column: str) -> object:
    return next(c["default"] for c in inspector.get_columns(table) if c["name"] == column)


def test_a_stored_decision_the_member_stands_before_is_applied(storage: SQLStorage) -> None:
    """An older populace rewound members past stored decisions without deleting them: the
    member then reached the step again and stayed ready there forever (a livelock)."""
    from populace.controller import Continue, Stop

    pid = new_population(storage)
    report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=None)
    storage.commit_decision(pid, 1, 0, 4, Continue("first pass"), [], 1, 5.0)
    m = _schema.members.c
    with storage._engine.begin() as c:  # the state that older rewind left behind
        c.execute(
            _schema.members.update()
            .where(m.population_id == pid, m.member_id == 1)
            .values(last_decision_step=0)
        )
    assert storage.commit_decision(pid, 1, 0, 4, Stop("late"), [], 2, 7.0) == Continue("first pass")
    assert storage.members(pid)[1].last_decision_step == 4  # applied: the member moves on
    assert len(storage.decisions(pid)) == 1
