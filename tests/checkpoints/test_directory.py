"""Directory checkpoints on a local store: what is stored, what is refused, restores, collection.

The same round trip and collection run on every store in the contract suite
(``populace/testing/checkpoints.py``); here are the rules and the bad input, on a local folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import populace as pop
from populace.checkpoints import (
    BaseCheckpointStore,
    Checkpoint,
    Directory,
    LocalCheckpointStore,
    _put_directory,
    collect_garbage,
)
from populace.checkpoints._manifest import (
    MAGIC,
    Manifest,
    ManifestFile,
    check_intact,
    is_directory_checkpoint,
    read_manifest,
)
from populace.errors import CheckpointError


class HookedStore(LocalCheckpointStore):
    """A local store that counts the bytes put, and runs ``hook`` after the ``at``-th put."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: list[bytes] = []
        self.hook: Callable[[], object] | None = None
        self.at = 1

    def put_bytes(self, data: bytes) -> str:
        ref = super().put_bytes(data)
        self.puts.append(data)
        if self.hook is not None and len(self.puts) == self.at:
            self.hook()
        return ref


@pytest.fixture
def store(tmp_path: Path) -> HookedStore:
    return HookedStore(tmp_path / "store")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A model folder: weights, a config, an empty file, an empty subfolder, a script."""
    root = tmp_path / "model"
    (root / "tokenizer" / "extra").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "model.safetensors").write_bytes(os.urandom(4096))
    (root / "config.json").write_text(json.dumps({"hidden": 8}))
    (root / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    (root / "tokenizer" / "extra" / "empty").write_bytes(b"")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    return root


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``: a file's bytes, or None for a folder."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def handle(store: BaseCheckpointStore, ref: str) -> Checkpoint:
    return Checkpoint(ref, member=3, step=40, store=store)


# -- storing and restoring ---------------------------------------------------------------------


def test_a_folder_round_trips_with_empty_files_folders_and_modes(
    store: HookedStore, folder: Path, tmp_path: Path
) -> None:
    checkpoint = handle(store, store.put(pop.Directory(folder)))
    assert checkpoint.is_directory
    restored = checkpoint.load_directory(tmp_path / "out" / "nested")
    assert restored == tmp_path / "out" / "nested"
    assert tree(restored) == tree(folder)
    assert os.access(restored / "run.sh", os.X_OK)
    assert not os.access(restored / "config.json", os.X_OK)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["nested"]  # no temp folder left


def test_the_manifest_lists_every_file_and_folder(store: HookedStore, folder: Path) -> None:
    ref = store.put(Directory(folder))
    manifest = read_manifest(store, ref)
    assert sorted(manifest.directories) == ["logs", "tokenizer", "tokenizer/extra"]
    assert manifest.files["config.json"] == ManifestFile(sha(b'{"hidden": 8}'), 13, False)
    assert manifest.files["run.sh"].executable
    assert store.puts[-1] == store.get_bytes(ref)  # the manifest went last, after every file
    assert store.get_bytes(ref).startswith(MAGIC)


def test_the_same_content_is_stored_once(store: HookedStore, folder: Path) -> None:
    (folder / "copy.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    first = store.put(Directory(folder))
    assert store.put(Directory(folder)) == first  # the same folder, the same manifest
    assert len(list(store.refs())) == 6  # 5 distinct contents (of 6 files), 1 manifest


def test_a_symlink_to_a_file_inside_is_stored_as_a_copy(
    store: HookedStore, folder: Path, tmp_path: Path
) -> None:
    (folder / "latest.json").symlink_to("config.json")
    (folder / "tokenizer" / "up.json").symlink_to("../config.json")
    restored = store.get_directory(store.put(Directory(folder)), tmp_path / "out")
    for link in ("latest.json", "tokenizer/up.json"):
        assert not (restored / link).is_symlink()
        assert (restored / link).read_text() == '{"hidden": 8}'


def test_a_callable_and_a_relative_path_work_as_for_any_checkpoint(
    store: HookedStore, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder.parent)
    directory = Directory("model")
    monkeypatch.chdir(folder / "logs")  # the path was made absolute when the value was made
    assert directory.path == folder
    assert store.put(directory) == store.put(Directory(folder))


def test_an_empty_folder_is_a_checkpoint(store: HookedStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    ref = store.put(Directory(tmp_path / "empty"))
    assert tree(store.get_directory(ref, tmp_path / "out")) == {}


def test_restoring_into_an_empty_folder_is_allowed(
    store: HookedStore, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    restored = store.get_directory(store.put(Directory(folder)), tmp_path / "out")
    assert tree(restored) == tree(folder)


# -- bad input: clear errors, nothing stored ---------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda f: (f / "escape").symlink_to(f.parent / "secret"),
            "symlink 'escape' points outside",
        ),
        (lambda f: (f / "logs" / "up").symlink_to("../.."), "symlink 'logs/up' points outside"),
        (lambda f: (f / "tok").symlink_to("tokenizer"), "symlink 'tok' points to a folder"),
        (lambda f: (f / "dangling").symlink_to("nothing"), "symlink 'dangling' points to nothing"),
        (lambda f: os.mkfifo(f / "logs" / "pipe"), "'logs/pipe' is not a regular file"),
    ],
    ids=["link-out", "link-up-out", "link-to-folder", "dangling-link", "fifo"],
)
def test_what_cannot_be_stored_is_refused_by_name(
    store: HookedStore, folder: Path, make: Callable[[Path], None], message: str
) -> None:
    (folder.parent / "secret").write_text("not yours")
    make(folder)
    with pytest.raises(CheckpointError, match=message) as info:
        store.put(Directory(folder))
    assert str(folder) in str(info.value)
    assert list(store.refs()) == []  # refused before anything was put


def test_a_missing_folder_or_a_file_is_refused(store: HookedStore, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"/missing: the folder does not exist"):
        store.put(Directory(tmp_path / "missing"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match=r"/file: not a folder"):
        store.put(Directory(tmp_path / "file"))
    with pytest.raises(CheckpointError, match="needs a folder path"):
        Directory(42)  # type: ignore[arg-type]
    assert list(store.refs()) == []


def test_a_directory_inside_a_checkpoint_is_refused(store: HookedStore, folder: Path) -> None:
    with pytest.raises(CheckpointError, match=r'checkpoint\["model"\]: a Directory can only be'):
        store.put({"model": Directory(folder), "step": 3})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "config.json").write_text('{"hidden": 9}'), "'config.json' changed"),
        (lambda f: (f / "late.bin").write_bytes(b"late"), "'late.bin' was added"),
        (lambda f: (f / "logs" / "new").mkdir(), "'logs/new' was added"),
        (lambda f: (f / "run.sh").unlink(), "'run.sh' was removed"),
    ],
    ids=["written", "file-added", "folder-added", "removed"],
)
def test_a_folder_that_changes_while_stored_is_refused_and_no_manifest_is_put(
    store: HookedStore, folder: Path, change: Callable[[Path], None], message: str
) -> None:
    store.hook = lambda: change(folder)  # after the first file (config.json) was put
    with pytest.raises(CheckpointError, match=f"{message} while the folder was being stored"):
        store.put(Directory(folder))
    assert store.puts  # some files were put, but no manifest refers to them
    assert not any(is_directory_checkpoint(store, ref) for ref in store.refs())
    assert collect_garbage(store, keep=set()).deleted == len(set(store.puts))


def test_files_put_long_before_the_manifest_are_put_again(
    store: HookedStore, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_put_directory, "RENEW_AFTER_S", -1.0)  # every file counts as old
    ref = store.put(Directory(folder))
    files = store.puts[:-1]
    assert len(files) == 2 * len(read_manifest(store, ref).files)  # each put, then renewed
    assert files[: len(files) // 2] == files[len(files) // 2 :]


def test_a_file_changed_before_its_renewal_is_refused(
    store: HookedStore, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_put_directory, "RENEW_AFTER_S", -1.0)
    store.at = 5  # all 5 files are put, then config.json is rewritten before it is renewed
    store.hook = lambda: (folder / "config.json").write_text('{"hidden": 10}')
    with pytest.raises(CheckpointError, match=r"'config.json' changed"):
        store.put(Directory(folder))


# -- restoring: never overwrites, whole or not at all ------------------------------------------


def test_a_folder_holding_anything_or_a_file_is_never_overwritten(
    store: HookedStore, folder: Path, tmp_path: Path
) -> None:
    checkpoint = handle(store, store.put(Directory(folder)))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    with pytest.raises(CheckpointError, match="busy: it is a folder that is not empty"):
        checkpoint.load_directory(tmp_path / "busy")
    with pytest.raises(CheckpointError, match="file: it is not a folder"):
        checkpoint.load_directory(tmp_path / "file")
    assert tree(tmp_path / "busy") == {"keep.txt": b"mine"}
    assert (tmp_path / "file").read_text() == "mine"


def test_a_corrupted_file_fails_the_restore_and_leaves_nothing(
    store: HookedStore, folder: Path, tmp_path: Path
) -> None:
    checkpoint = handle(store, store.put(Directory(folder)))
    blob = Path(store.location(read_manifest(store, checkpoint.ref).files["run.sh"].ref))
    blob.write_bytes(b"#!/bin/sh\nrm -rf ~\n")
    with pytest.raises(CheckpointError) as info:
        checkpoint.load_directory(tmp_path / "out" / "model")
    assert f"file 'run.sh' of checkpoint {checkpoint.ref} of member 3 at step 40" in str(info.value)
    assert "is corrupted" in str(info.value)
    assert list((tmp_path / "out").iterdir()) == []  # neither the folder nor its temp sibling
    with pytest.raises(CheckpointError, match="is corrupted"):
        check_intact(store, checkpoint.ref)  # how the runtime tells a damaged checkpoint


def test_load_and_load_directory_say_which_to_call(
    store: HookedStore, folder: Path, tmp_path: Path
) -> None:
    directory = handle(store, store.put(Directory(folder)))
    with pytest.raises(CheckpointError) as info:
        directory.load()
    assert f"checkpoint {directory.ref} of member 3 at step 40 cannot be loaded" in str(info.value)
    assert "restore it with checkpoint.load_directory(dest)" in str(info.value)
    plain = handle(store, store.put({"step": 40}))
    assert not plain.is_directory
    with pytest.raises(CheckpointError, match=r"not a directory checkpoint .* checkpoint\.load\("):
        plain.load_directory(tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"files": {"../evil": {"ref": sha(b"x"), "size": 1, "executable": False}}},
        {"files": {"/etc/evil": {"ref": sha(b"x"), "size": 1, "executable": False}}},
        {"files": {"a/./b": {"ref": sha(b"x"), "size": 1, "executable": False}}},
        {"files": {"sub/x": {"ref": sha(b"x"), "size": 1, "executable": False}}},
        {"files": {"x": {"ref": "sha256:../../x", "size": 1, "executable": False}}},
        {"files": {"x": {"ref": sha(b"x"), "size": -1, "executable": False}}},
        {"files": {}, "directories": ["a", "a"], "version": 2},
    ],
)
def test_a_forged_manifest_writes_nothing(
    store: HookedStore, tmp_path: Path, body: dict[str, object]
) -> None:
    store.put_bytes(b"x")
    forged = MAGIC + json.dumps({"version": 1, "directories": [], **body}).encode()
    checkpoint = handle(store, store.put_bytes(forged))
    with pytest.raises(CheckpointError, match="is not a valid directory manifest"):
        checkpoint.load_directory(tmp_path / "out")
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]


def test_a_manifest_is_refused_where_a_file_would_land_on_a_folder() -> None:
    entry = ManifestFile(sha(b"x"), 1, False)
    with pytest.raises(CheckpointError, match="'a' is both a file and a folder"):
        Manifest({"a": entry}, ("a",))


def test_the_default_head_reads_the_whole_blob(store: HookedStore) -> None:
    ref = store.put_bytes(b"a blob of a store without ranged reads")
    assert BaseCheckpointStore.head(store, ref, 6) == b"a blob"


# -- garbage collection ------------------------------------------------------------------------


def _age(store: LocalCheckpointStore, refs: list[str], seconds: float) -> None:
    """Make the blobs ``refs`` look put ``seconds`` ago."""
    for ref in refs:
        then = time.time() - seconds
        os.utime(store.location(ref), (then, then))


def test_a_spared_manifest_spares_its_files_however_old(store: HookedStore, folder: Path) -> None:
    ref = store.put(Directory(folder))
    files = [f.ref for f in read_manifest(store, ref).files.values()]
    _age(store, files, 600)  # put long ago; the manifest just now, not recorded yet
    cutoff = time.time() - 120
    report = collect_garbage(store, keep=set(), spare_put_after=cutoff)
    assert report.deleted == 0 and tree(store.get_directory(ref, folder.parent / "out"))
    _age(store, [ref], 600)
    assert collect_garbage(store, keep=set(), spare_put_after=cutoff).deleted == len(set(files)) + 1


def test_a_kept_manifest_that_cannot_be_read_stops_the_collection(
    store: HookedStore, folder: Path
) -> None:
    ref = store.put(Directory(folder))
    store.put({"garbage": True})
    before = sorted(store.refs())
    Path(store.location(ref)).write_bytes(MAGIC + b"{ damaged")
    with pytest.raises(CheckpointError) as info:
        collect_garbage(store, keep={ref})
    assert str(info.value).startswith(f"nothing was collected: checkpoint {ref} is corrupted")
    assert f"delete {store.location(ref)} and collection goes on" in str(info.value)
    assert sorted(store.refs()) == before  # nothing deleted: its files are unknown
    os.unlink(store.location(ref))  # as the error says
    assert collect_garbage(store, keep={ref}).deleted == len(before) - 1


def test_a_file_that_only_looks_like_a_manifest_names_no_files(
    store: HookedStore, folder: Path
) -> None:
    (folder / "looks.bin").write_bytes(MAGIC + b"not json")
    ref = store.put(Directory(folder))
    looks = sha(MAGIC + b"not json")
    assert collect_garbage(store, keep={ref, looks}).deleted == 0
    assert collect_garbage(store, keep={looks}, spare_put_after=time.time() - 60).deleted == 0
    assert collect_garbage(store, keep={looks}).deleted == 6  # the 6 other files, the manifest
    assert list(store.refs()) == [looks]


def test_a_manifest_held_aside_by_another_collector_is_read_again(
    store: HookedStore, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another collector's delete renames a blob aside to read its time, and puts it back when it
    # was put again: a read in that instant fails although the blob is there a moment later.
    ref = store.put(Directory(folder))
    files = {f.ref for f in read_manifest(store, ref).files.values()}
    garbage = store.put({"garbage": True})
    location, aside = Path(store.location(ref)), Path(store.location(ref) + ".aside")
    real_head, held = LocalCheckpointStore.head, list[str]()

    def head_while_aside(
        self: LocalCheckpointStore, wanted: str, size: int, context: str = ""
    ) -> bytes:
        if wanted == ref and not held:
            held.append(ref)
            location.rename(aside)  # the first read finds it held aside ...
            try:
                return real_head(self, wanted, size, context)
            finally:
                aside.rename(location)  # ... and it is back before anyone looks again
        return real_head(self, wanted, size, context)

    monkeypatch.setattr(LocalCheckpointStore, "head", head_while_aside)
    report = collect_garbage(store, keep={ref})
    assert report.deleted == 1 and garbage not in set(store.refs())
    assert files <= set(store.refs())
