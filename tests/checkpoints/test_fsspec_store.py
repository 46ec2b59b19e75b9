"""What only the fsspec store does: its layout on memory and file systems, temp files, secrets."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import textwrap
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fsspec
import numpy as np
import pytest
from _subprocess import started

from populace.checkpoints import FsspecCheckpointStore, GarbageReport, collect_garbage
from populace.errors import CheckpointError

PASSWORD = "hunter2"


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A fresh folder of the process-wide memory filesystem, removed afterwards.

    Removed too: top folders naming it after credentials (``/alice:pw@<name>``).
    """
    name = f"fsspec-{uuid.uuid4().hex}"
    yield f"/{name}"
    fs = fsspec.filesystem("memory")
    for path in fs.ls("/", detail=False):
        if name in path:
            fs.rm(path, recursive=True)


@pytest.fixture(params=["memory", "file"])
def where(request: pytest.FixtureRequest, memory_root: str, tmp_path: Path) -> tuple[str, str]:
    """A store URL and the path of its root in its filesystem, on memory and on local disk."""
    if request.param == "memory":
        return f"memory://{memory_root}/store", f"{memory_root}/store"
    return f"file://{tmp_path}/store", f"{tmp_path}/store"


def files(protocol: str, folder: str) -> list[str]:
    return sorted(fsspec.filesystem(protocol).find(folder))


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0]


def test_layout_uri_and_repr(memory_root: str) -> None:
    store = FsspecCheckpointStore(f"memory://{memory_root}/a/b/")
    ref = store.put_bytes(b"x")
    digest = ref.removeprefix("sha256:")
    assert store.uri == f"memory://{memory_root}/a/b"
    assert repr(store) == f"FsspecCheckpointStore('memory://{memory_root}/a/b/')"
    assert files("memory", f"{memory_root}/a/b") == [
        f"{memory_root}/a/b/objects/{digest[:2]}/{digest[2:]}"
    ]
    assert store.process_local


def test_a_corrupted_blob_is_detected(where: tuple[str, str]) -> None:
    url, root = where
    store = FsspecCheckpointStore(url)
    ref = store.put({"w": np.ones(4)})
    fs = fsspec.filesystem(protocol_of(url))
    (path,) = files(protocol_of(url), f"{root}/objects")
    data = bytearray(fs.cat_file(path))
    data[len(data) // 2] ^= 0x01
    fs.pipe_file(path, bytes(data))
    with pytest.raises(CheckpointError) as info:
        store.get(ref, context="member 3 at step 40")
    assert f"checkpoint {ref} of member 3 at step 40 is corrupted" in str(info.value)


def test_a_truncated_blob_is_rewritten_by_the_next_put(where: tuple[str, str]) -> None:
    url, root = where
    store = FsspecCheckpointStore(url)
    ref = store.put_bytes(b"complete content")
    (path,) = files(protocol_of(url), f"{root}/objects")
    fsspec.filesystem(protocol_of(url)).pipe_file(path, b"compl")
    assert store.put_bytes(b"complete content") == ref
    assert store.get_bytes(ref) == b"complete content"


def test_refs_ignores_stray_files(memory_root: str) -> None:
    store = FsspecCheckpointStore(f"memory://{memory_root}")
    ref = store.put_bytes(b"x")
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"{memory_root}/objects/zz/notes.txt", b"hi")
    fs.pipe_file(f"{memory_root}/objects/README", b"hi")
    fs.pipe_file(f"{memory_root}/objects/abc/" + "d" * 61, b"hi")  # 64 hex, wrong split
    fs.pipe_file(f"{memory_root}/objects/ab/cd/" + "e" * 62, b"hi")  # too deep
    assert list(store.refs()) == [ref]


def _age(url: str, path: str, seconds: float) -> None:
    """Make the file ``path`` look ``seconds`` old."""
    if url.startswith("memory://"):
        fs = fsspec.filesystem("memory")
        fs.store[path].modified = datetime.now(tz=timezone.utc) - timedelta(seconds=seconds)
    else:
        then = time.time() - seconds
        os.utime(path, (then, then))


def test_a_crash_between_writing_the_temp_file_and_moving_it_leaves_no_blob(
    where: tuple[str, str],
) -> None:
    url, root = where
    store = FsspecCheckpointStore(url)
    fs = fsspec.filesystem(protocol_of(url))
    data = b"half-written checkpoint"
    ref = "sha256:" + hashlib.sha256(data).hexdigest()
    crashed = f"{root}/tmp/{ref[7:23]}-{uuid.uuid4().hex}.tmp"  # named as a writer names it
    fresh = f"{root}/tmp/{'0' * 16}-{uuid.uuid4().hex}.tmp"
    fs.pipe_file(crashed, data[:7])
    fs.pipe_file(fresh, b"in flight")
    _age(url, crashed, 7200)

    assert list(store.refs()) == []
    assert not store.exists(ref)
    with pytest.raises(CheckpointError, match="is missing"):
        store.get_bytes(ref)
    assert collect_garbage(store, keep=()) == GarbageReport(kept=0, deleted=0, freed_bytes=7)
    assert files(protocol_of(url), f"{root}/tmp") == [fresh]
    assert store.put_bytes(data) == ref  # the interrupted write, done again, lands whole
    assert store.get_bytes(ref) == data


@pytest.mark.parametrize("failing", ["open", "mv"])
def test_a_failed_write_leaves_nothing_behind(
    where: tuple[str, str], monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    url, root = where
    store = FsspecCheckpointStore(url)
    fs = fsspec.filesystem(protocol_of(url))  # the instance the store uses: fsspec caches it
    real_open = fs.open

    def disk_full(path: str, mode: str = "rb", **kwargs: object) -> object:
        if failing == "mv" or "w" not in mode:
            raise OSError(28, "No space left on device")
        file = real_open(path, mode, **kwargs)
        file.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fs, failing, disk_full)
    with pytest.raises(CheckpointError) as info:
        store.put_bytes(b"payload")
    monkeypatch.undo()
    assert "cannot write checkpoint sha256:" in str(info.value)
    assert url in str(info.value) and "No space left on device" in str(info.value)
    assert files(protocol_of(url), root) == []
    assert list(store.refs()) == []


@pytest.mark.slow
def test_concurrent_puts_of_the_same_content_from_processes(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    code = textwrap.dedent(
        f"""
        from populace.checkpoints import FsspecCheckpointStore
        store = FsspecCheckpointStore({url!r})
        for _ in range(20):
            print(store.put({{"w": list(range(1000))}}))
        """
    )
    with contextlib.ExitStack() as stack:
        workers = [
            stack.enter_context(started([sys.executable, "-c", code], stdout=subprocess.PIPE))
            for _ in range(4)
        ]
        outputs = [worker.communicate(timeout=60)[0].split() for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    store = FsspecCheckpointStore(url)
    (ref,) = {ref for output in outputs for ref in output}
    assert store.get(ref) == {"w": list(range(1000))}
    assert len(files("file", f"{tmp_path}/objects")) == 1
    assert files("file", f"{tmp_path}/tmp") == []


def test_garbage_collection_keeps_exactly_the_keep_set(memory_root: str) -> None:
    store = FsspecCheckpointStore(f"memory://{memory_root}")
    refs = [store.put_bytes(b"x" * size) for size in (10, 20, 30, 40, 50)]
    report = collect_garbage(store, keep=[refs[1], refs[3], "sha256:" + "f" * 64])
    assert report == GarbageReport(kept=2, deleted=3, freed_bytes=10 + 30 + 50)
    assert set(store.refs()) == {refs[1], refs[3]}
    assert store.get_bytes(refs[3]) == b"x" * 40


def _shown(error: BaseException) -> str:
    """Everything a traceback of ``error`` prints, chained exceptions included."""
    return "".join(traceback.format_exception(error))


def test_a_password_in_the_url_is_masked_and_never_recorded(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"memory://alice:{PASSWORD}@{memory_root[1:]}/store"
    store = FsspecCheckpointStore(url)
    assert PASSWORD not in repr(store) and "alice:***@" in repr(store)
    assert store.uri == f"memory://alice@{memory_root[1:]}/store"
    ref = store.put_bytes(b"kept")  # the password is part of the memory path: it is used
    assert store.get_bytes(ref) == b"kept"

    missing = "sha256:" + "0" * 64
    errors = []
    for call in (lambda: store.get_bytes(missing, "member 1"), lambda: store.size(missing)):
        with pytest.raises(CheckpointError) as info:
            call()
        errors.append(info.value)
    fs = fsspec.filesystem("memory")

    def refused(path: str, *args: object, **kwargs: object) -> None:
        raise PermissionError(f"access denied to {path}")  # quotes the path with the password

    monkeypatch.setattr(fs, "cat_file", refused)
    with pytest.raises(CheckpointError) as info:
        store.get_bytes(ref)
    errors.append(info.value)
    assert "access denied to" in str(info.value)
    for error in errors:
        assert "alice:***@" in str(error)
        assert PASSWORD not in _shown(error)


def test_a_percent_encoded_password_is_masked_in_both_forms(memory_root: str) -> None:
    store = FsspecCheckpointStore(f"memory://bob:p%40ss@{memory_root[1:]}")
    with pytest.raises(CheckpointError) as info:
        store.get_bytes("sha256:" + "0" * 64)
    assert "p%40ss" not in _shown(info.value) and "p@ss" not in repr(store)
    assert store.uri == f"memory://bob@{memory_root[1:]}"
