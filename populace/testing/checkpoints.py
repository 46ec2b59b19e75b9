"""The checkpoint store contract as a test suite: subclass :class:`CheckpointStoreSuite`.

Every test gets a new, empty store from a ``store`` fixture the subclass provides, and checks one
promise of :class:`~populace.checkpoints.BaseCheckpointStore`. populace runs the suite against
:class:`~populace.checkpoints.LocalCheckpointStore` and
:class:`~populace.checkpoints.FsspecCheckpointStore` (in memory, on local files and on S3).
Requires pytest, and fsspec for the tests that read or damage a blob at its ``location``::

    import pytest
    from populace.checkpoints import LocalCheckpointStore
    from populace.testing import CheckpointStoreSuite

    class TestMyStore(CheckpointStoreSuite):
        @pytest.fixture
        def store(self, tmp_path):
            return LocalCheckpointStore(tmp_path / "store")

Override :meth:`~CheckpointStoreSuite.reopen` for a store that
:func:`~populace.checkpoints.open_checkpoint_store` cannot open from its ``uri``, and
:meth:`~CheckpointStoreSuite.overwrite` for one whose blobs fsspec cannot write at their
``location``.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from populace.checkpoints import (
    BaseCheckpointStore,
    Directory,
    collect_garbage,
    open_checkpoint_store,
)
from populace.errors import CheckpointError

__all__ = ["MALFORMED_REFS", "CheckpointStoreSuite"]

MALFORMED_REFS: list[Any] = [
    "",
    "sha256:",
    "sha256:" + "a" * 63,
    "sha256:" + "a" * 65,
    "sha256:" + "A" * 64,
    "sha256:" + "g" * 64,
    "md5:" + "a" * 64,
    "a" * 64,
    "sha256:../../" + "a" * 58,
    None,
]


def _fsspec() -> Any:
    return pytest.importorskip("fsspec", reason="needs fsspec: pip install 'populace[remote]'")


class CheckpointStoreSuite:
    """The contract of :class:`~populace.checkpoints.BaseCheckpointStore`; subclass it and
    provide a ``store`` fixture that returns (or yields) a new, empty store."""

    def reopen(self, store: BaseCheckpointStore) -> BaseCheckpointStore:
        """The store at ``store.uri`` opened again, as another process of the run opens it."""
        return open_checkpoint_store(store.uri)

    def overwrite(self, store: BaseCheckpointStore, ref: str, data: bytes) -> None:
        """Replace the stored bytes of ``ref`` behind the store's back (damage a blob)."""
        fsspec = pytest.importorskip(
            "fsspec", reason="needs fsspec: pip install 'populace[remote]'"
        )
        with fsspec.open(store.location(ref), "wb") as blob:
            blob.write(data)

    # -- blobs ---------------------------------------------------------------------------------

    def test_put_bytes_returns_the_sha256_ref(self, store: BaseCheckpointStore) -> None:
        ref = store.put_bytes(b"hello")
        assert ref == "sha256:" + hashlib.sha256(b"hello").hexdigest()
        assert store.get_bytes(ref) == b"hello"
        assert store.exists(ref)
        assert store.size(ref) == 5
        assert list(store.refs()) == [ref]

    def test_put_and_get_round_trip_an_object(self, store: BaseCheckpointStore) -> None:
        ref = store.put({"step": 40, "weights": np.arange(3.0), "config": ("sgd", 0.1)})
        loaded = store.get(ref, context="member 3 at step 40")
        assert isinstance(loaded, dict)
        assert loaded["step"] == 40
        assert loaded["config"] == ("sgd", 0.1)
        np.testing.assert_array_equal(loaded["weights"], [0.0, 1.0, 2.0])

    def test_the_same_content_is_stored_once(self, store: BaseCheckpointStore) -> None:
        first = store.put({"a": [1, 2]})
        second = store.put({"a": [1, 2]})
        assert first == second
        assert list(store.refs()) == [first]

    def test_a_missing_blob_raises_with_context_and_ref(self, store: BaseCheckpointStore) -> None:
        ref = "sha256:" + "0" * 64
        assert not store.exists(ref)
        with pytest.raises(CheckpointError) as info:
            store.get(ref, context="member 3 at step 40")
        assert f"checkpoint {ref} of member 3 at step 40 is missing" in str(info.value)
        with pytest.raises(CheckpointError, match="missing"):
            store.size(ref)

    def test_corrupted_bytes_are_detected(self, store: BaseCheckpointStore) -> None:
        data = os.urandom(1000)
        ref = store.put_bytes(data)
        damaged = bytearray(data)
        damaged[len(damaged) // 2] ^= 0x01
        self.overwrite(store, ref, bytes(damaged))
        with pytest.raises(CheckpointError) as info:
            store.get_bytes(ref, context="member 3 at step 40")
        assert f"checkpoint {ref} of member 3 at step 40 is corrupted" in str(info.value)

    def test_delete_removes_a_blob_and_ignores_a_missing_one(
        self, store: BaseCheckpointStore
    ) -> None:
        kept = store.put_bytes(b"kept")
        gone = store.put_bytes(b"gone")
        assert store.delete(gone) is True
        assert store.delete(gone) is False
        assert not store.exists(gone)
        assert list(store.refs()) == [kept]

    def test_bytes_that_are_not_a_checkpoint_fail_to_load(self, store: BaseCheckpointStore) -> None:
        ref = store.put_bytes(b"not a checkpoint")
        with pytest.raises(CheckpointError) as info:
            store.get(ref, context="member 1 at step 2")
        assert f"checkpoint {ref} of member 1 at step 2 cannot be loaded" in str(info.value)

    def test_head_reads_the_first_bytes_of_a_blob(self, store: BaseCheckpointStore) -> None:
        ref = store.put_bytes(b"hello world")
        assert store.head(ref, 5) == b"hello"
        assert store.head(ref, 100) == b"hello world"
        assert store.head(store.put_bytes(b""), 8) == b""
        missing = "sha256:" + "0" * 64
        with pytest.raises(CheckpointError) as info:
            store.head(missing, 8, context="member 3 at step 40")
        assert f"checkpoint {missing} of member 3 at step 40 is missing" in str(info.value)

    @pytest.mark.parametrize("ref", MALFORMED_REFS)
    def test_malformed_refs_are_refused(self, store: BaseCheckpointStore, ref: str) -> None:
        calls = (store.get_bytes, store.get, store.exists, store.delete, store.size)
        for call in (*calls, store.modified, store.location, lambda r: store.head(r, 8)):
            with pytest.raises(CheckpointError, match="malformed checkpoint ref"):
                call(ref)

    def test_concurrent_puts_of_the_same_content_from_threads(
        self, store: BaseCheckpointStore
    ) -> None:
        data = os.urandom(200_000)
        with ThreadPoolExecutor(max_workers=16) as pool:
            refs = set(pool.map(lambda _: store.put_bytes(data), range(64)))
        assert refs == {"sha256:" + hashlib.sha256(data).hexdigest()}
        assert store.get_bytes(refs.pop()) == data
        assert len(list(store.refs())) == 1

    def test_a_fresh_store_has_no_stale_temp_files(self, store: BaseCheckpointStore) -> None:
        store.put_bytes(b"written whole")
        assert store.remove_stale_temp_files(older_than_s=0.0) == 0

    # -- where the blobs are -------------------------------------------------------------------

    def test_reopening_the_uri_sees_the_same_blobs(self, store: BaseCheckpointStore) -> None:
        ref = store.put({"step": 40})
        again = self.reopen(store)
        assert again.get(ref) == {"step": 40}
        assert list(again.refs()) == [ref]
        assert self.reopen(again).uri == again.uri  # what a population records is stable

    def test_location_holds_the_blob_itself(self, store: BaseCheckpointStore) -> None:
        fsspec = pytest.importorskip(
            "fsspec", reason="needs fsspec: pip install 'populace[remote]'"
        )
        data = b"the blob's own bytes"
        ref = store.put_bytes(data)
        with fsspec.open(store.location(ref), "rb") as blob:  # a path or a URL
            assert blob.read() == data

    # -- what the garbage collector relies on --------------------------------------------------

    def test_putting_stored_content_again_renews_its_time(self, store: BaseCheckpointStore) -> None:
        ref = store.put_bytes(b"same bytes")
        first = store.modified(ref)
        assert abs(first - time.time()) < 60
        time.sleep(1.1)  # filesystems keep times to the second, or finer
        assert store.put_bytes(b"same bytes") == ref
        assert store.modified(ref) > first

    def test_a_collector_spares_a_blob_put_after_its_cutoff(
        self, store: BaseCheckpointStore
    ) -> None:
        old, new = store.put_bytes(b"old"), store.put_bytes(b"new")
        cutoff = max(store.modified(old), store.modified(new)) - 0.001
        assert store.delete(new, unless_put_after=cutoff) is False
        assert store.get_bytes(new) == b"new"  # still there, whole
        assert store.delete(old, unless_put_after=cutoff + 1) is True
        assert not store.exists(old)
        assert store.delete(old, unless_put_after=cutoff + 1) is False  # gone already
        with pytest.raises(CheckpointError, match="is missing"):
            store.modified(old)

    def test_the_owner_record_round_trips(self, store: BaseCheckpointStore) -> None:
        assert store.read_owner() is None
        store.write_owner({"storage_id": "abc", "populations": ["a"]})
        assert store.read_owner() == {"storage_id": "abc", "populations": ["a"]}
        store.write_owner({"storage_id": "abc", "populations": ["a", "b"]})
        assert self.reopen(store).read_owner() == {
            "storage_id": "abc",
            "populations": ["a", "b"],
        }
        assert list(store.refs()) == []  # the record is not a blob

    # -- directory checkpoints -----------------------------------------------------------------

    def test_a_directory_checkpoint_round_trips(
        self, store: BaseCheckpointStore, tmp_path: Path
    ) -> None:
        folder = _folder(tmp_path / "model", {"config.json": b"{}", "weights/0.bin": b"\x00" * 99})
        (folder / "logs").mkdir()
        ref = store.put(Directory(folder))
        assert len(list(store.refs())) == 3  # two files, then their manifest
        restored = store.get_directory(ref, tmp_path / "restored", context="member 3 at step 40")
        assert _tree(restored) == _tree(folder)
        assert (restored / "logs").is_dir()
        with pytest.raises(CheckpointError, match="is a directory checkpoint"):
            store.get(ref)

    def test_collecting_keeps_the_files_of_kept_directory_checkpoints(
        self, store: BaseCheckpointStore, tmp_path: Path
    ) -> None:
        first = store.put(Directory(_folder(tmp_path / "a", {"shared": b"s", "own": b"a"})))
        second = store.put(Directory(_folder(tmp_path / "b", {"shared": b"s", "own": b"b"})))
        collect_garbage(store, keep={first})
        assert _tree(store.get_directory(first, tmp_path / "out")) == {"own": b"a", "shared": b"s"}
        assert sorted(store.refs()) == sorted([first, _ref(b"a"), _ref(b"s")])
        assert not store.exists(second)
        collect_garbage(store, keep=set())
        assert list(store.refs()) == []


def _ref(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _folder(path: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> bytes) under ``path`` and return it."""
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder``: a file's bytes, or None for a subfolder."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }
