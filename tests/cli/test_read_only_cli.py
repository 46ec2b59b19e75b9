"""``status``, ``show``, ``export``, ``plot`` and ``best`` only read: no database file changes by
one byte."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _subprocess import run, started

import populace as pop
from populace.errors import StorageError
from populace.storage import SQLStorage
from tests.cli.test_cli import SPACE, TOY, populace

TRAIN = "def train(member):\n    member.report(member.budget, 1.0)\n"

SETTINGS = ["--population", "2", "--budget", "4", "--interval", "2"]


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        member.report(step, float(step), checkpoint={"step": step})


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (by path) and a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read_commands(url: str, out: Path) -> dict[str, list[str]]:
    return {
        "status": ["status", "--storage", url],
        "status NAME": ["status", "--storage", url, "toy"],
        "status --json": ["status", "--storage", url, "--json"],
        "status NAME --json": ["status", "--storage", url, "toy", "--json"],
        "show": ["show", "--storage", url, "toy", "0"],
        "show --json": ["show", "--storage", url, "toy", "1", "--json"],
        "best": ["best", "--storage", url, "toy"],
        "export": ["export", "--storage", url, "toy", "--out", str(out)],
        "plot": ["plot", "--storage", url, "toy", "--out", str(out)],
    }


@pytest.mark.parametrize("kind", ["foreign", "empty"])
def test_a_file_of_another_program_is_left_as_it_was(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    database = folder / "other.db"
    if kind == "foreign":
        with sqlite3.connect(database) as c:
            c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
            c.execute("INSERT INTO notes (text) VALUES ('mine')")
        c.close()
    else:
        database.write_bytes(b"")
    before = _fingerprint(folder)
    for name, command in _read_commands(f"sqlite:///{database}", tmp_path / "out").items():
        done = populace(*command, cwd=tmp_path)
        assert done.returncode == 1, f"{name}: {done.stdout}"
        assert done.stderr == (
            f"error: storage sqlite:///{database} is not a populace database (it has no "
            "populace tables)\n"
        ), name
        assert _fingerprint(folder) == before, f"{name} changed the folder"
    assert not (tmp_path / "out").exists()


def test_a_populace_database_is_read_byte_for_byte_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'runs.db'}"
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    result = pop.run(
        _train, space, population=2, budget=4, interval=2, name="toy", storage=url, progress=False
    )
    result.storage.close()
    before = _fingerprint(folder)
    for name, command in _read_commands(url, tmp_path / "out").items():
        done = populace(*command, cwd=tmp_path)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        assert _fingerprint(folder) == before, f"{name} changed the database's folder"


def test_status_reads_a_database_a_live_run_writes(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(TOY)
    database = tmp_path / "runs.db"
    url = f"sqlite:///{database}"
    command = [sys.executable, "-m", "populace.cli", "run", "slow.py:train", "--name", "toy"]
    command += [*SETTINGS, "--budget", "40", "--space", json.dumps(SPACE), "--storage", url]
    pipe = subprocess.PIPE
    slow = {**os.environ, "STEP_SECONDS": "0.05"}
    with started(command, cwd=tmp_path, env=slow, stdout=pipe, stderr=pipe) as live:
        deadline = time.monotonic() + 60
        while not _has_results(database) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live.poll() is None, "the run ended before status could read it"
        assert (tmp_path / "runs.db-wal").exists(), "the run's writes are in its WAL"
        for _ in range(3):
            done = populace("status", "--storage", url, "toy", cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            assert "running" in done.stdout
        assert live.poll() is None, "status was read while the run trained"
        _out, err = live.communicate(timeout=120)
        assert live.returncode == 0, err
    assert sorted(p.name for p in tmp_path.glob("runs.db*")) == ["runs.db"]
    final = populace("status", "--storage", url, "toy", cwd=tmp_path)
    assert final.returncode == 0 and "finished" in final.stdout


def _has_results(database: Path) -> bool:
    if not database.exists():
        return False
    try:
        storage = SQLStorage(f"sqlite:///{database}", read_only=True)
    except StorageError:  # no tables yet
        return False
    try:
        return any(storage.results(p.id) for p in storage.list_populations())
    finally:
        storage.close()


# -- a read-only database file ---------------------------------------------------------------------
# Root may write any file, so under root the commands run as the user nobody.


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("under root, needs setpriv to run commands as an unprivileged user")
    nobody = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder every user may write (tmp_path lies in root's private folder)."""
    folder = Path(tempfile.mkdtemp(prefix="populace-ro-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def _as_user(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [*_unprivileged(), sys.executable, "-m", "populace.cli", *args]
    env = {**os.environ, "HOME": str(cwd), "NO_COLOR": "1"}
    return run(command, cwd=cwd, timeout=120, env=env)


def test_a_read_only_database_is_read_and_later_resumed(shared: Path) -> None:
    (shared / "toy.py").write_text(TRAIN)
    database = shared / "runs.db"
    url = f"sqlite:///{database}"
    create = ["run", "toy.py:train", "--name", "toy", *SETTINGS, "--space", json.dumps(SPACE)]
    created = _as_user(*create, "--storage", url, "--workers", "0", cwd=shared)
    if created.returncode != 0 and "Permission denied" in created.stderr:
        pytest.skip(f"the unprivileged user cannot run this Python: {created.stderr[-300:]}")
    assert created.returncode == 0, created.stderr
    database.chmod(0o444)
    listing = sorted(p.name for p in shared.iterdir())
    for command in (["status"], ["status", "toy"], ["show", "toy", "1"], ["best", "toy"]):
        done = _as_user(command[0], "--storage", url, *command[1:], cwd=shared)
        assert done.returncode == (1 if command[0] == "best" else 0), done.stderr
        assert sorted(p.name for p in shared.iterdir()) == listing, "a file was left beside it"
    refused = _as_user("resume", "--storage", url, "toy", "toy.py:train", cwd=shared)
    assert refused.returncode == 1
    assert refused.stderr.endswith(
        f"error: the database {database} is read-only: this process may not write the file "
        "(make it writable)\n"
    ), refused.stderr
    assert sorted(p.name for p in shared.iterdir()) == listing
    database.chmod(0o644)
    resumed = _as_user("resume", "--storage", url, "toy", "toy.py:train", "--quiet", cwd=shared)
    assert resumed.returncode == 0, resumed.stderr
    assert "best member" in resumed.stdout


def test_export_into_a_folder_without_permission_is_one_line(shared: Path) -> None:
    url = f"sqlite:///{shared / 'runs.db'}"
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    result = pop.run(
        _train, space, population=2, budget=4, interval=2, name="toy", storage=url, progress=False
    )
    result.storage.close()
    for path in shared.rglob("*"):
        path.chmod(0o777 if path.is_dir() else 0o666)
    closed = shared / "closed"
    closed.mkdir(mode=0o555)
    closed.chmod(0o555)
    for command in ("export", "plot"):
        done = _as_user(command, "--storage", url, "toy", "--out", str(closed / "out"), cwd=shared)
        assert done.returncode == 1
        assert done.stderr == (
            f"error: cannot write into the folder {closed / 'out'}: Permission denied "
            f"({closed / 'out'})\n"
        )
