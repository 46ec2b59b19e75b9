"""Nothing stored is lost when run folders are copied or moved, checkpoint folders are shared by
databases, or checkpoints would not outlive the process: end to end, with real processes.

Each scenario starts ``populace run`` with two workers, SIGKILLs it halfway (a crash), plays
with the files as a user would, and resumes. "Nothing lost" means every ready-point result
stored before the crash is still there afterwards, unchanged: no member was sent back to an
earlier checkpoint, or to its start, because a checkpoint had vanished.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from _subprocess import run, started

from tests.cli.test_cli import TOY

SPACE = json.dumps({"lr": {"type": "LogUniform", "low": 1e-3, "high": 0.5}})
LOSS_SIGNS = ("is missing", "goes back to its start", "is damaged")

pytestmark = pytest.mark.slow


def _command(storage: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "populace.cli", "run", "train.py:train", "--name", "run",
        "--space", SPACE, "--population", "4", "--budget", "40", "--interval", "5",
        "--workers", "2", "--storage", storage, *extra,
    ]  # fmt: skip


def _sqlite(folder: Path) -> str:
    return f"sqlite:///{folder / 'runs.db'}"


def _ready(storage: str) -> dict[tuple[int, int, int], tuple[int, float]]:
    """Every ready-point result: (member, generation, step) -> (row id, score)."""
    import populace as pop

    population = pop.load(storage, "run")
    results = population.storage.results(population.id)
    population.storage.close()
    return {(r.member, r.generation, r.step): (r.id, r.score) for r in results if r.ready}


def _crash_halfway(folder: Path, storage: str, *extra: str) -> dict:
    """Train until 8 ready points are stored, SIGKILL every process, return what was stored."""
    (folder / "train.py").write_text(TOY)
    env = {**os.environ, "STEP_SECONDS": "0.02"}
    with started(_command(storage, *extra), cwd=folder, env=env) as driver:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            if _count_ready(storage) >= 8:
                break
            time.sleep(0.1)
        assert driver.poll() is None, "the run ended before it could be crashed"
        os.killpg(driver.pid, signal.SIGKILL)
    stored = _ready(storage)
    assert len(stored) >= 8
    return stored


def _count_ready(storage: str) -> int:
    import populace as pop

    try:
        return len(_ready(storage))
    except pop.PopulaceError:  # not created yet
        return 0


def _finish(folder: Path, storage: str, *extra: str) -> str:
    done = run(_command(storage, *extra), cwd=folder, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not any(sign in output for sign in LOSS_SIGNS), output
    return output


def _refused(folder: Path, storage: str, *extra: str) -> str:
    done = run(_command(storage, *extra), cwd=folder, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    return line


def _nothing_lost(before: dict, storage: str) -> None:
    import populace as pop

    after = _ready(storage)
    assert {key: after.get(key) for key in before} == before
    population = pop.load(storage, "run")
    assert [m.state for m in population.members()] == ["finished"] * 4
    population.storage.close()


def _blobs(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("objects/*/*")}


def test_a_copied_run_folder_resumes_in_both_places(tmp_path: Path) -> None:
    original, copy = tmp_path / "a", tmp_path / "b"
    original.mkdir()
    before = _crash_halfway(original, _sqlite(original))
    shutil.copytree(original, copy)
    blobs = _blobs(original)

    _finish(copy, _sqlite(copy))
    _nothing_lost(before, _sqlite(copy))
    assert _blobs(original) == blobs  # the copy wrote into, and collected, its own folder only
    _finish(original, _sqlite(original))
    _nothing_lost(before, _sqlite(original))


def test_a_moved_run_folder_resumes_where_it_now_lies(tmp_path: Path) -> None:
    original, moved = tmp_path / "a", tmp_path / "b"
    original.mkdir()
    before = _crash_halfway(original, _sqlite(original))
    original.rename(moved)

    _finish(moved, _sqlite(moved))
    _nothing_lost(before, _sqlite(moved))
    assert not original.exists()  # the old place is not made again


def test_a_checkpoint_folder_is_not_shared_by_two_databases(tmp_path: Path) -> None:
    first, second, shared = tmp_path / "a", tmp_path / "b", tmp_path / "shared"
    first.mkdir()
    second.mkdir()
    (second / "train.py").write_text(TOY)
    before = _crash_halfway(first, _sqlite(first), "--checkpoints", str(shared))
    blobs = _blobs(shared)

    error = _refused(second, _sqlite(second), "--checkpoints", str(shared))
    assert "belongs to another database" in error and str(first / "runs.db") in error
    assert _blobs(shared) == blobs
    _finish(first, _sqlite(first), "--checkpoints", str(shared))
    _nothing_lost(before, _sqlite(first))


def test_sqlite_and_postgresql_databases_do_not_share_a_folder(
    tmp_path: Path, postgres_url: str
) -> None:
    first, shared = tmp_path / "a", tmp_path / "shared"
    first.mkdir()
    before = _crash_halfway(first, _sqlite(first), "--checkpoints", str(shared))
    error = _refused(first, postgres_url, "--checkpoints", str(shared))
    assert "belongs to another database" in error
    _finish(first, _sqlite(first), "--checkpoints", str(shared))
    _nothing_lost(before, _sqlite(first))


def test_a_copied_database_is_refused_the_store_its_original_uses(tmp_path: Path) -> None:
    original, copy, outside = tmp_path / "a", tmp_path / "b", tmp_path / "outside" / "ckpt"
    original.mkdir()
    before = _crash_halfway(original, _sqlite(original), "--checkpoints", str(outside))
    shutil.copytree(original, copy)
    shutil.copytree(outside, tmp_path / "copied-ckpt")

    error = _refused(copy, _sqlite(copy))
    assert "is a copy of" in error and "Copy the checkpoints folder too" in error
    _finish(original, _sqlite(original), "--checkpoints", str(outside))
    _nothing_lost(before, _sqlite(original))
    # given the copy of the folder, the copy resumes on its own
    _finish(copy, _sqlite(copy), "--checkpoints", str(tmp_path / "copied-ckpt"))
    _nothing_lost(before, _sqlite(copy))


def test_a_moved_checkpoint_folder_is_found_when_named(tmp_path: Path) -> None:
    folder, old, new = tmp_path / "a", tmp_path / "old" / "ckpt", tmp_path / "new" / "ckpt"
    folder.mkdir()
    before = _crash_halfway(folder, _sqlite(folder), "--checkpoints", str(old))
    new.parent.mkdir()
    old.rename(new)

    error = _refused(folder, _sqlite(folder))
    assert "none of them is there" in error and "pass checkpoints= its new location" in error
    assert not old.exists()  # nothing made at the old place
    error = _refused(folder, _sqlite(folder), "--checkpoints", str(tmp_path / "elsewhere"))
    assert "leave out checkpoints=" in error
    _finish(folder, _sqlite(folder), "--checkpoints", str(new))
    _nothing_lost(before, _sqlite(folder))
    _finish(folder, _sqlite(folder))  # the new place is recorded: no flag needed any more


def test_checkpoints_in_memory_are_refused_with_a_database_file(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TOY)
    error = _refused(tmp_path, _sqlite(tmp_path), "--checkpoints", "memory://lost/ckpt")
    assert "vanishes when it exits" in error
    with sqlite3.connect(tmp_path / "runs.db") as connection:
        (count,) = connection.execute("SELECT count(*) FROM populace_populations").fetchone()
    assert count == 0
