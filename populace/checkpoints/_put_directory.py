"""Storing a folder as a directory checkpoint: every file as a blob, then their manifest.

The rules are a blob's, applied to the whole: a manifest is put only once every file it names is
stored (so its ref, once recorded, never points at a missing file), and only if the folder did
not change meanwhile: a folder being written while it is stored would give a checkpoint that
never existed. A failure puts no manifest; the file blobs already put are unreferenced and go
at the next garbage collection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from populace.checkpoints._manifest import Manifest, ManifestFile
from populace.checkpoints._scan import (
    FolderListing,
    Signature,
    changed,
    is_executable,
    list_folder,
    read_file,
    signature,
)

if TYPE_CHECKING:
    from populace.checkpoints._base import BaseCheckpointStore

__all__ = ["RENEW_AFTER_S", "put_directory"]

RENEW_AFTER_S = 30.0
"""Files put longer ago than this when the last one is done are put again (on local stores only
their time is renewed): a collector spares unreferenced blobs for a grace period after their
put (two minutes while members train), which must not lapse before the manifest names them."""


@dataclass(frozen=True)
class _Stored:
    file: ManifestFile
    signature: Signature
    put_at: float  # time.monotonic() when the put returned


def put_directory(store: BaseCheckpointStore, root: Path) -> str:
    """Store the folder ``root`` in ``store`` and return the ref of its manifest.

    Raises:
        CheckpointError: the folder is missing, holds something that cannot be stored (see
            :class:`~populace.checkpoints.Directory`), changed while it was stored, or the
            store cannot write.
    """
    listing = list_folder(root)
    stored = {name: _put_file(store, root, name, path) for name, path in listing.files.items()}
    renew_before = time.monotonic() - RENEW_AFTER_S
    for name, old in stored.items():
        if old.put_at < renew_before:
            stored[name] = _put_file(store, root, name, listing.files[name])
            if stored[name].file.ref != old.file.ref:
                raise changed(root, name, "changed")
    _check_unchanged(root, listing, stored)
    manifest = Manifest({name: s.file for name, s in stored.items()}, listing.directories)
    return store.put_bytes(manifest.to_bytes())


def _put_file(store: BaseCheckpointStore, root: Path, name: str, path: Path) -> _Stored:
    data, status = read_file(root, name, path)
    ref = store.put_bytes(data)
    file = ManifestFile(ref, len(data), is_executable(status))
    return _Stored(file, signature(status), time.monotonic())


def _check_unchanged(root: Path, listing: FolderListing, stored: dict[str, _Stored]) -> None:
    """Check that the folder still holds what was stored: no file written, added or removed."""
    now = list_folder(root)
    before, after = {*listing.files, *listing.directories}, {*now.files, *now.directories}
    if before != after:
        name = min(before ^ after)
        raise changed(root, name, "was added" if name in after else "was removed")
    for name, path in now.files.items():
        try:
            current = signature(path.stat())
        except FileNotFoundError:
            current = None
        if current != stored[name].signature:
            raise changed(root, name, "changed")
