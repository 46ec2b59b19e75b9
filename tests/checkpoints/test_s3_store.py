"""The fsspec store on an object store (S3 over HTTP): direct writes, credentials, whole runs."""

from __future__ import annotations

import os
import sys
import textwrap
import time
import traceback
from pathlib import Path
from typing import Any

import fsspec
import pytest
from _subprocess import run

import populace as pop
from populace.checkpoints import FsspecCheckpointStore, open_checkpoint_store
from populace.errors import CheckpointError
from tests.runtime.workloads import SPACE, climb

SETTINGS = dict(population=4, budget=24, interval=4, seed=3, progress=False)
PASSWORD = "hunter2"


def keys(options: dict[str, Any], url: str) -> list[str]:
    return sorted(fsspec.filesystem("s3", **options).find(url.removeprefix("s3://")))


def test_blobs_go_straight_to_their_final_key(s3_server: dict[str, Any], s3_url: str) -> None:
    store = FsspecCheckpointStore(s3_url, **s3_server)
    refs = [store.put_bytes(b"x" * size) for size in (1, 2, 3)]
    assert keys(s3_server, s3_url) == sorted(
        f"{s3_url.removeprefix('s3://')}/objects/{r[7:9]}/{r[9:]}" for r in refs
    )  # no tmp/ key was ever written, nor left behind
    assert store.remove_stale_temp_files(older_than_s=0.0) == 0
    assert store.uri == s3_url and not store.process_local


def test_a_corrupted_object_is_detected(s3_server: dict[str, Any], s3_url: str) -> None:
    store = FsspecCheckpointStore(s3_url, **s3_server)
    ref = store.put({"step": 40})
    (key,) = keys(s3_server, s3_url)
    fsspec.filesystem("s3", **s3_server).pipe_file(key, b"POPCKPT1 but not the same bytes")
    with pytest.raises(CheckpointError, match=f"checkpoint {ref} of member 3 at step 40 is corr"):
        store.get(ref, context="member 3 at step 40")


def test_a_password_in_the_url_is_masked_in_the_backend_errors(
    s3_server: dict[str, Any], s3_url: str
) -> None:
    url = s3_url.replace("s3://", f"s3://AKIAEXAMPLE:{PASSWORD}@")  # s3fs reads no credentials here
    store = FsspecCheckpointStore(url, **s3_server)
    assert repr(store) == f"FsspecCheckpointStore({url.replace(PASSWORD, '***')!r})"
    with pytest.raises(CheckpointError) as info:
        store.put_bytes(b"payload")
    assert "cannot write checkpoint" in str(info.value)
    assert PASSWORD not in "".join(traceback.format_exception(info.value))


def test_without_s3fs_the_error_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["s3fs"] = None  # as if s3fs were not installed
        from populace.checkpoints import open_checkpoint_store
        from populace.errors import CheckpointError
        try:
            open_checkpoint_store("s3://AKIAEXAMPLE:hunter2@bucket/ckpt")
        except CheckpointError as exc:
            print(exc)
        """
    )
    done = run([sys.executable, "-c", code], timeout=60, check=True)
    assert "checkpoint store s3://AKIAEXAMPLE:***@bucket/ckpt needs a package" in done.stdout
    assert "s3fs" in done.stdout and PASSWORD not in done.stdout


def test_a_run_on_s3_is_reopened_with_credentials_from_the_environment(
    s3_server: dict[str, Any], s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What FSSPEC_S3_ENDPOINT_URL, FSSPEC_S3_KEY and FSSPEC_S3_SECRET set when fsspec loads.
    monkeypatch.setitem(fsspec.config.conf, "s3", s3_server)
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    result = pop.run(climb, SPACE, storage=storage, checkpoints=s3_url, name="climb", **SETTINGS)

    loaded = pop.load(storage, "climb")
    assert isinstance(loaded.checkpoints, FsspecCheckpointStore)
    assert loaded.checkpoints.uri == s3_url
    assert loaded.best is not None and loaded.best.checkpoint is not None
    assert loaded.best.checkpoint.load()["step"] == 24
    saved = {r.checkpoint for r in result.results() if r.checkpoint is not None}
    assert set(open_checkpoint_store(s3_url).refs()) < saved  # collected on S3


def climb_in_two_processes(member: pop.Member) -> None:
    """``climb``, once two processes have started training, so that both use the store."""
    folder = Path(os.environ["POPULACE_TEST_BARRIER"])
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 60.0
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    climb(member)


@pytest.mark.slow
def test_worker_processes_share_an_s3_store(
    s3_server: dict[str, Any], s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(fsspec.config.conf, "s3", s3_server)
    for option, value in s3_server.items():  # the worker processes' fsspec reads these
        monkeypatch.setenv(f"FSSPEC_S3_{option.upper()}", value)
    (tmp_path / "barrier").mkdir()
    monkeypatch.setenv("POPULACE_TEST_BARRIER", str(tmp_path / "barrier"))
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    result = pop.run(
        climb_in_two_processes, SPACE, storage=storage, checkpoints=s3_url, workers=2, **SETTINGS
    )
    assert [m.state for m in result.members()] == ["finished"] * 4
    assert len({r.owner for r in result.results()}) == 2
    assert result.best is not None and result.best.checkpoint is not None
    assert result.best.checkpoint.load()["step"] == 24
