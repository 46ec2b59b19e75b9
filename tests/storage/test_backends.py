"""The storage conformance suite on every backend, plus what is specific to SQL storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from populace.errors import StorageError
from populace.storage import SQLStorage, get_storage, mask_url

from .conformance import StorageConformance, _population, _report, count_statements


@pytest.fixture(params=["memory", "sqlite-file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLStorage]:
    url = "memory" if request.param == "memory" else f"sqlite:///{tmp_path / 'runs.db'}"
    backend = SQLStorage(url)
    yield backend
    backend.close()


class TestConformance(StorageConformance):
    pass


def test_snapshot_costs_the_same_queries_whatever_the_size(storage: SQLStorage) -> None:
    def queries(size: int) -> int:
        pid = _population(storage, f"size-{size}", size)
        for member in range(size):
            _report(storage, pid, member, 4, 0.1 * member, ready=True, checkpoint=None)
        return count_statements(storage._engine, lambda: storage.snapshot(pid, 4, 4, recent=10))

    assert queries(3) == queries(60) <= 5


def test_sqlite_file_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = SQLStorage(url)
    pid = _population(first)
    _report(first, pid, 0, 3, 0.25)
    first.close()
    again = SQLStorage(url)
    assert again.find_population("pop") is not None
    assert [(r.step, r.score) for r in again.results(pid)] == [(3, 0.25)]


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
        SQLStorage(url)
    assert "s3cret-pw" not in str(info.value) and "alice:***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_get_storage_passes_instances_through(storage: SQLStorage) -> None:
    assert get_storage(storage) is storage
