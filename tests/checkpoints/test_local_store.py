"""What only the local store does: its folder layout, fsync failures, worker processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _subprocess import started

from populace.checkpoints import LocalCheckpointStore
from populace.errors import CheckpointError


def object_files(store: LocalCheckpointStore) -> list[Path]:
    return sorted(p for p in (Path(store.uri) / "objects").rglob("*") if p.is_file())


def temp_files(store: LocalCheckpointStore) -> list[Path]:
    return sorted((Path(store.uri) / "tmp").iterdir())


def test_local_layout_and_uri(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path / "a" / "b")
    ref = store.put_bytes(b"x")
    digest = ref.removeprefix("sha256:")
    assert store.uri == str(tmp_path / "a" / "b")
    assert object_files(store) == [tmp_path / "a" / "b" / "objects" / digest[:2] / digest[2:]]
    assert temp_files(store) == []
    assert repr(store) == f"LocalCheckpointStore({str(tmp_path / 'a' / 'b')!r})"


def test_a_relative_root_becomes_an_absolute_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert LocalCheckpointStore("ckpt").uri == str(tmp_path / "ckpt")


def test_a_corrupted_blob_on_disk_is_detected(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    ref = store.put({"w": np.ones(4)})
    (path,) = object_files(store)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as info:
        store.get(ref, context="member 3 at step 40")
    assert f"checkpoint {ref} of member 3 at step 40 is corrupted" in str(info.value)


def test_a_truncated_blob_is_rewritten_by_the_next_put(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    ref = store.put_bytes(b"complete content")
    (path,) = object_files(store)
    path.write_bytes(b"compl")
    assert store.put_bytes(b"complete content") == ref
    assert store.get_bytes(ref) == b"complete content"


def test_refs_ignores_stray_files(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    ref = store.put_bytes(b"x")
    (tmp_path / "objects" / "zz").mkdir()
    (tmp_path / "objects" / "zz" / "notes.txt").write_text("hi")
    (tmp_path / "objects" / "README").write_text("hi")
    assert list(store.refs()) == [ref]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store = LocalCheckpointStore(tmp_path)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, disk_full)
    with pytest.raises(CheckpointError) as info:
        store.put_bytes(b"payload")
    assert str(tmp_path) in str(info.value)
    assert "No space left on device" in str(info.value)
    monkeypatch.undo()
    assert object_files(store) == []
    assert temp_files(store) == []
    assert list(store.refs()) == []


def test_an_uncreatable_root_raises(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="cannot create a checkpoint store"):
        LocalCheckpointStore(tmp_path / "file" / "store")


def test_concurrent_puts_of_the_same_content_from_processes(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        from populace.checkpoints import LocalCheckpointStore
        store = LocalCheckpointStore({str(tmp_path)!r})
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
    store = LocalCheckpointStore(tmp_path)
    (ref,) = {ref for output in outputs for ref in output}
    assert store.get(ref) == {"w": list(range(1000))}
    assert len(object_files(store)) == 1
    assert temp_files(store) == []
