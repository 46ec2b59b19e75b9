"""Schema versions: create a new database at the latest one, upgrade an older one step by step.

Each step is a function of a connection that upgrades version n to n + 1. All of them run in the
transaction that opens the storage, together with the version row, so an upgrade happens whole or
not at all, and a process opening the database meanwhile waits and then sees the new version.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from populace.errors import StorageError
from populace.storage._sql import _schema as t

__all__ = ["STEPS", "check_schema", "prepare_schema", "storage_id", "stored_version"]

_log = logging.getLogger("populace")

# Key of the PostgreSQL advisory lock taken while the schema is created or upgraded ("populace").
_LOCK_KEY = int.from_bytes(b"populace", "big")
_STORAGE_ID = "storage_id"


def _add_workers(c: sa.Connection) -> None:
    """Add populace_workers: which workers run each population, on which hosts."""
    # Frozen as version 2 defined it: a later change to the table is a step of its own.
    frozen = sa.MetaData()
    sa.Table("populace_populations", frozen, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "populace_workers",
        frozen,
        sa.Column(
            "population_id",
            sa.Integer,
            sa.ForeignKey("populace_populations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("owner", sa.String(255), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("stopped_at", sa.Float),
    ).create(c)


def _add_lease_seconds_storage_id_and_score_index(c: sa.Connection) -> None:
    """Record each worker's lease length (a worker unseen for longer has died), give the
    database an id (the checkpoint stores it uses record it as their owner), and index results
    by score (garbage collection reads the best ones)."""
    c.execute(sa.text("ALTER TABLE populace_workers ADD COLUMN lease_seconds FLOAT"))
    c.execute(
        sa.text(
            "CREATE INDEX ix_populace_results_score ON populace_results "
            "(population_id, ready, score)"
        )
    )
    _insert_storage_id(c)


def _add_evaluations(c: sa.Connection) -> None:
    """Record FIRE PBT's evaluations: the child whose params an evaluator's generation trains,
    and when each member's weights were last evaluated."""
    c.execute(sa.text("ALTER TABLE populace_segments ADD COLUMN child_member INTEGER"))
    c.execute(sa.text("ALTER TABLE populace_segments ADD COLUMN child_generation INTEGER"))
    c.execute(sa.text("ALTER TABLE populace_members ADD COLUMN evaluated_step INTEGER"))


def _add_metrics(c: sa.Connection) -> None:
    """Store the extra metrics reported with each score."""
    c.execute(sa.text("ALTER TABLE populace_results ADD COLUMN metrics TEXT"))


def _insert_storage_id(c: sa.Connection) -> None:
    c.execute(t.meta.insert().values(key=_STORAGE_ID, value=uuid.uuid4().hex))


STEPS: tuple[Callable[[sa.Connection], None], ...] = (
    _add_workers,
    _add_lease_seconds_storage_id_and_score_index,
    _add_evaluations,
    _add_metrics,
)
"""``STEPS[n - 1]`` upgrades a database from schema version n to n + 1."""


def stored_version(c: sa.Connection) -> int | None:
    """The schema version the database holds, or None if it holds no populace tables yet."""
    if not sa.inspect(c).has_table(t.meta.name):
        return None
    value = c.execute(sa.select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar()
    return None if value is None else int(value)


def storage_id(c: sa.Connection) -> str | None:
    """The database's random id, made with its schema; None before schema version 3."""
    value = c.execute(sa.select(t.meta.c.value).where(t.meta.c.key == _STORAGE_ID)).scalar()
    return None if value is None else str(value)


def _check_version(stored: int, url: str) -> None:
    if stored > t.SCHEMA_VERSION:
        raise StorageError(
            f"storage {url} has schema version {stored}, written by a newer populace; this one "
            f"reads versions up to {t.SCHEMA_VERSION}: upgrade populace"
        )
    if stored < 1:
        raise StorageError(f"storage {url} has an unknown schema version {stored}")


def check_schema(c: sa.Connection, url: str) -> int:
    """The schema version of a database opened for reading: nothing is created or upgraded.

    Raises:
        StorageError: the database holds no populace tables, or was written by a newer populace.
    """
    stored = stored_version(c)
    if stored is None:
        raise StorageError(f"storage {url} is not a populace database (it has no populace tables)")
    _check_version(stored, url)
    return stored


def prepare_schema(c: sa.Connection, url: str) -> None:
    """Bring the database to ``SCHEMA_VERSION`` inside the caller's write transaction.

    Raises:
        StorageError: the database was written by a newer populace; nothing is changed.
    """
    if c.dialect.name == "postgresql":
        # Two processes opening an empty database at once would both create the tables.
        c.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
    stored = stored_version(c)
    if stored is None:
        t.metadata.create_all(c)
        c.execute(t.meta.insert().values(key="schema_version", value=str(t.SCHEMA_VERSION)))
        _insert_storage_id(c)
        return
    _check_version(stored, url)
    for version in range(stored, t.SCHEMA_VERSION):
        step = STEPS[version - 1]
        _log.info(
            "storage %s: upgrading the schema from version %d to %d: %s",
            url,
            version,
            version + 1,
            (step.__doc__ or step.__name__).strip(),
        )
        step(c)
        c.execute(
            t.meta.update().where(t.meta.c.key == "schema_version").values(value=str(version + 1))
        )
