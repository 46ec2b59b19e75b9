"""The checkpoint store contract, run against every implementation."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fsspec
import numpy as np
import pytest

from populace.checkpoints import (
    BaseCheckpointStore,
    FsspecCheckpointStore,
    LocalCheckpointStore,
    open_checkpoint_store,
)
from populace.errors import CheckpointError

MALFORMED_REFS = [
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


@pytest.fixture(params=["local", "fsspec-memory", "fsspec-file", "fsspec-s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BaseCheckpointStore]:
    """Every store implementation, so the contract tests run against each."""
    if request.param == "local":
        yield LocalCheckpointStore(tmp_path / "store")
    elif request.param == "fsspec-file":
        yield FsspecCheckpointStore(f"file://{tmp_path / 'store'}")
    elif request.param == "fsspec-s3":
        options = request.getfixturevalue("s3_server")
        monkeypatch.setitem(fsspec.config.conf, "s3", options)  # as FSSPEC_S3_* variables do
        yield FsspecCheckpointStore(request.getfixturevalue("s3_url"))
    else:
        root = f"/contract-{uuid.uuid4().hex}"
        yield FsspecCheckpointStore(f"memory://{root}/store")
        fsspec.filesystem("memory").rm(root, recursive=True)


def test_put_bytes_returns_the_sha256_ref(store: BaseCheckpointStore) -> None:
    ref = store.put_bytes(b"hello")
    assert ref == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert store.get_bytes(ref) == b"hello"
    assert store.exists(ref)
    assert store.size(ref) == 5
    assert list(store.refs()) == [ref]


def test_put_and_get_round_trip_an_object(store: BaseCheckpointStore) -> None:
    ref = store.put({"step": 40, "weights": np.arange(3.0), "config": ("sgd", 0.1)})
    loaded = store.get(ref, context="member 3 at step 40")
    assert isinstance(loaded, dict)
    assert loaded["step"] == 40
    assert loaded["config"] == ("sgd", 0.1)
    np.testing.assert_array_equal(loaded["weights"], [0.0, 1.0, 2.0])


def test_the_same_content_is_stored_once(store: BaseCheckpointStore) -> None:
    first = store.put({"a": [1, 2]})
    second = store.put({"a": [1, 2]})
    assert first == second
    assert list(store.refs()) == [first]


def test_a_missing_blob_raises_with_context_and_ref(store: BaseCheckpointStore) -> None:
    ref = "sha256:" + "0" * 64
    assert not store.exists(ref)
    with pytest.raises(CheckpointError) as info:
        store.get(ref, context="member 3 at step 40")
    assert f"checkpoint {ref} of member 3 at step 40 is missing" in str(info.value)
    with pytest.raises(CheckpointError, match="missing"):
        store.size(ref)


def test_delete_removes_a_blob_and_ignores_a_missing_one(store: BaseCheckpointStore) -> None:
    kept = store.put_bytes(b"kept")
    gone = store.put_bytes(b"gone")
    store.delete(gone)
    store.delete(gone)
    assert not store.exists(gone)
    assert list(store.refs()) == [kept]


def test_bytes_that_are_not_a_checkpoint_fail_to_load(store: BaseCheckpointStore) -> None:
    ref = store.put_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as info:
        store.get(ref, context="member 1 at step 2")
    assert f"checkpoint {ref} of member 1 at step 2 cannot be loaded" in str(info.value)


@pytest.mark.parametrize("ref", MALFORMED_REFS)
def test_malformed_refs_are_refused(store: BaseCheckpointStore, ref: str) -> None:
    for call in (store.get_bytes, store.get, store.exists, store.delete, store.size):
        with pytest.raises(CheckpointError, match="malformed checkpoint ref"):
            call(ref)


def test_concurrent_puts_of_the_same_content_from_threads(store: BaseCheckpointStore) -> None:
    data = os.urandom(200_000)
    with ThreadPoolExecutor(max_workers=16) as pool:
        refs = set(pool.map(lambda _: store.put_bytes(data), range(64)))
    assert refs == {"sha256:" + hashlib.sha256(data).hexdigest()}
    assert store.get_bytes(refs.pop()) == data
    assert len(list(store.refs())) == 1


def test_reopening_the_uri_sees_the_same_blobs(store: BaseCheckpointStore) -> None:
    ref = store.put({"step": 40})
    again = open_checkpoint_store(store.uri)
    assert again.get(ref) == {"step": 40}
    assert list(again.refs()) == [ref]
    assert open_checkpoint_store(again.uri).uri == again.uri  # what a population records


def test_location_names_the_blob_itself(store: BaseCheckpointStore) -> None:
    data = b"the blob's own bytes"
    ref = store.put_bytes(data)
    location = store.location(ref)
    assert location.endswith(f"/objects/{ref[7:9]}/{ref[9:]}")
    with fsspec.open(location, "rb") as blob:  # a path or a URL
        assert blob.read() == data


def test_a_fresh_store_has_no_stale_temp_files(store: BaseCheckpointStore) -> None:
    store.put_bytes(b"written whole")
    assert store.remove_stale_temp_files(older_than_s=0.0) == 0
    assert store.process_local == store.uri.startswith("memory://")


def test_putting_stored_content_again_renews_its_time(store: BaseCheckpointStore) -> None:
    ref = store.put_bytes(b"same bytes")
    first = store.modified(ref)
    assert abs(first - time.time()) < 60
    time.sleep(1.1)  # filesystems keep times to the second, or finer
    assert store.put_bytes(b"same bytes") == ref
    assert store.modified(ref) > first


def test_a_collector_spares_a_blob_put_after_its_cutoff(store: BaseCheckpointStore) -> None:
    old, new = store.put_bytes(b"old"), store.put_bytes(b"new")
    cutoff = max(store.modified(old), store.modified(new)) - 0.001
    assert store.delete(new, unless_put_after=cutoff) is False
    assert store.get_bytes(new) == b"new"  # still there, whole
    assert store.delete(old, unless_put_after=cutoff + 1) is True
    assert not store.exists(old)
    assert store.delete(old, unless_put_after=cutoff + 1) is False  # gone already
    with pytest.raises(CheckpointError, match="is missing"):
        store.modified(old)


def test_the_owner_record_round_trips(store: BaseCheckpointStore) -> None:
    assert store.read_owner() is None
    store.write_owner({"storage_id": "abc", "populations": ["a"]})
    assert store.read_owner() == {"storage_id": "abc", "populations": ["a"]}
    store.write_owner({"storage_id": "abc", "populations": ["a", "b"]})
    assert open_checkpoint_store(store.uri).read_owner() == {
        "storage_id": "abc",
        "populations": ["a", "b"],
    }
    assert list(store.refs()) == []  # the record is not a blob
