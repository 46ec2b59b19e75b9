"""Storage opened read-only: it reads every schema version and changes nothing, not one byte."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from _damage import damage_table

from populace.errors import StorageError
from populace.storage import SQLStorage, get_storage
from populace.storage._sql._sqlite import explained
from populace.testing.storage import CONFIG, PARAMS, REF_A


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` and a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _populace_db(path: Path) -> int:
    """Write a populace database at ``path`` with one population, a result and a worker."""
    storage = SQLStorage(f"sqlite:///{path}")
    pid = storage.create_population("pop", CONFIG, "/ckpt", PARAMS, now=1.0).id
    storage.register_worker(pid, "h:1:x", "h", 1, now=2.0, lease_seconds=30.0)
    storage.record_result(pid, 0, 0, 4, 0.5, ready=True, checkpoint=REF_A, now=3.0)
    storage.close()
    return pid


def _downgrade(path: Path, version: int) -> None:
    """Turn a database back into what schema ``version`` (1 or 2) wrote."""
    with sqlite3.connect(path) as c:
        if version == 1:
            c.execute("DROP TABLE populace_workers")
        else:
            c.execute("ALTER TABLE populace_workers DROP COLUMN lease_seconds")
        c.execute("UPDATE populace_meta SET value = ? WHERE key = 'schema_version'", (version,))
        c.execute("DELETE FROM populace_meta WHERE key = 'storage_id'")
    c.close()


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        c.execute("INSERT INTO notes (text) VALUES ('mine')")
    c.close()


@pytest.mark.parametrize("kind", ["foreign", "empty"])
def test_a_file_without_populace_tables_is_refused_untouched(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    if kind == "foreign":
        _foreign(path)
    else:
        path.write_bytes(b"")
    before = _fingerprint(tmp_path)
    with pytest.raises(StorageError, match=r"other\.db is not a populace database \(it has no"):
        SQLStorage(f"sqlite:///{path}", read_only=True)
    assert _fingerprint(tmp_path) == before


def test_reads_change_nothing_and_writes_are_refused(tmp_path: Path) -> None:
    pid = _populace_db(tmp_path / "runs.db")
    before = _fingerprint(tmp_path)
    storage = get_storage(f"sqlite:///{tmp_path / 'runs.db'}", read_only=True)
    assert [p.name for p in storage.list_populations()] == ["pop"]
    assert [r.score for r in storage.results(pid)] == [0.5]
    assert [w.lease_seconds for w in storage.workers(pid)] == [30.0]
    assert storage.storage_id is not None
    with pytest.raises(StorageError, match="opened read-only: it cannot be written"):
        storage.create_population("other", CONFIG, "/ckpt", PARAMS, now=4.0)
    with pytest.raises(StorageError, match="opened read-only"):
        storage.renew(pid, "h:1:x", until=9.0, now=5.0)
    storage.close()
    assert _fingerprint(tmp_path) == before


def test_reads_see_a_live_writer_through_its_wal(tmp_path: Path) -> None:
    pid = _populace_db(tmp_path / "runs.db")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    writer = SQLStorage(url)
    writer.record_result(pid, 0, 0, 8, 0.75, ready=True, checkpoint=REF_A, now=6.0)
    assert (tmp_path / "runs.db-wal").exists(), "the writer's result is still in its WAL"
    reader = SQLStorage(url, read_only=True)
    assert [r.step for r in reader.results(pid)] == [4, 8]
    writer.record_result(pid, 0, 0, 9, 0.8, ready=False, checkpoint=None, now=7.0)
    assert [r.step for r in reader.results(pid)] == [4, 8, 9]
    reader.close()
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_schema_is_read_as_it_is(version: int, tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    pid = _populace_db(path)
    _downgrade(path, version)
    before = _fingerprint(tmp_path)
    storage = SQLStorage(f"sqlite:///{path}", read_only=True)
    workers = storage.workers(pid)
    assert [(w.owner, w.lease_seconds) for w in workers] == (
        [] if version == 1 else [("h:1:x", None)]
    )
    assert [m.id for m in storage.members(pid)] == [0, 1, 2]
    assert storage.storage_id is None
    storage.close()
    assert _fingerprint(tmp_path) == before  # not upgraded


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    _populace_db(path)
    with sqlite3.connect(path) as c:
        c.execute("UPDATE populace_meta SET value = '99' WHERE key = 'schema_version'")
    c.close()
    with pytest.raises(StorageError, match="schema version 99, written by a newer populace"):
        SQLStorage(f"sqlite:///{path}", read_only=True)


def test_postgresql_refuses_writes_itself(postgres_url: str) -> None:
    with pytest.raises(StorageError, match="is not a populace database"):
        SQLStorage(postgres_url, read_only=True)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as c:
        assert not sa.inspect(c).get_table_names(), "opening read-only created tables"
    engine.dispose()
    pid = SQLStorage(postgres_url).create_population("pop", CONFIG, "/ckpt", PARAMS, 1.0).id
    storage = SQLStorage(postgres_url, read_only=True)
    assert [m.id for m in storage.members(pid)] == [0, 1, 2]
    with pytest.raises(StorageError, match="opened read-only"):
        storage.record_failure(pid, 0, "boom", limit=3, now=2.0)
    with (
        pytest.raises(sa.exc.InternalError, match="read-only transaction"),
        storage._db.read() as c,
    ):
        c.exec_driver_sql("DELETE FROM populace_results")
    storage.close()


def test_a_read_only_file_written_to_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    _populace_db(path)
    # SQLite's own read-only mode: refuses writes even to root, who may write any file.
    storage = SQLStorage(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StorageError) as info:
        storage.create_population("other", CONFIG, "/ckpt", PARAMS, now=4.0)
    assert str(info.value).startswith(f"the database {path} is read-only: make the file")
    assert isinstance(info.value.__cause__, sa.exc.OperationalError)
    storage.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_damaged_file_is_one_clear_error(read_only: bool, tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    pid = _populace_db(path)
    damage_table(path, "populace_results")
    storage = SQLStorage(f"sqlite:///{path}", read_only=read_only)
    with pytest.raises(StorageError) as info:
        storage.results(pid)
    message = str(info.value)
    assert message.startswith(f"the database {path} is damaged (SQLite: database disk image")
    assert f'sqlite3 {path} ".recover" | sqlite3 recovered.db' in message
    storage.close()


def test_a_file_that_is_no_database_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database\n" * 100)
    for read_only in (False, True):
        with pytest.raises(StorageError, match=r"notes\.db is damaged \(SQLite: file is not a"):
            SQLStorage(f"sqlite:///{path}", read_only=read_only)


def test_other_errors_pass_through_unexplained() -> None:
    transient = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    for path in (None, "/tmp/x.db"):
        with pytest.raises(sa.exc.OperationalError), explained(path):
            raise transient
    damaged = sa.exc.DatabaseError("SELECT 1", {}, Exception("database disk image is malformed"))
    with pytest.raises(sa.exc.DatabaseError), explained(None):  # a server's errors stay as they are
        raise damaged


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_a_read_only_file_is_refused_before_sqlite_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    _populace_db(path)
    path.chmod(0o444)
    with pytest.raises(StorageError, match="this process may not write the file"):
        SQLStorage(f"sqlite:///{path}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]
