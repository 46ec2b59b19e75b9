"""Writing a directory checkpoint back as a folder, whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from populace.checkpoints._manifest import Manifest, read_manifest
from populace.checkpoints._refs import describe
from populace.errors import CheckpointError

if TYPE_CHECKING:
    from populace.checkpoints._base import BaseCheckpointStore

__all__ = ["restore_directory"]


def restore_directory(
    store: BaseCheckpointStore, ref: str, dest: str | os.PathLike[str], context: str = ""
) -> Path:
    """Write the directory checkpoint ``ref`` into the folder ``dest`` and return its path.

    ``dest`` must not exist, or be an empty folder: a restore never overwrites. The files go
    into a hidden sibling folder first, each verified against its hash and fsynced, which is
    then renamed to ``dest``: a crash or an error leaves ``dest`` as it was, never half
    written (the sibling is removed on errors; after a crash it stays, named
    ``.<dest name>.<random>.partial``).

    Raises:
        CheckpointError: ``ref`` is not a directory checkpoint, a blob is missing or corrupted,
            ``dest`` is a file or a folder that is not empty, or it cannot be written.
    """
    where = describe(ref, context)
    manifest = read_manifest(store, ref, context)
    dest = Path(os.path.abspath(dest))
    _check_free(dest, where)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.partial"
        temp.mkdir()
    except OSError as exc:
        raise CheckpointError(f"cannot restore {where} into {dest}: {exc}") from exc
    try:
        _write(store, manifest, temp, where)
        os.rename(temp, dest)  # replaces an empty folder, atomically
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        _check_free(dest, where)  # filled meanwhile: say so rather than quote rename
        raise CheckpointError(f"cannot restore {where} into {dest}: {exc}") from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_dir(dest.parent)
    return dest


def _check_free(dest: Path, where: str) -> None:
    if dest.is_dir() and not any(dest.iterdir()):
        return
    if dest.exists() or dest.is_symlink():
        what = "a folder that is not empty" if dest.is_dir() else "not a folder"
        raise CheckpointError(
            f"cannot restore {where} into {dest}: it is {what}; pass a new or empty folder"
        )


def _write(store: BaseCheckpointStore, manifest: Manifest, temp: Path, where: str) -> None:
    for folder in sorted(manifest.directories):  # parents sort before their children
        (temp / folder).mkdir()
    for name, entry in manifest.files.items():
        data = store.get_bytes(entry.ref, f"file {name!r} of {where}")
        if len(data) != entry.size:
            raise CheckpointError(
                f"{where}: file {name!r} holds {len(data)} bytes, its manifest says {entry.size}"
            )
        mode = 0o777 if entry.executable else 0o666  # less the umask, as any new file
        descriptor = os.open(temp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    for folder in [*manifest.directories, ""]:
        _fsync_dir(temp / folder)


def _fsync_dir(path: Path) -> None:
    """Make the entries of the folder ``path`` durable; best effort, as on the stores."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
