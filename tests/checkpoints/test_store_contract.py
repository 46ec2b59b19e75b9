"""The checkpoint store contract on every implementation, plus what their layout promises."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from populace.checkpoints import BaseCheckpointStore, FsspecCheckpointStore, LocalCheckpointStore
from populace.testing import CheckpointStoreSuite


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


class TestCheckpointStores(CheckpointStoreSuite):
    """The contract on a local folder and on fsspec in memory, on local files and on S3."""


def test_location_is_the_blob_under_objects(store: BaseCheckpointStore) -> None:
    ref = store.put_bytes(b"laid out by digest")
    assert store.location(ref).endswith(f"/objects/{ref[7:9]}/{ref[9:]}")


def test_only_a_store_in_memory_is_process_local(store: BaseCheckpointStore) -> None:
    assert store.process_local == store.uri.startswith("memory://")
