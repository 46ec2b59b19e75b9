"""PostgreSQL going away while workers run: restarts, lost answers, deadlocks, no server at all."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _postgres import PostgresServer
from sqlalchemy.engine import make_url

from populace.controller import Continue, Explore
from populace.errors import StorageError
from populace.storage import SQLStorage, get_storage
from populace.testing.storage import CONFIG, PARAMS, REF_A

from ._proxy import CommitLosingProxy

pytest.importorskip("psycopg", reason="needs psycopg: pip install 'populace[postgresql]'")


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]


def _in_background(action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=action)
    thread.start()
    return thread


@pytest.mark.slow
def test_calls_go_on_through_server_restarts(
    postgres_server: PostgresServer, postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SQLStorage(postgres_server_url, retry_seconds=60)
    pid = storage.create_population("restarts", CONFIG, "/ckpt", PARAMS, now=0.0).id
    assert storage.claim(pid, 0, "w", until=1e9, now=0.0)

    def outages() -> None:
        time.sleep(0.3)
        postgres_server.restart()  # pg_ctl restart -m fast: every connection is cut
        time.sleep(0.3)
        postgres_server.stop()
        time.sleep(1.5)  # calls meanwhile find no server at all
        postgres_server.start()

    caplog.set_level(logging.WARNING, logger="populace")
    outage, step = _in_background(outages), 0
    try:
        while outage.is_alive() or step < 60:
            step += 1
            storage.record_result(
                pid, 0, 0, step, step / 100, ready=step % 4 == 0,
                checkpoint=REF_A if step % 4 == 0 else None, now=float(step), owner="w",
            )  # fmt: skip
            assert storage.renew(pid, "w", until=1e9 + step, now=float(step)) == 1
            if step % 4 == 0:
                storage.snapshot(pid, step, 4, recent=2)
                storage.commit_decision(pid, 0, 0, step, Continue("top"), [], step, float(step))
    finally:
        outage.join()
    assert [(r.step, r.score) for r in storage.results(pid)] == [
        (s, s / 100) for s in range(1, step + 1)
    ]
    assert [d.step for d in storage.decisions(pid)] == list(range(4, step + 1, 4))
    member = storage.members(pid)[0]
    assert (member.step, member.lease_owner, member.lease_until) == (step, "w", 1e9 + step)
    retries = _retries(caplog)
    assert retries, "the outage was not noticed"
    assert postgres_server.password not in caplog.text
    assert all("populace:***@" in message for message in retries)


def test_a_write_whose_answer_was_lost_is_not_applied_twice(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    target = make_url(postgres_url)
    assert target.host and target.port
    with CommitLosingProxy(target.host, target.port) as proxy:
        storage = SQLStorage(target.set(port=proxy.port), retry_seconds=30)
        caplog.set_level(logging.WARNING, logger="populace")
        proxy.lose_next_commit()
        pid = storage.create_population("lost", CONFIG, "/ckpt", PARAMS, now=1.0).id
        proxy.lose_next_commit()
        stored = storage.record_result(pid, 0, 0, 4, 0.5, ready=True, checkpoint=REF_A, now=2.0)
        proxy.lose_next_commit()
        failed = storage.record_failure(pid, 1, "Traceback: boom", limit=1, now=3.0)
        proxy.lose_next_commit()
        decision = storage.commit_decision(pid, 0, 0, 4, Explore({"lr": 0.5}, "x"), [], 1, 4.0)
        assert proxy.lost == 4 and len(_retries(caplog)) == 4
    assert [p.name for p in storage.list_populations()] == ["lost"]
    assert [(r.id, r.step) for r in storage.results(pid)] == [(stored, 4)]
    assert failed and storage.members(pid)[1].failures == 1
    assert decision == Explore({"lr": 0.5}, "x") and storage.members(pid)[0].generation == 1
    assert len(storage.decisions(pid)) == 1 and len(storage.segments(pid)) == len(PARAMS) + 1


def test_a_deadlock_victim_runs_again(
    postgres_server: PostgresServer, postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    storage = SQLStorage(postgres_server_url, retry_seconds=30)
    pid = storage.create_population("deadlock", CONFIG, "/ckpt", PARAMS, now=1.0).id
    caplog.set_level(logging.WARNING, logger="populace")

    def connect(autocommit: bool = False) -> psycopg.Connection:
        database = make_url(postgres_server_url).database
        folder, port = str(postgres_server.folder), postgres_server.port
        return psycopg.connect(
            host=folder, port=port, user="postgres", dbname=database, autocommit=autocommit
        )

    other, watcher = connect(), connect(autocommit=True)
    # Only the storage's transaction detects the deadlock (1 s), so it is the one to run again.
    other.execute("SET deadlock_timeout = '30s'")
    other.execute(
        "SELECT 1 FROM populace_members WHERE population_id = %s AND member_id = 2 FOR UPDATE",
        (pid,),
    )

    def decide() -> None:
        decided.append(storage.commit_decision(pid, 2, 0, 4, Explore({"lr": 1.0}, "x"), [], 0, 5.0))

    decided: list[object] = []
    committing = _in_background(decide)
    waiting = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 30
    while watcher.execute(waiting).fetchone() != (1,):  # until the storage holds the decision's
        assert time.monotonic() < deadline  # key and waits for the member row
        time.sleep(0.02)
    watcher.close()
    other.execute(
        "INSERT INTO populace_decisions (population_id, member_id, generation, step, decision,"
        " compared, watermark, created_at) VALUES (%s, 2, 0, 4, '{}', '[]', 0, 0)",
        (pid,),
    )
    other.rollback()
    other.close()
    committing.join()
    assert decided == [Explore({"lr": 1.0}, "x")]
    assert any("deadlock detected" in message for message in _retries(caplog))
    assert storage.members(pid)[2].generation == 1


def test_a_worker_waits_for_the_database_to_come_up(
    postgres_server: PostgresServer, postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    SQLStorage(postgres_server_url, retry_seconds=0).close()
    postgres_server.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="cannot open storage postgresql") as refused:
            SQLStorage(postgres_server_url, retry_seconds=0)
        assert time.monotonic() - started < 5
        assert postgres_server.password not in str(refused.value)
    except BaseException:
        postgres_server.start()
        raise
    caplog.set_level(logging.WARNING, logger="populace")
    starting = _in_background(lambda: _start_later(postgres_server, 1.5))
    try:
        storage = SQLStorage(postgres_server_url, retry_seconds=60)
    finally:
        starting.join()
    assert storage.list_populations() == [] and _retries(caplog)


def _start_later(server: PostgresServer, seconds: float) -> None:
    time.sleep(seconds)
    server.start()


@pytest.mark.parametrize("where", ["user info", "query string"])
def test_a_wrong_password_fails_at_once(postgres_url: str, where: str) -> None:
    url = make_url(postgres_url)
    wrong = (
        url.set(password="not-the-password")
        if where == "user info"
        else url.set(password=None).update_query_dict({"password": "not-the-password"})
    )
    started = time.monotonic()
    with pytest.raises(StorageError, match="password authentication failed") as refused:
        SQLStorage(wrong, retry_seconds=60)
    assert time.monotonic() - started < 5 and "not-the-password" not in str(refused.value)


@pytest.mark.parametrize(
    ("userinfo", "query", "shown"),
    [
        ("alice:pw-s3cret-9", "", "alice:***@127.0.0.1:{port}/runs"),
        ("alice", "?password=pw-s3cret-9", "alice@127.0.0.1:{port}/runs?password=***"),
    ],
)
def test_an_unreachable_server_is_a_clear_error_without_the_password(
    caplog: pytest.LogCaptureFixture, userinfo: str, query: str, shown: str
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://{userinfo}@127.0.0.1:{port}/runs{query}"
    caplog.set_level(logging.WARNING, logger="populace")
    with pytest.raises(StorageError) as refused:
        SQLStorage(url, retry_seconds=0.5)
    message = str(refused.value)
    assert message.startswith(f"cannot open storage postgresql+psycopg://{shown.format(port=port)}")
    assert all(shown.format(port=port) in line for line in _retries(caplog))
    assert "retried for 0.5 s" in message and "Connection refused" in message
    assert len(_retries(caplog)) >= 2
    assert "pw-s3cret-9" not in message and "pw-s3cret-9" not in caplog.text


def test_get_storage_fails_at_once_when_opening_but_retries_after(
    postgres_server: PostgresServer, postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="populace")
    storage = get_storage(postgres_server_url)
    postgres_server.restart()
    assert storage.list_populations() == []  # the pooled connection died, a new one serves
    postgres_server.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="cannot open storage"):
            get_storage(postgres_server_url)
        assert time.monotonic() - started < 5 and not _retries(caplog)
    finally:
        starting = _in_background(lambda: _start_later(postgres_server, 1.0))
    try:
        assert storage.list_populations() == []  # waits for the server
    finally:
        starting.join()
    assert _retries(caplog)


@pytest.mark.slow
def test_worker_processes_started_while_the_database_restarts_wait_for_it(
    postgres_server: PostgresServer, postgres_server_url: str, tmp_path: Path
) -> None:
    """A spawned worker opens the storage when it starts: during an outage it waits, as every
    operation does, instead of failing the run (the faults benchmark saw its driver fail)."""
    import populace as pop
    from tests.runtime.workloads import SPACE, slow_climb

    def outage() -> None:
        time.sleep(0.5)  # the driver has created the population; its workers are starting
        postgres_server.stop()
        time.sleep(3.0)
        postgres_server.start()

    down = _in_background(outage)
    try:
        result = pop.run(
            slow_climb, SPACE, population=4, budget=40, interval=5, workers=3, progress=False,
            storage=postgres_server_url, checkpoints=str(tmp_path / "ckpt"),
        )  # fmt: skip
    finally:
        down.join()
    assert [m.state for m in result.members()] == ["finished"] * 4
    owners = {r.owner for r in result.results()}
    assert len(owners) == 3, owners  # the spawned workers trained too
