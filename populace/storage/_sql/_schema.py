"""SQL tables of the storage (SQLAlchemy Core), and the schema version they implement."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["SCHEMA_VERSION", "metadata"]

SCHEMA_VERSION = 5

metadata = sa.MetaData()

meta = sa.Table(
    "populace_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

populations = sa.Table(
    "populace_populations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("checkpoints", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)


def _population_fk() -> sa.ForeignKey:
    return sa.ForeignKey("populace_populations.id", ondelete="CASCADE")


members = sa.Table(
    "populace_members",
    metadata,
    sa.Column("population_id", sa.Integer, _population_fk(), primary_key=True),
    sa.Column("member_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("last_decision_step", sa.Integer, nullable=False),
    sa.Column("checkpoint", sa.String(80)),
    sa.Column("checkpoint_step", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("lease_owner", sa.String(255)),
    sa.Column("lease_until", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
    # FIRE PBT: the step of the current generation's checkpoint an evaluator last copied.
    sa.Column("evaluated_step", sa.Integer),
)

segments = sa.Table(
    "populace_segments",
    metadata,
    sa.Column("population_id", sa.Integer, _population_fk(), primary_key=True),
    sa.Column("member_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("start_step", sa.Integer, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("parent_member", sa.Integer),
    sa.Column("parent_generation", sa.Integer),
    sa.Column("parent_step", sa.Integer),
    sa.Column("checkpoint", sa.String(80)),
    sa.Column("created_at", sa.Float, nullable=False),
    # FIRE PBT: the member (and its generation) whose params an evaluator's generation trains.
    sa.Column("child_member", sa.Integer),
    sa.Column("child_generation", sa.Integer),
)

results = sa.Table(
    "populace_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("population_id", sa.Integer, _population_fk(), nullable=False),
    sa.Column("member_id", sa.Integer, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("ready", sa.Boolean, nullable=False),
    sa.Column("checkpoint", sa.String(80)),
    sa.Column("owner", sa.String(255)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("metrics", sa.Text),  # the extra metrics by name, as a JSON object; NULL: none
    sa.UniqueConstraint("population_id", "member_id", "generation", "step"),
    sa.Index("ix_populace_results_ready", "population_id", "ready", "step"),
    # The best saved results, read by every garbage collection, without sorting them all.
    sa.Index("ix_populace_results_score", "population_id", "ready", "score"),
)

decisions = sa.Table(
    "populace_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("population_id", sa.Integer, _population_fk(), nullable=False),
    sa.Column("member_id", sa.Integer, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("compared", sa.Text, nullable=False),
    sa.Column("watermark", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("population_id", "member_id", "generation", "step"),
)

workers = sa.Table(
    "populace_workers",
    metadata,
    sa.Column("population_id", sa.Integer, _population_fk(), primary_key=True),
    sa.Column("owner", sa.String(255), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("stopped_at", sa.Float),
    sa.Column("lease_seconds", sa.Float),
)
