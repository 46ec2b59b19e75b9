"""pop.run, pop.load, pop.replay and the CLI with checkpoints on an fsspec URL, end to end."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from _subprocess import run

import populace as pop
from populace.checkpoints import FsspecCheckpointStore, LocalCheckpointStore
from populace.executors import ProcessesExecutor
from populace.runtime._retention import population_keep
from populace.storage import SQLStorage
from tests.cli.test_cli import TOY
from tests.runtime.workloads import SPACE, climb

SETTINGS = dict(population=4, budget=24, interval=4, seed=3, progress=False)
PASSWORD = "hunter2"


@pytest.fixture
def name() -> Iterator[str]:
    """A fresh top folder of the process-wide memory filesystem, removed afterwards."""
    folder = f"runs-{uuid.uuid4().hex[:12]}"
    yield folder
    fs = fsspec.filesystem("memory")
    for path in fs.ls("/", detail=False):
        if folder in path:
            fs.rm(path, recursive=True)


def _assert_trained(result: pop.Population) -> None:
    assert [m.state for m in result.members()] == ["finished"] * 4
    best = result.best
    assert best is not None and best.checkpoint is not None
    assert best.checkpoint.load()["step"] == 24


def test_a_serial_run_keeps_its_checkpoints_on_the_memory_filesystem(name: str) -> None:
    url = f"memory://{name}/ckpt"
    result = pop.run(climb, SPACE, storage="memory", checkpoints=url, **SETTINGS)

    _assert_trained(result)
    store = result.checkpoints
    assert isinstance(store, FsspecCheckpointStore) and store.uri == url
    refs = set(store.refs())
    saved = {r.checkpoint for r in result.results() if r.checkpoint is not None}
    assert refs < saved  # garbage collection ran on the remote store ...
    stored = result.storage.list_populations()[0]
    kept = population_keep(result.storage, stored, result.storage.members(stored.id), keep_best=3)
    assert refs <= kept  # ... and kept these
    assert fsspec.filesystem("memory").find(f"/{name}/ckpt/objects")

    again = pop.load(result.storage, result.name)
    assert isinstance(again.checkpoints, FsspecCheckpointStore) and again.checkpoints.uri == url
    assert again.best is not None and again.best.checkpoint is not None
    assert again.best.checkpoint.load() == result.best.checkpoint.load()  # type: ignore[union-attr]


def test_load_and_replay_reopen_the_url_recorded_in_a_sqlite_file(
    s3_url: str, s3_server: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(fsspec.config.conf, "s3", s3_server)  # as FSSPEC_S3_* variables do
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    pop.run(climb, SPACE, storage=storage, checkpoints=s3_url, name="climb", **SETTINGS)

    loaded = pop.load(storage, "climb")
    assert loaded.checkpoints.uri == s3_url
    _assert_trained(loaded)
    source_refs = set(loaded.checkpoints.refs())
    check = pop.replay(climb, loaded, progress=False)
    assert check.population.checkpoints.uri.startswith("s3://checkpoints/climb-replay")
    assert check.population.best is not None and check.population.best.step == 24
    assert set(loaded.checkpoints.refs()) == source_refs  # the replay's GC kept off them


def test_a_store_in_memory_is_refused_with_a_database_file(name: str, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(pop.ConfigurationError, match="vanishes when it exits"):
        pop.run(climb, SPACE, storage=storage, checkpoints=f"memory://{name}/ckpt", **SETTINGS)
    with sqlite3.connect(tmp_path / "runs.db") as connection:
        (count,) = connection.execute("SELECT count(*) FROM populace_populations").fetchone()
    assert count == 0  # refused before anything was stored


def climb_in_two_processes(member: pop.Member) -> None:
    """``climb``, once two processes have started training, so that both use the store."""
    folder = Path(os.environ["POPULACE_TEST_BARRIER"])
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 60.0
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    climb(member)


@pytest.mark.slow
def test_worker_processes_with_a_sqlite_file_and_a_file_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "barrier").mkdir()
    monkeypatch.setenv("POPULACE_TEST_BARRIER", str(tmp_path / "barrier"))
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    result = pop.run(
        climb_in_two_processes,
        SPACE,
        storage=storage,
        checkpoints=f"file://{tmp_path}/ckpt",
        workers=2,
        name="climb",
        **SETTINGS,
    )
    _assert_trained(result)
    owners = {r.owner for r in result.results()}
    assert len(owners) == 2, owners
    loaded = pop.load(storage, "climb")
    assert isinstance(loaded.checkpoints, LocalCheckpointStore)
    assert loaded.checkpoints.uri == str(tmp_path / "ckpt")
    assert set(loaded.checkpoints.refs()) == set(result.checkpoints.refs())
    assert any((tmp_path / "ckpt" / "objects").iterdir())


def test_worker_processes_refuse_a_store_in_this_process_memory(name: str, tmp_path: Path) -> None:
    controller = pop.Controller(SPACE, budget=24, interval=4)
    population = pop.Population.create(
        SQLStorage(f"sqlite:///{tmp_path / 'runs.db'}"),
        "climb",
        controller,
        4,
        FsspecCheckpointStore(f"memory://{name}/ckpt"),
    )
    with pytest.raises(pop.ConfigurationError, match="cannot see checkpoint store"):
        ProcessesExecutor(2).run(population, climb)


def test_a_password_in_the_checkpoint_url_never_reaches_the_database(name: str) -> None:
    url = f"memory://alice:{PASSWORD}@{name}/ckpt"
    result = pop.run(climb, SPACE, storage="memory", checkpoints=url, **SETTINGS)

    _assert_trained(result)
    assert PASSWORD not in repr(result.checkpoints)
    (record,) = result.storage.list_populations()
    assert record.checkpoints == f"memory://alice@{name}/ckpt"
    connection = result.storage._engine.raw_connection()  # type: ignore[attr-defined]
    dump = "\n".join(connection.driver_connection.iterdump())
    assert f"memory://alice@{name}/ckpt" in dump and PASSWORD not in dump


def test_the_cli_run_takes_a_checkpoint_url(
    tmp_path: Path, s3_url: str, s3_server: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "toy.py").write_text(TOY)
    space = {"lr": {"type": "LogUniform", "low": 1e-3, "high": 0.5}}
    command = ["run", "toy:train", "--space", json.dumps(space), "--quiet"]
    command += ["--population", "3", "--budget", "10", "--interval", "5"]
    command += ["--storage", f"sqlite:///{tmp_path / 'runs.db'}", "--checkpoints", s3_url]
    credentials = {f"FSSPEC_S3_{key.upper()}": value for key, value in s3_server.items()}
    done = run(
        [sys.executable, "-m", "populace.cli", *command],
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, **credentials},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"checkpoint file: {s3_url}/objects/" in done.stdout
    monkeypatch.setitem(fsspec.config.conf, "s3", s3_server)
    loaded = pop.load(f"sqlite:///{tmp_path / 'runs.db'}", "train")
    assert loaded.checkpoints.uri == s3_url
    assert loaded.best is not None and loaded.best.checkpoint is not None
    assert loaded.best.checkpoint.load()["step"] == 10
