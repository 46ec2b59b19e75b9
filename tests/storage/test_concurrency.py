"""Race-freedom under real concurrent worker processes, each with its own SQLStorage."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from populace.controller import Continue
from populace.errors import StorageError
from populace.storage import SQLStorage
from populace.testing.storage import CONFIG, PARAMS

PROCESSES, ROUNDS, MEMBERS, KEYS = 4, 40, 3, 8


def _run(target: Callable[..., None], *args: Any) -> list[Any]:
    """Run ``target(*args, i, barrier, queue)`` in spawned processes; return what they put."""
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=target, args=(*args, i, barrier, queue)) for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return outcomes


def _hammer(url: str, population: int, worker: int, barrier: Any, queue: Any) -> None:
    """Claim members, report their next step while holding them, commit the same decisions."""
    outcome: dict[str, Any] = {"holds": [], "decisions": {}, "error": None}
    try:
        storage = SQLStorage(url, retry_seconds=30)
        owner, rng = f"host:{os.getpid()}:{worker}", random.Random(worker)
        barrier.wait(timeout=60)
        for round_ in range(ROUNDS):
            member = rng.randrange(MEMBERS)
            claimed = storage.claim(population, member, owner, until=1e12, now=time.time())
            if claimed is not None:
                start = time.monotonic()
                step = claimed.step + 1
                storage.record_result(
                    population, member, 0, step, step / 10, ready=False, checkpoint=None,
                    now=time.time(), owner=owner,
                )  # fmt: skip
                outcome["holds"].append((member, step, start, time.monotonic()))
                storage.release(population, member, owner)
            key = (round_ * 7 + worker) % (MEMBERS * KEYS)
            decided = storage.commit_decision(
                population, key % MEMBERS, 0, 100 + key, Continue(owner), [], 0, time.time()
            )
            outcome["decisions"][key] = decided.reason
        storage.close()
    except BaseException:
        outcome["error"] = traceback.format_exc()
        barrier.abort()  # the others must not wait for this one
    queue.put(outcome)


@pytest.mark.slow
def test_workers_racing_on_the_same_members(database_url: str) -> None:
    storage = SQLStorage(database_url, retry_seconds=0)
    population = storage.create_population("race", CONFIG, "/ckpt", PARAMS, now=1.0).id
    outcomes = _run(_hammer, database_url, population)
    assert [o["error"] for o in outcomes] == [None] * PROCESSES

    # a member is held by one worker at a time: the holds of each member never overlap
    holds = sorted(hold for o in outcomes for hold in o["holds"])
    by_member: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for member, step, start, end in holds:
        by_member[member].append((step, start, end))
    for member, spans in by_member.items():
        spans.sort(key=lambda span: span[1])
        assert all(a[2] <= b[1] for a, b in itertools.pairwise(spans)), f"member {member} shared"
        # each holder reported the step after the last one: no step is lost or reported twice
        assert [step for step, _, _ in spans] == list(range(1, len(spans) + 1))
    results = storage.results(population)
    assert len(results) == len(holds)
    assert sorted((r.member, r.step) for r in results) == sorted((h[0], h[1]) for h in holds)
    assert all(m.lease_owner is None for m in storage.members(population))

    # one decision per key, and every worker got that one back
    stored = {(d.member, d.step): d.decision.reason for d in storage.decisions(population)}
    assert len(stored) == len(storage.decisions(population))
    for outcome in outcomes:
        for key, reason in outcome["decisions"].items():
            assert stored[(key % MEMBERS, 100 + key)] == reason
    storage.close()


def _open_and_create(url: str, worker: int, barrier: Any, queue: Any) -> None:
    """Open the storage of an empty database, then create the same population, all at once."""
    try:
        barrier.wait(timeout=60)
        storage = SQLStorage(url, retry_seconds=30)
        barrier.wait(timeout=60)
        try:
            storage.create_population("same", CONFIG, "/ckpt", PARAMS, now=float(worker))
            queue.put("created")
        except StorageError as exc:
            queue.put(f"refused: {exc}")
        storage.close()
    except BaseException:
        queue.put(traceback.format_exc())
        barrier.abort()


@pytest.mark.slow
def test_opening_an_empty_database_and_creating_a_name_at_once(database_url: str) -> None:
    outcomes = sorted(_run(_open_and_create, database_url))
    assert outcomes[0] == "created", outcomes
    assert all("refused" in o and "already exists" in o for o in outcomes[1:]), outcomes
    storage = SQLStorage(database_url, retry_seconds=0)
    assert [p.name for p in storage.list_populations()] == ["same"]
    assert len(storage.members(storage.list_populations()[0].id)) == len(PARAMS)
    with storage._engine.connect() as c:
        keys = c.execute(sa.text("SELECT key FROM populace_meta ORDER BY key")).scalars()
        assert list(keys) == ["schema_version", "storage_id"]  # one schema, made once
    storage.close()
