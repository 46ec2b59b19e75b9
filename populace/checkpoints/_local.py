"""A checkpoint store in a folder of the local (or a shared, mounted) file system."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from populace.checkpoints._base import OWNER_FILE, BaseCheckpointStore, parse_owner
from populace.checkpoints._refs import describe, digest_of, is_ref, ref_for, verify
from populace.errors import CheckpointError

__all__ = ["LocalCheckpointStore"]


class LocalCheckpointStore(BaseCheckpointStore):
    """Checkpoints as files under ``root/objects/<2 hex>/<62 hex>``.

    Each blob is written to a unique file in ``root/tmp/``, flushed to disk and renamed into
    place, so a blob is either absent or complete, even after a crash. Concurrent writers in
    threads or processes are safe because the rename is atomic and two writers of one ref
    write the same bytes. The folder is created if missing.

    Example:
        >>> from populace.checkpoints import LocalCheckpointStore
        >>> store = LocalCheckpointStore("checkpoints")
        >>> ref = store.put({"step": 40, "weights": [0.5, 1.5]})
        >>> store.get(ref, context="member 3 at step 40")
        {'step': 40, 'weights': [0.5, 1.5]}

    Args:
        root: The folder holding the store.
        durable: fsync each blob and its folder before the ref is returned, so a blob survives
            an operating-system crash as long as the storage that refers to it does. Turn it
            off only for throwaway stores (an in-memory run's temporary folder).
        create: Create the folder if it is missing; without it, a missing folder is a store
            with no blobs, and writing to it fails (for readers that must not write).

    Raises:
        CheckpointError: The folder cannot be created.
    """

    def __init__(
        self, root: str | os.PathLike[str], durable: bool = True, *, create: bool = True
    ) -> None:
        self._root = Path(os.path.abspath(root))
        self._durable = durable
        self._objects = self._root / "objects"
        self._tmp = self._root / "tmp"
        self._owner = self._root / OWNER_FILE
        if not create:
            return
        try:
            self._objects.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create a checkpoint store at {self._root}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"LocalCheckpointStore({self.uri!r})"

    @property
    def uri(self) -> str:
        """The absolute path of the store's folder."""
        return str(self._root)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` durably (fsynced and renamed into place) and return its ref."""
        ref = ref_for(data)
        path = self._path(ref)
        try:
            # A blob of the right size was completed by an atomic rename: the bytes are there.
            # Its time is renewed, so a collector running meanwhile sees it as just put.
            if not (_has_size(path, len(data)) and _touch(path)):
                self._write(path, data)
        except OSError as exc:
            raise CheckpointError(f"cannot write checkpoint {ref} to {self._root}: {exc}") from exc
        return ref

    def get_bytes(self, ref: str, context: str = "") -> bytes:
        """Return the bytes of ``ref`` after checking them against their sha256."""
        return verify(ref, self._read_blob(ref, -1, context), context)

    def head(self, ref: str, size: int, context: str = "") -> bytes:
        """Return the first ``size`` bytes of the blob ``ref``, unverified, read alone."""
        return self._read_blob(ref, size, context)

    def exists(self, ref: str) -> bool:
        """Whether the blob ``ref`` is stored."""
        return self._path(ref).is_file()

    def delete(self, ref: str, *, unless_put_after: float | None = None) -> bool:
        """Remove the blob ``ref`` and return whether it was there; a missing blob is not an
        error. With ``unless_put_after``, a blob put after that time stays.

        The blob is first renamed aside, then its time is read: a writer that renewed it
        before the rename is seen, and one after the rename finds no blob and writes it anew.
        """
        path = self._path(ref)
        try:
            if unless_put_after is None:
                path.unlink()
                return True
            aside = self._tmp / f"{path.name[:16]}-{uuid.uuid4().hex}.deleted"
            os.rename(path, aside)
            if aside.stat().st_mtime > unless_put_after:
                os.replace(aside, path)  # put again meanwhile: the same bytes go back
                return False
            aside.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise CheckpointError(
                f"cannot delete checkpoint {ref} from {self._root}: {exc}"
            ) from exc

    def modified(self, ref: str) -> float:
        """When the blob ``ref`` was last put (its file's modification time)."""
        try:
            return self._path(ref).stat().st_mtime
        except FileNotFoundError as exc:
            raise CheckpointError(f"{describe(ref, '')} is missing from {self._root}") from exc

    def read_owner(self) -> dict[str, Any] | None:
        """The owner record in ``<root>/populace-store.json``, or None."""
        try:
            text = self._owner.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CheckpointError(f"cannot read {self._owner}: {exc}") from exc
        return parse_owner(text, str(self._owner))

    def write_owner(self, record: Mapping[str, Any]) -> None:
        """Write ``<root>/populace-store.json`` through a temp file and an atomic rename."""
        try:
            self._write(self._owner, json.dumps(dict(record), indent=1).encode())
        except OSError as exc:
            raise CheckpointError(f"cannot write {self._owner}: {exc}") from exc

    def refs(self) -> Iterator[str]:
        """Yield the ref of every stored blob, in sorted order."""
        for path in sorted(self._objects.glob("*/*")):  # nothing when the folder is missing
            ref = f"sha256:{path.parent.name}{path.name}"
            if is_ref(ref):
                yield ref

    def location(self, ref: str) -> str:
        """The path of the blob ``ref``: ``<root>/objects/<2 hex>/<62 hex>``."""
        return str(self._path(ref))

    def size(self, ref: str) -> int:
        """Return the size in bytes of the blob ``ref``."""
        try:
            return self._path(ref).stat().st_size
        except FileNotFoundError as exc:
            raise CheckpointError(f"{describe(ref, '')} is missing from {self._root}") from exc

    def remove_stale_temp_files(self, older_than_s: float) -> int:
        """Delete temp files left by crashed writers and return the bytes freed.

        Only files older than ``older_than_s`` seconds go, so a write in progress is left alone.
        """
        freed = 0
        deadline = time.time() - older_than_s
        for path in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                if stat.st_mtime < deadline:
                    path.unlink()
                    freed += stat.st_size
        return freed

    def _read_blob(self, ref: str, size: int, context: str) -> bytes:
        """The first ``size`` bytes of the blob ``ref`` (all with -1), unverified."""
        try:
            return _read_bytes(self._path(ref), size)
        except FileNotFoundError as exc:
            raise CheckpointError(f"{describe(ref, context)} is missing from {self._root}") from exc
        except OSError as exc:
            raise CheckpointError(
                f"{describe(ref, context)} cannot be read from {self._root}: {exc}"
            ) from exc

    def _path(self, ref: str) -> Path:
        digest = digest_of(ref)
        return self._objects / digest[:2] / digest[2:]

    def _write(self, path: Path, data: bytes) -> None:
        if not path.parent.is_dir():
            path.parent.mkdir(exist_ok=True)
            self._fsync_dir(self._objects)
        fd, temp = tempfile.mkstemp(dir=self._tmp, prefix=path.name[:16], suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                if self._durable:
                    os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        self._fsync_dir(path.parent)

    def _fsync_dir(self, path: Path) -> None:
        if self._durable:
            _fsync_dir(path)


def _touch(path: Path) -> bool:
    """Renew the modification time of ``path``; False if it is gone (a collector took it)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _read_bytes(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of the file ``path`` (all with -1)."""
    try:
        return _read(path, size)
    except FileNotFoundError:
        # A collector may hold a blob renamed aside for an instant while it checks whether a
        # writer just put it again (see delete); look once more before calling it missing.
        time.sleep(0.05)
        return _read(path, size)


def _read(path: Path, size: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(size)


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable; best effort, as some systems cannot open folders."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
