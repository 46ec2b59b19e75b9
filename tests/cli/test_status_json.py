"""``populace status --json``: what the tables show, as one JSON object that scripts parse."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

import populace as pop
from populace.storage import SQLStorage
from tests.cli.test_cli import ok, populace
from tests.cli.test_show import FAILS, _failing_climb
from tests.runtime.workloads import SPACE, climb

MEMBER_KEYS = {
    "member", "state", "step", "generation", "score", "params", "parent", "lease_owner", "role",
    "evaluating",
}  # fmt: skip
WORKER_KEYS = {
    "worker", "host", "pid", "started_at", "last_seen", "stopped_at", "lease_seconds", "members",
    "state", "why",
}  # fmt: skip


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Population ``toy`` (member 1 failed, three workers: running, stopped, dead) and FIRE
    population ``fire`` in a SQLite file."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('status-json') / 'runs.db'}"
    toy = pop.run(
        _failing_climb, SPACE, population=4, budget=20, interval=5, name="toy",
        storage=storage, progress=False,
    )  # fmt: skip
    now, host = time.time(), socket.gethostname()
    toy.storage.register_worker(toy.id, "alive", host, os.getpid(), now, 60.0)
    toy.storage.register_worker(toy.id, "done", host, os.getpid(), now - 50, 60.0)
    toy.storage.stop_worker(toy.id, "done", now - 40)
    toy.storage.register_worker(toy.id, "lost", "another-host", 1, now - 500, 30.0)
    toy.storage.close()
    fire = pop.run(
        climb, SPACE, population=4, budget=10, interval=5, name="fire", storage=storage,
        progress=False, algorithm=pop.FirePBT(evaluators=1),
    )  # fmt: skip
    fire.storage.close()
    return storage


def status(url: str, *args: str, cwd: Path) -> dict[str, Any]:
    return json.loads(ok(populace("status", "--storage", url, *args, "--json", cwd=cwd)))


def test_the_populations_of_a_storage(url: str, tmp_path: Path) -> None:
    data = status(url, cwd=tmp_path)
    assert data["storage"] == url
    assert [p["name"] for p in data["populations"]] == ["toy", "fire"]
    for summary in data["populations"]:
        population = pop.load(url, summary["name"])
        states = [m.state for m in population.members()]
        assert summary == {
            "name": population.name,
            "members": len(states),
            "running": states.count("running"),
            "finished": states.count("finished"),
            "failed": states.count("failed"),
            "best_score": population.best.score,  # type: ignore[union-attr]
        }
    assert data["populations"][0]["failed"] == 1


def test_the_members_of_a_population(url: str, tmp_path: Path) -> None:
    data = status(url, "toy", cwd=tmp_path)
    population = pop.load(url, "toy")
    assert (data["population"], data["storage"], data["fire"]) == ("toy", url, False)
    segments = {(s.member, s.generation): s for s in population.lineage()}
    for row, member in zip(data["members"], population.members(), strict=True):
        assert set(row) == MEMBER_KEYS
        assert (row["member"], row["state"], row["step"], row["generation"]) == (
            member.id, member.state, member.step, member.generation,
        )  # fmt: skip
        assert row["score"] == member.score and row["params"] == member.params
        segment = segments[(member.id, member.generation)]
        parent = None
        if segment.parent_member is not None:
            parent = {"member": segment.parent_member, "step": segment.parent_step}
        assert row["parent"] == parent
        assert row["lease_owner"] is None and row["role"] is None and row["evaluating"] is None
    assert data["members"][FAILS]["state"] == "failed"
    assert any(row["parent"] for row in data["members"]), "no exploit: the test proves little"


def test_the_workers_of_a_population(url: str, tmp_path: Path) -> None:
    workers = {w["worker"]: w for w in status(url, "toy", cwd=tmp_path)["workers"]}
    assert all(set(w) == WORKER_KEYS for w in workers.values())
    assert workers["alive"]["state"] == "running" and workers["alive"]["why"] is None
    assert workers["alive"]["pid"] == os.getpid() and workers["alive"]["stopped_at"] is None
    assert workers["done"]["state"] == "stopped" and workers["done"]["why"] is None
    assert workers["done"]["stopped_at"] < workers["alive"]["started_at"]
    lost = workers["lost"]
    assert (lost["state"], lost["host"]) == ("dead", "another-host")
    assert lost["why"].startswith("not seen for ") and lost["why"].endswith("its 30 s lease")


def test_json_and_the_table_say_the_same(url: str, tmp_path: Path) -> None:
    data = status(url, "toy", cwd=tmp_path)
    table = ok(populace("status", "--storage", url, "toy", cwd=tmp_path)).splitlines()
    members = [line.split()[:3] for line in table[2 : 2 + len(data["members"])]]
    assert members == [[str(m["member"]), m["state"], str(m["step"])] for m in data["members"]]
    workers = {line.split()[0]: line for line in table[2 + len(data["members"]) :] if line}
    assert set(workers) == {"workers", "worker"} | {w["worker"] for w in data["workers"]}
    assert workers["alive"].endswith(" running")
    assert " stopped " in workers["done"]
    assert " dead (not seen for " in workers["lost"]


def test_fire_pbt_roles(url: str, tmp_path: Path) -> None:
    data = status(url, "fire", cwd=tmp_path)
    assert data["fire"] is True
    assert [m["role"] for m in data["members"]] == ["P1", "P1", "P2", "P2", "evaluator"]
    assert all(m["evaluating"] is None for m in data["members"])  # finished: none evaluating


def test_an_empty_storage(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    SQLStorage(empty).close()
    assert status(empty, cwd=tmp_path) == {"storage": empty, "populations": []}


def test_the_keys_are_documented(tmp_path: Path) -> None:
    text = ok(populace("status", "--help", cwd=tmp_path))
    for key in sorted(MEMBER_KEYS | WORKER_KEYS | {"best_score", "populations", "fire"}):
        assert key in text, key
