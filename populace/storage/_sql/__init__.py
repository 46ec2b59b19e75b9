"""The SQL storage: one implementation, through SQLAlchemy Core, for every database.

``_storage`` holds :class:`SQLStorage`, whose every method is one transaction; the SQL each runs
lives in a module per job, as functions of a connection: ``_populations``, ``_results``,
``_snapshot``, ``_decisions`` with ``_effects`` (what a decision does to its member),
``_rewind``, ``_leases``, ``_workers``, ``_lineage``. Below them: the tables (``_schema``) and
their upgrades (``_migrations``), prebuilt hot-path statements (``_statements``), rows as records
(``_rows``), opening engines (``_engine``, ``_sqlite``), transactions (``_transactions``) and
retries through transient errors (``_retry``).
"""

from __future__ import annotations

from populace.storage._sql._storage import SQLStorage

__all__ = ["SQLStorage"]
