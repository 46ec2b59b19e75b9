"""SQL storage through SQLAlchemy: in-memory SQLite, SQLite files and PostgreSQL.

Each method is one transaction, run again through transient database errors; the SQL of the
larger jobs lives in the modules beside this one, as functions of a connection.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

from populace.controller import Decision, PopulationSnapshot
from populace.errors import ConfigurationError, StorageError
from populace.storage._base import BaseStorage
from populace.storage._records import (
    DecisionRecord,
    MemberRecord,
    PendingResult,
    PopulationRecord,
    ProposedDecision,
    ReportedResult,
    ResultRecord,
    SegmentRecord,
    WorkerRecord,
)
from populace.storage._sql import (
    _decisions,
    _leases,
    _lineage,
    _populations,
    _results,
    _rewind,
    _snapshot,
    _workers,
)
from populace.storage._sql._engine import (
    create_engine,
    database_file,
    mask_url,
    parse_url,
    retry_policy,
)
from populace.storage._sql._migrations import check_schema, prepare_schema, storage_id
from populace.storage._sql._retry import retried, retried_unless
from populace.storage._sql._rows import member_record
from populace.storage._sql._schema import SCHEMA_VERSION
from populace.storage._sql._statements import STATEMENTS as SQL
from populace.storage._sql._transactions import Transactions

__all__ = ["SQLStorage"]


class SQLStorage(BaseStorage):
    """Storage in any database SQLAlchemy reaches.

    ``"memory"`` (or ``"sqlite://"``) keeps everything in this process, for tests and
    throwaway runs; ``"sqlite:///runs.db"`` is the embedded default for one host (WAL mode,
    ``synchronous=NORMAL``: a killed process loses nothing committed).
    ``"postgresql+psycopg://user:password@host:5432/database"`` (``pip install
    'populace[postgresql]'``) serves workers on many hosts. Every invariant holds under READ
    COMMITTED through single-statement compare-and-set updates and unique keys.

    Args:
        url: the database URL, or ``"memory"``.
        retry_seconds: how long an operation waits out a database server that is unreachable,
            restarting or drops a connection, retrying with backoff before it raises
            StorageError; 0 fails at once. SQLite never retries.
        open_retry_seconds: the same for opening (the first connection), if it should differ:
            a worker started before the database waits for it, a command a person typed fails
            at once. Defaults to ``retry_seconds``.
        read_only: open an existing populace database for reading and change nothing in it
            (``populace status``, ``export``, ``plot``, ``best``): no schema is created or
            upgraded (an older version is read as it is), a SQLite file is left byte for byte
            as it was, and every write raises StorageError.

    Raises:
        StorageError: the database cannot be opened, was written by a newer populace, or (read
            only) holds no populace tables.
    """

    def __init__(
        self,
        url: str | URL,
        retry_seconds: float = 60.0,
        *,
        open_retry_seconds: float | None = None,
        read_only: bool = False,
    ) -> None:
        opening = retry_seconds if open_retry_seconds is None else open_retry_seconds
        self._engine = create_engine(url, retry_policy(url, opening), read_only=read_only)
        self._url = mask_url(url)
        self._db = Transactions(self._engine, self._url, read_only=read_only)
        self._read_only = read_only
        self._retry = retry_policy(url, retry_seconds)
        self._storage_id: str | None = None
        self._version = SCHEMA_VERSION
        self._connect_url = parse_url(url).render_as_string(hide_password=False)
        try:
            self._init_schema()
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def url(self) -> str:
        return self._url

    @property
    def storage_id(self) -> str | None:
        return self._storage_id

    @property
    def database_file(self) -> Path | None:
        file = database_file(self._engine.url)
        return None if file is None else Path(os.path.abspath(file))

    @property
    def url_for_workers(self) -> str | None:
        return None if isinstance(self._engine.pool, StaticPool) else self._connect_url

    def __repr__(self) -> str:
        return f"SQLStorage({self._url!r})"

    def close(self) -> None:
        self._engine.dispose()

    @retried
    def _init_schema(self) -> None:
        if self._read_only:
            with self._db.read() as c:
                self._version = check_schema(c, self._url)
                self._storage_id = storage_id(c)
            return
        with self._db.write() as c:
            prepare_schema(c, self._url)
            self._storage_id = storage_id(c)

    # -- populations -------------------------------------------------------------------------------

    def _created_population(
        self,
        name: str,
        config: Mapping[str, Any],
        checkpoints: str,
        initial_params: Sequence[Mapping[str, Any]],
        now: float,
    ) -> PopulationRecord | None:
        """This very population, if an attempt whose acknowledgement was lost created it."""
        with self._db.read() as c:
            return _populations.created_population(c, name, config, checkpoints, now)

    @retried_unless(_created_population)
    def create_population(
        self,
        name: str,
        config: Mapping[str, Any],
        checkpoints: str,
        initial_params: Sequence[Mapping[str, Any]],
        now: float,
    ) -> PopulationRecord:
        try:
            with self._db.write() as c:
                pid = _populations.insert_population(
                    c, name, config, checkpoints, initial_params, now
                )
        except sa.exc.IntegrityError:
            raise StorageError(
                f"a population named {name!r} already exists in {self._url}"
            ) from None
        return PopulationRecord(pid, name, dict(config), checkpoints, now)

    @retried
    def move_checkpoints(self, population: int, checkpoints: str) -> None:
        with self._db.write() as c:
            moved = _populations.move_checkpoints(c, population, checkpoints)
        if not moved:
            raise StorageError(f"population {population} does not exist in {self._url}")

    @retried
    def find_population(self, name: str) -> PopulationRecord | None:
        with self._db.read() as c:
            return _populations.population_named(c, name)

    @retried
    def list_populations(self) -> list[PopulationRecord]:
        with self._db.read() as c:
            return _populations.all_populations(c)

    # -- the training loop -------------------------------------------------------------------------

    def _stored_result(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        score: float,
        *,
        ready: bool,
        checkpoint: str | None,
        now: float,
        owner: str | None = None,
        earlier: Sequence[PendingResult] = (),
        metrics: Mapping[str, float] | None = None,
    ) -> int | None:
        """The id of this very result, if an attempt whose acknowledgement was lost stored it."""
        with self._db.read() as c:
            row = _results.stored_result(c, population, member, generation, step)
        if row is None:
            return None
        stored = (row.score, bool(row.ready), row.checkpoint, row.owner, row.created_at)
        return int(row.id) if stored == (score, ready, checkpoint, owner, now) else None

    @retried_unless(_stored_result)
    def record_result(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        score: float,
        *,
        ready: bool,
        checkpoint: str | None,
        now: float,
        owner: str | None = None,
        earlier: Sequence[PendingResult] = (),
        metrics: Mapping[str, float] | None = None,
    ) -> int:
        with self._db.write() as c:
            return _results.insert_results(
                c,
                population,
                member,
                generation,
                step,
                score,
                ready=ready,
                checkpoint=checkpoint,
                now=now,
                owner=owner,
                earlier=earlier,
                metrics=metrics,
            )

    def _stored_results(
        self, population: int, results: Sequence[ReportedResult], *, owner: str | None = None
    ) -> list[int] | None:
        """The ids of this very batch, if an attempt whose acknowledgement was lost stored it
        (one transaction: its last result is there only if all of them are)."""
        if not results:
            return []
        with self._db.read() as c:
            rows = [
                _results.stored_result(c, population, r.member, r.generation, r.step)
                for r in results
            ]
        for row, r in zip(rows, results, strict=True):
            stored = None if row is None else (row.score, row.checkpoint, row.owner, row.created_at)
            if stored != (r.score, r.checkpoint, owner, r.now):
                return None
        return [int(row.id) for row in rows]

    @retried_unless(_stored_results)
    def record_results(
        self, population: int, results: Sequence[ReportedResult], *, owner: str | None = None
    ) -> list[int]:
        with self._db.write() as c:
            return [
                _results.insert_results(
                    c,
                    population,
                    r.member,
                    r.generation,
                    r.step,
                    r.score,
                    ready=r.ready,
                    checkpoint=r.checkpoint,
                    now=r.now,
                    owner=owner,
                    earlier=r.earlier,
                    metrics=r.metrics,
                )
                for r in results
            ]

    @retried
    def snapshot(
        self,
        population: int,
        step: int,
        interval: int,
        recent: int,
        *,
        scores_until: int | None = None,
    ) -> PopulationSnapshot:
        until = step if scores_until is None else scores_until
        with self._db.read() as c:
            return _snapshot.read_snapshot(c, population, step, interval, recent, until)

    @retried
    def commit_decision(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        decision: Decision,
        compared: Sequence[tuple[int, int, float]],
        watermark: int,
        now: float,
    ) -> Decision:
        proposed = ProposedDecision(member, generation, step, decision, compared, watermark, now)
        return self._commit_decisions(population, [proposed])[0]

    @retried
    def commit_decisions(
        self, population: int, decisions: Sequence[ProposedDecision]
    ) -> list[Decision]:
        return self._commit_decisions(population, decisions)

    def _commit_decisions(
        self, population: int, decisions: Sequence[ProposedDecision]
    ) -> list[Decision]:
        for proposed in decisions:
            if proposed.decision.kind == "wait":
                # Reachable by a user through the public methods (the runtime never commits a
                # Wait), so a PopulaceError; a ConfigurationError is also the ValueError an
                # argument no storage accepts has always been.
                raise ConfigurationError(
                    f"a Wait decision is never stored: it asks member {proposed.member} to wait "
                    f"at step {proposed.step}, which decides nothing"
                )
        for _ in range(3):
            try:
                with self._db.write() as c:
                    return [_decisions.commit(c, population, *proposed) for proposed in decisions]
            except sa.exc.IntegrityError:
                continue  # another process committed one first: read its decision back
        members = ", ".join(str(p.member) for p in decisions)
        raise StorageError(f"could not commit the decisions of members {members}")

    @retried
    def get_decision(
        self, population: int, member: int, generation: int, step: int
    ) -> Decision | None:
        with self._db.read() as c:
            return _decisions.find_decision(c, population, member, generation, step)

    @retried
    def discard_results_after(
        self, population: int, member: int, generation: int, step: int
    ) -> int:
        with self._db.write() as c:
            return _rewind.discard_results_after(c, population, member, generation, step)

    @retried
    def restore_checkpoint(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        checkpoint: str | None,
        *,
        own_start: bool = False,
    ) -> int:
        with self._db.write() as c:
            return _rewind.restore_checkpoint(
                c, population, member, generation, step, checkpoint, own_start=own_start
            )

    def _counted_failure(
        self, population: int, member: int, error: str, limit: int, now: float
    ) -> bool | None:
        """Whether the member failed for good, if an attempt whose acknowledgement was lost
        counted this very failure; None if it did not."""
        with self._db.read() as c:
            return _leases.counted_failure(c, population, member, error, now)

    @retried_unless(_counted_failure)
    def record_failure(
        self, population: int, member: int, error: str, limit: int, now: float
    ) -> bool:
        with self._db.write() as c:
            return _leases.count_failure(c, population, member, error, limit, now)

    # -- leases ------------------------------------------------------------------------------------

    @retried
    def claim(
        self,
        population: int,
        member: int,
        owner: str,
        until: float,
        now: float,
        dead_owners: Collection[str] = (),
    ) -> MemberRecord | None:
        with self._db.write() as c:
            return _leases.claim(c, population, member, owner, until, now, dead_owners)

    @retried
    def renew(self, population: int, owner: str, until: float, now: float | None = None) -> int:
        with self._db.write() as c:
            return _leases.renew(c, population, owner, until, now)

    @retried
    def release(self, population: int, member: int, owner: str) -> None:
        with self._db.write() as c:
            _leases.release(c, population, member, owner)

    # -- workers -----------------------------------------------------------------------------------

    @retried
    def register_worker(
        self,
        population: int,
        owner: str,
        host: str,
        pid: int,
        now: float,
        lease_seconds: float | None = None,
    ) -> WorkerRecord:
        try:
            with self._db.write() as c:
                return _workers.register_worker(c, population, owner, host, pid, now, lease_seconds)
        except sa.exc.IntegrityError:
            raise StorageError(f"population {population} does not exist in {self._url}") from None

    @retried
    def stop_worker(self, population: int, owner: str, now: float) -> None:
        with self._db.write() as c:
            _workers.stop_worker(c, population, owner, now)

    @retried
    def workers(self, population: int) -> list[WorkerRecord]:
        with self._db.read() as c:
            return _workers.list_workers(c, population, self._version)

    # -- reads -------------------------------------------------------------------------------------

    @retried
    def members(self, population: int) -> list[MemberRecord]:
        with self._db.read() as c:
            rows = c.execute(SQL.members, {"population": population}).all()
        return [member_record(row) for row in rows]

    @retried
    def segments(self, population: int) -> list[SegmentRecord]:
        with self._db.read() as c:
            return _lineage.segments(c, population)

    @retried
    def ancestry(self, population: int, member: int) -> list[SegmentRecord]:
        with self._db.read() as c:
            return _lineage.ancestry(c, population, member)

    @retried
    def results(self, population: int, after: int = 0) -> list[ResultRecord]:
        with self._db.read() as c:
            return _results.all_results(c, population, after)

    @retried
    def saved_results(self, population: int, from_step: int = 0) -> list[ResultRecord]:
        with self._db.read() as c:
            return _results.saved_results(c, population, from_step)

    @retried
    def best_saved_results(self, population: int, count: int, maximize: bool) -> list[ResultRecord]:
        with self._db.read() as c:
            return _results.best_saved_results(c, population, count, maximize)

    @retried
    def decisions(self, population: int, after: int = 0) -> list[DecisionRecord]:
        with self._db.read() as c:
            return _decisions.all_decisions(c, population, after)
