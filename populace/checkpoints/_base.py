"""The contract of a checkpoint store, and the checkpoints built on it: objects and folders."""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from populace.checkpoints._directory import Directory
from populace.checkpoints._format import decode, encode
from populace.checkpoints._put_directory import put_directory
from populace.checkpoints._refs import describe
from populace.checkpoints._restore import restore_directory
from populace.errors import CheckpointError

__all__ = ["OWNER_FILE", "BaseCheckpointStore", "parse_owner"]

OWNER_FILE = "populace-store.json"  # the owner record, at the root of a store


class BaseCheckpointStore(abc.ABC):
    """Where checkpoints live: immutable blobs addressed by the sha256 of their bytes.

    The contract below is checked by :class:`populace.testing.CheckpointStoreSuite` against
    every store. A ref is ``"sha256:<64 lowercase hex digits>"``; every method taking a ref raises
    :class:`CheckpointError` on a malformed one. A blob never changes once written, so a ref
    always means the same bytes.

    ``put_bytes`` makes the bytes durable *before* it returns their ref, so a ref recorded in
    storage can never point at nothing. Writing content that is already stored writes nothing
    but marks the blob as put now (``modified``), so a collector running meanwhile keeps it.
    ``get_bytes`` checks the bytes against the ref and raises :class:`CheckpointError` naming
    the ref and the caller's ``context`` (e.g. ``"member 3 at step 40"``) when the blob is
    missing or corrupted. ``delete`` of a missing blob is not an error; deleting is the garbage
    collector's job, never a reader's.

    A store belongs to one storage (database): its *owner record*, a small JSON document beside
    the blobs (``read_owner``/``write_owner``), says which database and which populations use
    it, so that no other database's collector deletes blobs it cannot see.

    Implementations are safe to use from several threads and processes at once: two writers of
    one ref write identical bytes, so whichever lands is right. A writer that crashes leaves no
    partial blob, at most a temp file that ``remove_stale_temp_files`` deletes later.
    Subclasses implement the abstract methods, and should override ``head`` with a ranged read;
    ``put`` and ``get`` add the safe encoding of :mod:`._format` on top, and ``put`` of a
    :class:`~populace.checkpoints.Directory` with ``get_directory`` store and restore a folder
    as one blob per file plus a manifest (:mod:`._manifest`).
    """

    @property
    @abc.abstractmethod
    def uri(self) -> str:
        """Where the store lives, enough to open it again from another process."""

    @abc.abstractmethod
    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` durably and return its ref."""

    @abc.abstractmethod
    def get_bytes(self, ref: str, context: str = "") -> bytes:
        """Return the verified bytes of ``ref``; ``context`` says who wanted them, for errors."""

    @abc.abstractmethod
    def exists(self, ref: str) -> bool:
        """Whether the blob ``ref`` is stored."""

    @abc.abstractmethod
    def delete(self, ref: str, *, unless_put_after: float | None = None) -> bool:
        """Remove the blob ``ref``, if it is stored, and return whether it was removed.

        With ``unless_put_after`` (a ``time.time()`` value), a blob put (written or re-put)
        after that moment is kept: a writer may be about to record its ref.
        """

    @abc.abstractmethod
    def modified(self, ref: str) -> float:
        """When the blob ``ref`` was last put, as a ``time.time()`` value.

        Raises:
            CheckpointError: the blob is missing.
        """

    @abc.abstractmethod
    def read_owner(self) -> dict[str, Any] | None:
        """The store's owner record, or None if nobody has claimed the store yet."""

    @abc.abstractmethod
    def write_owner(self, record: Mapping[str, Any]) -> None:
        """Replace the store's owner record (atomically: readers see the old or the new one)."""

    @abc.abstractmethod
    def refs(self) -> Iterator[str]:
        """Yield the ref of every stored blob."""

    @abc.abstractmethod
    def location(self, ref: str) -> str:
        """Where the blob ``ref`` lies: a file path, or a URL without its password."""

    @abc.abstractmethod
    def size(self, ref: str) -> int:
        """Return the size in bytes of the stored blob ``ref``."""

    def head(self, ref: str, size: int, context: str = "") -> bytes:
        """Return the first ``size`` bytes of the blob ``ref`` (all of it if it is shorter).

        Unverified, as a part cannot be checked against the hash of the whole: enough to tell a
        directory checkpoint's manifest from an object checkpoint without reading a large blob,
        as garbage collection does for every kept ref. The default reads the whole blob; stores
        override it with a ranged read.

        Raises:
            CheckpointError: the blob is missing or cannot be read.
        """
        return self.get_bytes(ref, context)[:size]

    def remove_stale_temp_files(self, older_than_s: float) -> int:
        """Delete temp files that crashed writers left behind and return the bytes freed.

        Only files older than ``older_than_s`` seconds go, so a write in progress is left
        alone. A store that writes no temp files has none: the default removes nothing.
        """
        return 0

    @property
    def process_local(self) -> bool:
        """Whether the blobs live in this process only, unseen by worker processes."""
        return False

    def put(self, obj: object) -> str:
        """Store the checkpoint ``obj`` and return its ref.

        A :class:`~populace.checkpoints.Directory` is stored as a directory checkpoint: each
        file as a blob, then a manifest naming them, whose ref is returned. Anything else is
        encoded safely (see :func:`encode`) into one blob.

        Raises:
            CheckpointError: ``obj`` holds something that cannot be stored safely, a folder is
                missing, holds a symlink leading outside it or changed while it was stored, or
                the store cannot write.
        """
        if isinstance(obj, Directory):
            return put_directory(self, obj.path)
        return self.put_bytes(encode(obj))

    def get(self, ref: str, context: str = "") -> object:
        """Load and decode the checkpoint ``ref``.

        Raises:
            CheckpointError: the blob is missing, corrupted or not a checkpoint, or it is a
                directory checkpoint (restored by :meth:`get_directory` instead).
        """
        data = self.get_bytes(ref, context)
        try:
            return decode(data)
        except CheckpointError as exc:
            raise CheckpointError(f"{describe(ref, context)} cannot be loaded: {exc}") from exc

    def get_directory(self, ref: str, dest: str | os.PathLike[str], context: str = "") -> Path:
        """Write the directory checkpoint ``ref`` into the new or empty folder ``dest``.

        The folder appears whole or not at all (see
        :meth:`Checkpoint.load_directory <populace.checkpoints.Checkpoint.load_directory>`).

        Returns:
            The absolute path of ``dest``.

        Raises:
            CheckpointError: ``ref`` is not a directory checkpoint, a blob is missing or
                corrupted, or ``dest`` is not a new or empty folder or cannot be written.
        """
        return restore_directory(self, ref, dest, context)


def parse_owner(text: str, where: str) -> dict[str, Any]:
    """Parse an owner record read from ``where``."""
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise CheckpointError(f"{where} is not a populace owner record (a JSON object)")
    return record
