"""Reading a folder for a directory checkpoint: what it holds, and whether it changed meanwhile."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from populace.errors import CheckpointError

__all__ = ["FolderListing", "changed", "is_executable", "list_folder", "read_file", "signature"]

Signature = tuple[int, int, int, int, int]
"""What changes when a file is written or replaced: device, inode, size, mtime and ctime (ns)."""


@dataclass(frozen=True)
class FolderListing:
    """The regular files of a folder (relative path -> the file to read, a symlink's target for a
    symlink) and its subfolders, all sorted."""

    files: dict[str, Path]
    directories: tuple[str, ...]


def list_folder(root: Path) -> FolderListing:
    """List ``root`` for storing: its files, symlinks to files inside it, and its subfolders.

    Raises:
        CheckpointError: ``root`` is missing or not a folder, or holds a symlink leading outside
            it, to a folder or to nothing, or a socket, fifo or device; each named.
    """
    if not root.exists():
        raise CheckpointError(f"directory checkpoint {root}: the folder does not exist")
    if not root.is_dir():
        raise CheckpointError(f"directory checkpoint {root}: not a folder")
    files: dict[str, Path] = {}
    directories: list[str] = []
    _walk(root, Path(os.path.realpath(root)), "", files, directories)
    return FolderListing(files, tuple(directories))


def _walk(
    root: Path, real_root: Path, prefix: str, files: dict[str, Path], directories: list[str]
) -> None:
    folder = root / prefix
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise _error(root, f"cannot list {prefix or '.'!r}: {exc.strerror or exc}") from exc
    for entry in entries:
        name = f"{prefix}{entry.name}"
        if entry.is_symlink():
            files[name] = _link_target(root, real_root, name, Path(entry.path))
        elif entry.is_dir(follow_symlinks=False):
            directories.append(name)
            _walk(root, real_root, f"{name}/", files, directories)
        elif entry.is_file(follow_symlinks=False):
            files[name] = Path(entry.path)
        else:
            raise _error(root, f"{name!r} is not a regular file, folder or symlink")


def _link_target(root: Path, real_root: Path, name: str, link: Path) -> Path:
    """The file a symlink inside the folder leads to, checked to lie inside the folder too."""
    target = Path(os.path.realpath(link))
    if not target.is_relative_to(real_root):
        raise _error(root, f"symlink {name!r} points outside the folder (to {target})")
    if not target.exists():
        raise _error(root, f"symlink {name!r} points to nothing ({target})")
    if not target.is_file():
        raise _error(
            root,
            f"symlink {name!r} points to a folder ({target}); only symlinks to files are "
            "stored (as copies of the file)",
        )
    return target


def read_file(root: Path, name: str, path: Path) -> tuple[bytes, os.stat_result]:
    """Read the file ``name`` of ``root`` (found at ``path``) whole; return it and its status.

    Raises:
        CheckpointError: the file cannot be read, was removed, or changed while it was read.
    """
    try:
        with open(path, "rb") as file:
            before = os.fstat(file.fileno())
            data = file.read()
            after = os.fstat(file.fileno())
    except FileNotFoundError as exc:
        raise changed(root, name, "was removed") from exc
    except OSError as exc:
        raise _error(root, f"cannot read {name!r}: {exc.strerror or exc}") from exc
    if signature(before) != signature(after) or len(data) != after.st_size:
        raise changed(root, name, "changed")
    return data, after


def signature(status: os.stat_result) -> Signature:
    """The parts of a file's status that any write to it, or its replacement, changes."""
    return (
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


def is_executable(status: os.stat_result) -> bool:
    """Whether the file's owner may execute it: the bit a restored file gets back."""
    return bool(status.st_mode & stat.S_IXUSR)


def changed(root: Path, name: str, how: str) -> CheckpointError:
    """The error for a folder that changed while it was stored; nothing was recorded."""
    return _error(
        root,
        f"{name!r} {how} while the folder was being stored; report the folder once it is "
        "fully written (nothing was recorded)",
    )


def _error(root: Path, problem: str) -> CheckpointError:
    return CheckpointError(f"directory checkpoint {root}: {problem}")
