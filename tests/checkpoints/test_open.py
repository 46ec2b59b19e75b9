"""open_checkpoint_store: which store a path or URL opens, and the errors for the others."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import fsspec
import pytest
from _subprocess import run

from populace.checkpoints import FsspecCheckpointStore, LocalCheckpointStore, open_checkpoint_store
from populace.checkpoints._open import sibling_uri
from populace.errors import CheckpointError


def test_paths_and_file_urls_open_a_local_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for uri in (tmp_path / "a", str(tmp_path / "a"), f"file://{tmp_path}/a", "a", "file://a"):
        store = open_checkpoint_store(uri)
        assert type(store) is LocalCheckpointStore, uri
        assert store.uri == str(tmp_path / "a"), uri


def test_other_urls_open_an_fsspec_store() -> None:
    name = f"open-{uuid.uuid4().hex}"
    try:
        store = open_checkpoint_store(f"memory://{name}/ckpt")
        assert type(store) is FsspecCheckpointStore
        assert store.uri == f"memory://{name}/ckpt"
        ref = store.put_bytes(b"shared")
        assert open_checkpoint_store(f"memory://{name}/ckpt").get_bytes(ref) == b"shared"
    finally:
        fsspec.filesystem("memory").rm(f"/{name}", recursive=True)


def test_an_unknown_protocol_is_named_without_its_password() -> None:
    with pytest.raises(CheckpointError) as info:
        open_checkpoint_store("nosuch://bob:s3cret@host/ckpt")
    assert "cannot open checkpoint store nosuch://bob:***@host/ckpt" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_without_fsspec_urls_say_what_to_install_and_paths_still_work(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["fsspec"] = None  # as if fsspec were not installed
        from populace.checkpoints import open_checkpoint_store
        from populace.errors import CheckpointError
        store = open_checkpoint_store({str(tmp_path)!r})
        assert store.get_bytes(store.put_bytes(b"x")) == b"x"
        try:
            open_checkpoint_store("memory://ckpt")
        except CheckpointError as exc:
            print(exc)
        """
    )
    done = run([sys.executable, "-c", code], timeout=60, check=True)
    assert done.stdout.strip() == (
        "checkpoint store memory://ckpt needs fsspec: fsspec is needed for this; install it "
        "with: pip install 'populace[remote]'"
    )


def test_importing_populace_does_not_import_fsspec() -> None:
    code = "import populace, sys; assert 'fsspec' not in sys.modules, 'fsspec was imported'"
    run([sys.executable, "-c", code], timeout=60, check=True)


@pytest.mark.parametrize(
    ("uri", "sibling"),
    [
        ("/runs/ckpt/pop-1", "/runs/ckpt/replay"),
        ("s3://bucket/prefix/pop-1", "s3://bucket/prefix/replay"),
        ("s3://bucket/prefix/pop-1/", "s3://bucket/prefix/replay"),
        ("s3://bucket", "s3://bucket/replay"),
        ("memory://pop-1", "memory://pop-1/replay"),
    ],
)
def test_a_sibling_stays_beside_the_store_or_inside_a_bucket(uri: str, sibling: str) -> None:
    assert sibling_uri(uri, "replay") == sibling
