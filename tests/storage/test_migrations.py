"""Schema migrations: a database written by the previous version opens, upgraded, intact."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from populace.controller import Continue, Exploit, decision_to_dict
from populace.errors import StorageError
from populace.storage import SQLStorage, WorkerRecord
from populace.storage._sql import _schema as current
from populace.storage._sql._migrations import STEPS, stored_version

from . import _schema_v1 as v1

EXPLOIT = Exploit(0, 0, 4, "sha256:" + "a" * 64, {"lr": 0.15}, "bottom 25%")


def _build_version_1(url: str, version: int = 1) -> dict[str, list[Any]]:
    """Write a version-1 database holding one population mid-run; return every row of it."""
    engine = sa.create_engine(url)
    config = {"space": {"lr": {"type": "Uniform", "low": 0.0, "high": 1.0}}, "population": 3}
    with engine.begin() as c:
        v1.metadata.create_all(c)
        c.execute(v1.meta.insert().values(key="schema_version", value=str(version)))
        c.execute(
            v1.populations.insert().values(
                id=1, name="old", config=json.dumps(config), checkpoints="/ckpt", created_at=1.5
            )
        )
        c.execute(
            v1.members.insert(),
            [
                dict(population_id=1, member_id=i, generation=0, state="running", step=4,
                     last_decision_step=0, checkpoint=f"sha256:{i}", checkpoint_step=4,
                     failures=0, lease_owner="h:1:x" if i == 2 else None,
                     lease_until=99.25 if i == 2 else None, updated_at=4.5)
                for i in range(3)
            ],
        )  # fmt: skip
        c.execute(
            v1.segments.insert(),
            [
                dict(population_id=1, member_id=i, generation=0, start_step=0,
                     params=json.dumps({"lr": 0.1 * (i + 1)}), created_at=1.5)
                for i in range(3)
            ],
        )  # fmt: skip
        c.execute(
            v1.results.insert(),
            [
                dict(population_id=1, member_id=i, generation=0, step=s, score=i + s / 10,
                     ready=s == 4, checkpoint=f"sha256:{i}" if s == 4 else None,
                     owner="h:1:x", created_at=float(s))
                for i in range(3) for s in (2, 4)
            ],
        )  # fmt: skip
        c.execute(
            v1.decisions.insert().values(
                population_id=1, member_id=2, generation=0, step=4,
                decision=json.dumps(decision_to_dict(EXPLOIT)),
                compared=json.dumps([[0, 4, 0.4], [2, 4, 2.4]]), watermark=6, created_at=5.0,
            )
        )  # fmt: skip
        rows = _rows(c)
    engine.dispose()
    return rows


def _rows(c: sa.Connection) -> dict[str, list[Any]]:
    return {
        table.name: [tuple(row) for row in c.execute(sa.select(table).order_by(*table.primary_key))]
        for table in v1.metadata.sorted_tables
    }


def _snapshot_of(url: str) -> tuple[int | None, dict[str, list[Any]], set[str]]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        state = stored_version(c), _rows(c), set(sa.inspect(c).get_table_names())
    engine.dispose()
    return state


def test_a_version_1_database_is_upgraded_intact(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = _build_version_1(database_url)
    with caplog.at_level(logging.INFO, logger="populace"):
        storage = SQLStorage(database_url, retry_seconds=0)
    assert "upgrading the schema from version 1 to 2" in caplog.text
    assert "upgrading the schema from version 2 to 3" in caplog.text
    assert "upgrading the schema from version 3 to 4" in caplog.text
    assert "upgrading the schema from version 4 to 5" in caplog.text
    version, after, tables = _snapshot_of(database_url)
    assert version == current.SCHEMA_VERSION == 5 and "populace_workers" in tables
    meta = dict(after.pop("populace_meta"))
    assert meta.pop("schema_version") == "5"
    assert re.fullmatch(r"[0-9a-f]{32}", meta.pop("storage_id")) and not meta
    assert storage.storage_id is not None and len(storage.storage_id) == 32
    before.pop("populace_meta")
    assert after == before  # every row of version 1, unchanged

    population = storage.find_population("old")
    assert population is not None and population.config["population"] == 3
    members = storage.members(population.id)
    assert [(m.step, m.checkpoint, m.params) for m in members] == [
        (4, f"sha256:{i}", {"lr": 0.1 * (i + 1)}) for i in range(3)
    ]
    assert [
        (r.member, r.step, r.score, r.ready, r.metrics) for r in storage.results(population.id)
    ] == [(i, s, i + s / 10, s == 4, {}) for i in range(3) for s in (2, 4)]
    assert [d.decision for d in storage.decisions(population.id)] == [EXPLOIT]

    # the old population runs on, and the new methods work on it
    storage.record_result(
        population.id, 0, 0, 6, 0.9, ready=False, checkpoint=None, now=6.0, metrics={"loss": 0.1}
    )
    assert storage.results(population.id)[-1].metrics == {"loss": 0.1}
    assert storage.commit_decision(population.id, 1, 0, 4, Continue("top"), [], 6, 7.0)
    storage.register_worker(population.id, "h:1:x", "h", 1, now=8.0, lease_seconds=30.0)
    assert storage.renew(population.id, "h:1:x", until=120.0, now=9.0) == 1
    assert storage.workers(population.id) == [WorkerRecord("h:1:x", "h", 1, 8.0, 9.0, None, 30.0)]
    storage.close()
    SQLStorage(database_url, retry_seconds=0).close()  # opening again upgrades nothing


def test_an_upgraded_schema_equals_a_new_one(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _build_version_1(database_url)
    SQLStorage(database_url, retry_seconds=0).close()
    if database_url.startswith("postgresql"):
        fresh = request.getfixturevalue("new_postgres_database")()
    else:
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    SQLStorage(fresh, retry_seconds=0).close()
    assert _layout(database_url) == _layout(fresh)


def _layout(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    layout = {
        table: (
            [(c["name"], repr(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table)["constrained_columns"],
            [(f["constrained_columns"], f["referred_table"], f["options"])
             for f in inspector.get_foreign_keys(table)],
            sorted((i["column_names"], i["unique"]) for i in inspector.get_indexes(table)),
            sorted(u["column_names"] for u in inspector.get_unique_constraints(table)),
        )
        for table in inspector.get_table_names()
    }  # fmt: skip
    engine.dispose()
    return layout


def test_a_newer_version_is_refused_and_nothing_changes(database_url: str) -> None:
    newer = current.SCHEMA_VERSION + 1
    before = _build_version_1(database_url, version=newer)
    with pytest.raises(StorageError, match=rf"schema version {newer}, written by a newer populace"):
        SQLStorage(database_url, retry_seconds=0)
    version, after, tables = _snapshot_of(database_url)
    assert (version, after) == (newer, before) and "populace_workers" not in tables


def test_every_version_has_a_step() -> None:
    assert len(STEPS) == current.SCHEMA_VERSION - 1
