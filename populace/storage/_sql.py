"""SQL storage through SQLAlchemy: in-memory SQLite, SQLite files and PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

from populace.controller import (
    Decision,
    Exploit,
    Explore,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    RecordTable,
    Stop,
    decision_from_dict,
    decision_to_dict,
)
from populace.errors import ReportError, StorageError
from populace.storage import _schema as t
from populace.storage._base import BaseStorage
from populace.storage._engine import (
    create_engine,
    database_file,
    mask_url,
    parse_url,
    retry_policy,
)
from populace.storage._migrations import check_schema, prepare_schema, storage_id
from populace.storage._records import (
    DecisionRecord,
    MemberRecord,
    PopulationRecord,
    ResultRecord,
    SegmentRecord,
    WorkerRecord,
)
from populace.storage._retry import retried, retried_unless
from populace.storage._sqlite import explained
from populace.storage._statements import STATEMENTS as SQL

__all__ = ["SQLStorage"]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _member_record(row: Any) -> MemberRecord:
    return MemberRecord(
        id=row.member_id,
        generation=row.generation,
        params=json.loads(row.params),
        state=row.state,
        step=row.step,
        start_step=row.start_step,
        last_decision_step=row.last_decision_step,
        checkpoint=row.checkpoint,
        checkpoint_step=row.checkpoint_step,
        parent_member=row.parent_member,
        error=row.error,
        failures=row.failures,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


def _segment_record(row: Any) -> SegmentRecord:
    return SegmentRecord(
        row.member_id,
        row.generation,
        row.start_step,
        json.loads(row.params),
        row.parent_member,
        row.parent_generation,
        row.parent_step,
        row.checkpoint,
        row.created_at,
    )


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
        self._read_only = read_only
        self._file = database_file(self._engine.url)
        self._retry = retry_policy(url, retry_seconds)
        # An in-memory database is one connection shared by all threads: take turns on it.
        memory = isinstance(self._engine.pool, StaticPool)
        self._lock: AbstractContextManager[Any] = threading.RLock() if memory else nullcontext()
        self._writer = self._engine.execution_options(populace_write=True)
        # A read of several statements (a snapshot) sees one state of the database.
        postgresql = self._engine.dialect.name == "postgresql"
        self._reader = (
            self._engine.execution_options(isolation_level="REPEATABLE READ")
            if postgresql
            else self._engine
        )
        self._url = mask_url(url)
        self._storage_id: str | None = None
        self._version = t.SCHEMA_VERSION
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
        return None if self._file is None else Path(os.path.abspath(self._file))

    @property
    def url_for_workers(self) -> str | None:
        return None if isinstance(self._engine.pool, StaticPool) else self._connect_url

    def __repr__(self) -> str:
        return f"SQLStorage({self._url!r})"

    def close(self) -> None:
        self._engine.dispose()

    # -- plumbing ----------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        if self._read_only:
            raise StorageError(f"storage {self._url} was opened read-only: it cannot be written")
        with explained(self._file), self._lock, self._writer.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with explained(self._file), self._lock, self._reader.begin() as connection:
            yield connection

    @retried
    def _init_schema(self) -> None:
        if self._read_only:
            with self._read() as c:
                self._version = check_schema(c, self._url)
                self._storage_id = storage_id(c)
            return
        with self._write() as c:
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
        found = self._population_named(name)
        if found is None or (found.checkpoints, found.created_at) != (checkpoints, now):
            return None
        return found if _dumps(found.config) == _dumps(config) else None

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
            with self._write() as c:
                pid = c.execute(
                    t.populations.insert().values(
                        name=name, config=_dumps(config), checkpoints=checkpoints, created_at=now
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                c.execute(
                    t.members.insert(),
                    [
                        dict(
                            population_id=pid,
                            member_id=i,
                            generation=0,
                            state=MemberState.RUNNING,
                            step=0,
                            last_decision_step=0,
                            checkpoint=None,
                            checkpoint_step=0,
                            updated_at=now,
                        )
                        for i in range(len(initial_params))
                    ],
                )
                c.execute(
                    t.segments.insert(),
                    [
                        dict(
                            population_id=pid,
                            member_id=i,
                            generation=0,
                            start_step=0,
                            params=_dumps(dict(p)),
                            created_at=now,
                        )
                        for i, p in enumerate(initial_params)
                    ],
                )
        except sa.exc.IntegrityError:
            raise StorageError(
                f"a population named {name!r} already exists in {self._url}"
            ) from None
        return PopulationRecord(pid, name, dict(config), checkpoints, now)

    @retried
    def move_checkpoints(self, population: int, checkpoints: str) -> None:
        p = t.populations.c
        with self._write() as c:
            moved = c.execute(
                t.populations.update().where(p.id == population).values(checkpoints=checkpoints)
            ).rowcount
        if moved != 1:
            raise StorageError(f"population {population} does not exist in {self._url}")

    @retried
    def find_population(self, name: str) -> PopulationRecord | None:
        return self._population_named(name)

    def _population_named(self, name: str) -> PopulationRecord | None:
        with self._read() as c:
            row = c.execute(sa.select(t.populations).where(t.populations.c.name == name)).first()
        return None if row is None else self._population(row)

    @retried
    def list_populations(self) -> list[PopulationRecord]:
        with self._read() as c:
            rows = c.execute(sa.select(t.populations).order_by(t.populations.c.id)).all()
        return [self._population(r) for r in rows]

    @staticmethod
    def _population(row: Any) -> PopulationRecord:
        return PopulationRecord(
            row.id, row.name, json.loads(row.config), row.checkpoints, row.created_at
        )

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
        earlier: Sequence[tuple[int, float, float]] = (),
    ) -> int | None:
        """The id of this very result, if an attempt whose acknowledgement was lost stored it."""
        r = t.results.c
        with self._read() as c:
            row = c.execute(
                sa.select(t.results).where(
                    r.population_id == population,
                    r.member_id == member,
                    r.generation == generation,
                    r.step == step,
                )
            ).first()
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
        earlier: Sequence[tuple[int, float, float]] = (),
    ) -> int:
        key = {"population": population, "member": member, "b_generation": generation}
        first = earlier[0][0] if earlier else step
        params = {
            **key,
            "b_owner": owner,
            "b_anyone": owner is None,
            "b_first": first,
            "new_step": step,
            "now": now,
            "b_score": score,
            "b_ready": ready,
            "ref": checkpoint,
        }
        advance = SQL.advance_member if checkpoint is None else SQL.advance_member_with_checkpoint
        with self._write() as c:
            if c.execute(advance, params).rowcount != 1:
                self._refuse_result(c, population, member, generation, first, owner)
            if earlier:
                rows = [
                    {
                        **key,
                        "b_owner": owner,
                        "new_step": at,
                        "now": when,
                        "b_score": value,
                        "b_ready": False,
                        "ref": None,
                    }
                    for at, value, when in earlier
                ]
                c.execute(SQL.insert_result, rows)
            inserted = c.execute(SQL.insert_result, params).inserted_primary_key
            return int(inserted[0])  # type: ignore[index]

    def _refuse_result(
        self,
        c: sa.Connection,
        population: int,
        member: int,
        generation: int,
        step: int,
        owner: str | None,
    ) -> None:
        m = t.members.c
        row = c.execute(
            sa.select(t.members).where(m.population_id == population, m.member_id == member)
        ).first()
        if row is None:
            raise StorageError(f"member {member} does not exist in population {population}")
        if row.state != MemberState.RUNNING:
            raise ReportError(f"member {member} is {row.state}; it takes no more results")
        if row.generation != generation:
            raise StorageError(
                f"member {member} moved to generation {row.generation} (it exploited); a result "
                f"for generation {generation} is stale"
            )
        if owner is not None and row.lease_owner != owner:
            raise StorageError(
                f"member {member} is leased by {row.lease_owner or 'nobody'}, not {owner}: a "
                "result from a worker that lost its lease is refused"
            )
        raise ReportError(
            f"step {step} of member {member} does not come after its current step {row.step}: "
            "steps count completed training steps and must increase (the first report is at "
            "step 1 or later)"
        )

    @retried
    def snapshot(
        self, population: int, step: int, interval: int, recent: int
    ) -> PopulationSnapshot:
        with self._read() as c:
            member_rows = c.execute(SQL.snapshot_members, {"population": population}).all()
            record_rows = c.execute(
                SQL.snapshot_records,
                {"population": population, "low": step - interval, "high": step},
            ).all()
            recent_rows = (
                c.execute(
                    SQL.snapshot_recent, {"population": population, "recent": recent, "high": step}
                ).all()
                if recent > 0
                else []
            )
            watermark = c.execute(SQL.watermark, {"population": population}).scalar_one()
        parsed: dict[str, Any] = {}

        def params(text: str) -> Any:
            # Members that share a generation's params share one parsed dict.
            if text not in parsed:
                parsed[text] = json.loads(text)
            return parsed[text]

        columns: list[tuple[Any, ...]] = list(zip(*record_rows, strict=True)) or [()] * 6
        member, generation, steps, score, checkpoint, params_text = columns
        table = RecordTable.from_columns(
            list(member),
            list(generation),
            list(steps),
            list(score),
            list(checkpoint),
            [params(text) for text in params_text],
        )
        scores: dict[int, list[float]] = defaultdict(list)
        for member_id, value in recent_rows:
            scores[member_id].append(value)
        members = tuple(
            MemberSnapshot(
                id=row.member_id,
                generation=row.generation,
                params=params(row.params),
                state=row.state,
                step=row.step,
                start_step=row.start_step,
                last_decision_step=row.last_decision_step,
                recent_scores=tuple(scores.get(row.member_id, ())),
            )
            for row in member_rows
        )
        return PopulationSnapshot(members, table, int(watermark))

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
        if decision.kind == "wait":
            raise ValueError("a Wait decision is never stored")
        for _ in range(3):
            try:
                with self._write() as c:
                    existing = self._decision(c, population, member, generation, step)
                    if existing is not None:
                        if self._unapplied(c, population, member, generation, step):
                            self._apply(c, population, member, generation, step, existing, now)
                        return existing
                    c.execute(
                        SQL.insert_decision,
                        {
                            "population": population,
                            "member": member,
                            "b_generation": generation,
                            "b_step": step,
                            "b_decision": _dumps(decision_to_dict(decision)),
                            "b_compared": _dumps([list(x) for x in compared]),
                            "b_watermark": watermark,
                            "now": now,
                        },
                    )
                    self._apply(c, population, member, generation, step, decision, now)
                    return decision
            except sa.exc.IntegrityError:
                continue  # another process committed first: read its decision back
        raise StorageError(f"could not commit the decision of member {member} at step {step}")

    @staticmethod
    def _unapplied(
        c: sa.Connection, population: int, member: int, generation: int, step: int
    ) -> bool:
        """Whether the member still stands before its stored decision at ``step``: running in
        ``generation`` with no decision since an earlier step. A database written before
        rewinds deleted the decisions they undo can hold such a decision; applying it again
        keeps the member from being ready at that step forever."""
        row = c.execute(SQL.member, {"population": population, "member": member}).first()
        return (
            row is not None
            and row.generation == generation
            and row.state == MemberState.RUNNING
            and row.last_decision_step < step
        )

    def _apply(
        self,
        c: sa.Connection,
        population: int,
        member: int,
        generation: int,
        step: int,
        decision: Decision,
        now: float,
    ) -> None:
        m = t.members.c
        key = sa.and_(
            m.population_id == population, m.member_id == member, m.generation == generation
        )
        values: dict[str, Any] = {"last_decision_step": step, "updated_at": now}
        if isinstance(decision, Stop):
            values["state"] = MemberState.FINISHED
        elif isinstance(decision, Exploit):
            values.update(
                self._new_generation(
                    c,
                    population,
                    member,
                    generation + 1,
                    decision.params,
                    decision.parent,
                    decision.parent_generation,
                    decision.parent_step,
                    decision.parent_checkpoint,
                    now,
                )
            )
        elif isinstance(decision, Explore):
            own = c.execute(
                SQL.member_checkpoint, {"population": population, "member": member}
            ).scalar()
            values.update(
                self._new_generation(
                    c,
                    population,
                    member,
                    generation + 1,
                    decision.params,
                    member,
                    generation,
                    step,
                    own,
                    now,
                )
            )
        if c.execute(t.members.update().where(key).values(**values)).rowcount != 1:
            raise StorageError(f"member {member} is no longer at generation {generation}")

    @staticmethod
    def _new_generation(
        c: sa.Connection,
        population: int,
        member: int,
        generation: int,
        params: Mapping[str, Any],
        parent: int,
        parent_generation: int,
        start: int,
        checkpoint: str | None,
        now: float,
    ) -> dict[str, Any]:
        c.execute(
            t.segments.insert().values(
                population_id=population,
                member_id=member,
                generation=generation,
                start_step=start,
                params=_dumps(dict(params)),
                parent_member=parent,
                parent_generation=parent_generation,
                parent_step=start,
                checkpoint=checkpoint,
                created_at=now,
            )
        )
        return {
            "generation": generation,
            "step": start,
            "last_decision_step": start,
            "checkpoint": checkpoint,
            "checkpoint_step": start,
        }

    @retried
    def get_decision(
        self, population: int, member: int, generation: int, step: int
    ) -> Decision | None:
        with self._read() as c:
            return self._decision(c, population, member, generation, step)

    @staticmethod
    def _decision(
        c: sa.Connection, population: int, member: int, generation: int, step: int
    ) -> Decision | None:
        raw = c.execute(
            SQL.find_decision,
            {
                "population": population,
                "member": member,
                "b_generation": generation,
                "b_step": step,
            },
        ).scalar()
        return None if raw is None else decision_from_dict(json.loads(raw))

    @retried
    def discard_results_after(
        self, population: int, member: int, generation: int, step: int
    ) -> int:
        r, m = t.results.c, t.members.c
        with self._write() as c:
            deleted = c.execute(
                t.results.delete().where(
                    r.population_id == population,
                    r.member_id == member,
                    r.generation == generation,
                    r.step > step,
                )
            ).rowcount
            c.execute(
                t.members.update()
                .where(
                    m.population_id == population,
                    m.member_id == member,
                    m.generation == generation,
                    m.step > step,
                )
                .values(step=step)
            )
        return int(deleted)

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
        r, m, s = t.results.c, t.members.c, t.segments.c
        with self._write() as c:
            moved = c.execute(
                t.members.update()
                .where(
                    m.population_id == population,
                    m.member_id == member,
                    m.generation == generation,
                    m.state == MemberState.RUNNING,
                )
                .values(
                    step=step, checkpoint=checkpoint, checkpoint_step=step, last_decision_step=step
                )
            ).rowcount
            if moved != 1:
                raise StorageError(
                    f"member {member} is no longer running in generation {generation}"
                )
            if own_start:
                c.execute(
                    t.segments.update()
                    .where(
                        s.population_id == population,
                        s.member_id == member,
                        s.generation == generation,
                    )
                    .values(
                        checkpoint=checkpoint,
                        parent_member=member,
                        parent_generation=generation - 1,
                        parent_step=step,
                    )
                )
            deleted = c.execute(
                t.results.delete().where(
                    r.population_id == population,
                    r.member_id == member,
                    r.generation == generation,
                    r.step > step,
                )
            ).rowcount
            # The decisions taken on those results go with them: the member decides afresh
            # when it reaches those steps again, on the scores it reaches them with.
            d = t.decisions.c
            c.execute(
                t.decisions.delete().where(
                    d.population_id == population,
                    d.member_id == member,
                    d.generation == generation,
                    d.step > step,
                )
            )
        return int(deleted)

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
        params = {
            "population": population,
            "member": member,
            "owner": owner,
            "until": until,
            "now": now,
            "dead": list(dead_owners),
        }
        with self._write() as c:
            if c.execute(SQL.claim, params).rowcount != 1:
                return None
            # Read the member inside the claiming transaction: a copy read before the claim may
            # predate another worker's progress.
            row = c.execute(SQL.member, params).one()
        return _member_record(row)

    @retried
    def renew(self, population: int, owner: str, until: float, now: float | None = None) -> int:
        with self._write() as c:
            renewed = c.execute(
                SQL.renew, {"population": population, "owner": owner, "until": until}
            ).rowcount
            if now is not None:
                c.execute(SQL.worker_seen, {"population": population, "b_owner": owner, "now": now})
        return int(renewed)

    def _recorded_failure(
        self, population: int, member: int, error: str, limit: int, now: float
    ) -> bool | None:
        """Whether the member failed for good, if an attempt whose acknowledgement was lost
        counted this very failure; None if it did not."""
        m = t.members.c
        with self._read() as c:
            row = c.execute(
                sa.select(m.state, m.error, m.updated_at).where(
                    m.population_id == population, m.member_id == member
                )
            ).first()
        if row is None or (row.error, row.updated_at) != (error, now):
            return None
        return bool(row.state == MemberState.FAILED)

    @retried_unless(_recorded_failure)
    def record_failure(
        self, population: int, member: int, error: str, limit: int, now: float
    ) -> bool:
        m = t.members.c
        key = sa.and_(m.population_id == population, m.member_id == member)
        with self._write() as c:
            c.execute(
                t.members.update()
                .where(key)
                .values(failures=m.failures + 1, error=error, updated_at=now)
            )
            failed = c.execute(
                t.members.update()
                .where(key, m.failures >= limit, m.state == MemberState.RUNNING)
                .values(state=MemberState.FAILED, lease_owner=None, lease_until=None)
            ).rowcount
        return bool(failed == 1)

    @retried
    def release(self, population: int, member: int, owner: str) -> None:
        with self._write() as c:
            c.execute(SQL.release, {"population": population, "member": member, "owner": owner})

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
        w = t.workers.c
        values = {
            "host": host,
            "pid": pid,
            "started_at": now,
            "last_seen": now,
            "stopped_at": None,
            "lease_seconds": lease_seconds,
        }
        try:
            with self._write() as c:
                mine = sa.and_(w.population_id == population, w.owner == owner)
                if c.execute(t.workers.update().where(mine).values(values)).rowcount == 0:
                    c.execute(
                        t.workers.insert().values(population_id=population, owner=owner, **values)
                    )
        except sa.exc.IntegrityError:
            raise StorageError(f"population {population} does not exist in {self._url}") from None
        return WorkerRecord(owner, host, pid, now, now, None, lease_seconds)

    @retried
    def stop_worker(self, population: int, owner: str, now: float) -> None:
        w = t.workers.c
        with self._write() as c:
            c.execute(
                t.workers.update()
                .where(w.population_id == population, w.owner == owner)
                .values(last_seen=now, stopped_at=now)
            )

    @retried
    def workers(self, population: int) -> list[WorkerRecord]:
        if self._version < 2:  # read-only on a database from before workers were recorded
            return []
        w = t.workers.c
        # Version 2 has no lease_seconds: a database opened read-only is read as it is.
        columns = [c for c in t.workers.c if self._version >= 3 or c.name != "lease_seconds"]
        with self._read() as c:
            rows = c.execute(
                sa.select(*columns)
                .where(w.population_id == population)
                .order_by(w.started_at, w.owner)
            ).all()
        return [
            WorkerRecord(
                row.owner,
                row.host,
                row.pid,
                row.started_at,
                row.last_seen,
                row.stopped_at,
                row._mapping.get("lease_seconds"),
            )
            for row in rows
        ]

    # -- reads -------------------------------------------------------------------------------------

    @retried
    def members(self, population: int) -> list[MemberRecord]:
        with self._read() as c:
            rows = c.execute(SQL.members, {"population": population}).all()
        return [_member_record(row) for row in rows]

    @retried
    def segments(self, population: int) -> list[SegmentRecord]:
        s = t.segments.c
        query = (
            sa.select(t.segments)
            .where(s.population_id == population)
            .order_by(s.member_id, s.generation)
        )
        with self._read() as c:
            return [_segment_record(row) for row in c.execute(query)]

    @retried
    def ancestry(self, population: int, member: int) -> list[SegmentRecord]:
        m, s = t.members.c, t.segments.c
        # (member, generation, how many copies back): the current generation, then its parent's.
        chain = (
            sa.select(m.member_id.label("member"), m.generation, sa.literal(0).label("depth"))
            .where(m.population_id == population, m.member_id == member)
            .cte("chain", recursive=True)
        )
        chain = chain.union_all(
            sa.select(s.parent_member, s.parent_generation, chain.c.depth + 1).where(
                s.population_id == population,
                s.member_id == chain.c.member,
                s.generation == chain.c.generation,
                s.parent_member.is_not(None),
            )
        )
        query = (
            sa.select(t.segments)
            .join(chain, sa.and_(s.member_id == chain.c.member, s.generation == chain.c.generation))
            .where(s.population_id == population)
            .order_by(chain.c.depth.desc())
        )
        with self._read() as c:
            return [_segment_record(row) for row in c.execute(query)]

    @retried
    def results(self, population: int) -> list[ResultRecord]:
        return self._results(t.results.c.population_id == population)

    @retried
    def saved_results(self, population: int, from_step: int = 0) -> list[ResultRecord]:
        return self._results(*self._saved(population), t.results.c.step >= from_step)

    @retried
    def best_saved_results(self, population: int, count: int, maximize: bool) -> list[ResultRecord]:
        r = t.results.c
        score = r.score.desc() if maximize else r.score.asc()
        return self._results(*self._saved(population), order=(score, r.id), limit=count)

    @staticmethod
    def _saved(population: int) -> tuple[Any, ...]:
        r = t.results.c
        return r.population_id == population, r.ready.is_(True), r.checkpoint.is_not(None)

    def _results(
        self, *where: Any, order: tuple[Any, ...] = (t.results.c.id,), limit: int | None = None
    ) -> list[ResultRecord]:
        query = sa.select(t.results).where(*where).order_by(*order).limit(limit)
        with self._read() as c:
            rows = c.execute(query).all()
        return [
            ResultRecord(
                row.id,
                row.member_id,
                row.generation,
                row.step,
                row.score,
                bool(row.ready),
                row.checkpoint,
                row.created_at,
                row.owner,
            )
            for row in rows
        ]

    @retried
    def decisions(self, population: int) -> list[DecisionRecord]:
        d = t.decisions.c
        with self._read() as c:
            rows = c.execute(
                sa.select(t.decisions).where(d.population_id == population).order_by(d.id)
            ).all()
        return [
            DecisionRecord(
                row.id,
                row.member_id,
                row.generation,
                row.step,
                decision_from_dict(json.loads(row.decision)),
                tuple(tuple(x) for x in json.loads(row.compared)),
                row.watermark,
                row.created_at,
            )
            for row in rows
        ]
