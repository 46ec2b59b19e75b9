"""The manifest of a directory checkpoint: which files it holds, under which refs.

A directory checkpoint is one blob per file plus this manifest, whose ref is the checkpoint's
ref. Layout::

    MAGIC | {"version": 1, "files": {path: {"ref", "size", "executable"}}, "directories": [...]}

The magic differs from the object format's, so the first eight bytes of a blob (one small
ranged read, ``BaseCheckpointStore.head``) tell a manifest from any other checkpoint: that is how
garbage collection finds the files a kept checkpoint needs without reading every kept blob. Paths
are relative, ``/``-separated and never climb out (no ``..``, ``.`` or empty parts); every
subfolder is listed in ``directories``, so empty ones come back too. The JSON is written with
sorted keys, so the same folder content always gives the same manifest, and the same ref.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from populace.checkpoints._refs import describe, is_ref
from populace.errors import CheckpointError

if TYPE_CHECKING:
    from populace.checkpoints._base import BaseCheckpointStore

__all__ = [
    "MAGIC",
    "Manifest",
    "ManifestFile",
    "check_intact",
    "is_directory_checkpoint",
    "read_manifest",
]

MAGIC = b"POPCKDIR"
_VERSION = 1


@dataclass(frozen=True)
class ManifestFile:
    """One file of a directory checkpoint: the ref of its bytes, their size, its executable bit."""

    ref: str
    size: int
    executable: bool

    def __post_init__(self) -> None:
        if not is_ref(self.ref) or type(self.size) is not int or self.size < 0:
            raise CheckpointError(f"invalid file entry {self!r:.200}")
        if type(self.executable) is not bool:
            raise CheckpointError(f"invalid file entry {self!r:.200}")


@dataclass(frozen=True)
class Manifest:
    """The files (by relative path) and subfolders of a directory checkpoint.

    Raises:
        CheckpointError: a path is absolute, climbs out, or is not inside a listed folder; or a
            path names both a file and a folder.
    """

    files: Mapping[str, ManifestFile]
    directories: tuple[str, ...]

    def __post_init__(self) -> None:
        folders = set(self.directories)
        for path in [*self.directories, *self.files]:
            _check_path(path)
            parent = path.rpartition("/")[0]
            if parent and parent not in folders:
                raise CheckpointError(f"path {path!r} lies in a folder the manifest does not list")
        both = folders.intersection(self.files)
        if both:
            raise CheckpointError(f"path {min(both)!r} is both a file and a folder")
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    def to_bytes(self) -> bytes:
        """Encode the manifest: the magic, then canonical JSON."""
        body = {
            "version": _VERSION,
            "files": {
                path: {"ref": f.ref, "size": f.size, "executable": f.executable}
                for path, f in self.files.items()
            },
            "directories": sorted(self.directories),
        }
        return MAGIC + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "data") -> Manifest:
        """Decode a manifest made by :meth:`to_bytes`; a forged one cannot name a path outside.

        Raises:
            CheckpointError: ``data`` (named ``where`` in the message) is not a valid manifest.
        """
        try:
            if not data.startswith(MAGIC):
                raise CheckpointError("wrong magic prefix")
            body = json.loads(data[len(MAGIC) :])
            if body["version"] != _VERSION:
                raise CheckpointError(f"unsupported version {body['version']!r:.20}")
            files = {path: ManifestFile(**entry) for path, entry in body["files"].items()}
            return cls(files, tuple(body["directories"]))
        except (CheckpointError, ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = str(exc) if isinstance(exc, CheckpointError) else repr(exc)
            raise CheckpointError(
                f"{where} is not a valid directory manifest: {reason:.300}"
            ) from exc


def _check_path(path: Any) -> None:
    if (
        not isinstance(path, str)
        or not path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise CheckpointError(f"path {path!r:.200} is not a plain relative path")


def is_directory_checkpoint(store: BaseCheckpointStore, ref: str, context: str = "") -> bool:
    """Whether the blob ``ref`` is a directory checkpoint's manifest, from its first bytes.

    Raises:
        CheckpointError: the blob is missing or cannot be read.
    """
    return store.head(ref, len(MAGIC), context) == MAGIC


def read_manifest(store: BaseCheckpointStore, ref: str, context: str = "") -> Manifest:
    """Read and verify the manifest ``ref``.

    Raises:
        CheckpointError: the blob is missing or corrupted, or is not a directory checkpoint.
    """
    if not is_directory_checkpoint(store, ref, context):
        raise CheckpointError(
            f"{describe(ref, context)} is not a directory checkpoint (it was reported as an "
            "object, not a pop.Directory): load it with checkpoint.load()"
        )
    return Manifest.from_bytes(store.get_bytes(ref, context), describe(ref, context))


def check_intact(store: BaseCheckpointStore, ref: str) -> None:
    """Verify that the checkpoint ``ref`` is whole: its blob and, for a directory checkpoint,
    every file's blob, each read and checked against its hash.

    Raises:
        CheckpointError: a blob is missing or corrupted, or the manifest is invalid.
    """
    if not is_directory_checkpoint(store, ref):
        store.get_bytes(ref)
        return
    for path, file in read_manifest(store, ref).files.items():
        store.get_bytes(file.ref, f"file {path!r} of {describe(ref, '')}")
