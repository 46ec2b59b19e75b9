"""The contract of a checkpoint store, plus the ref helpers every implementation shares."""

from __future__ import annotations

import abc
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from populace.checkpoints._format import decode, encode
from populace.errors import CheckpointError

__all__ = [
    "OWNER_FILE",
    "BaseCheckpointStore",
    "describe",
    "digest_of",
    "is_ref",
    "parse_owner",
    "ref_for",
    "verify",
]

_REF = re.compile(r"sha256:[0-9a-f]{64}")
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
    Subclasses implement the abstract methods; ``put`` and ``get`` add the safe encoding of
    :mod:`._format` on top.
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
        """Encode ``obj`` safely (see :func:`encode`), store it and return its ref.

        Raises:
            CheckpointError: ``obj`` holds something that cannot be stored safely, or the
                store cannot write.
        """
        return self.put_bytes(encode(obj))

    def get(self, ref: str, context: str = "") -> object:
        """Load and decode the checkpoint ``ref``.

        Raises:
            CheckpointError: the blob is missing, corrupted or not a checkpoint.
        """
        data = self.get_bytes(ref, context)
        try:
            return decode(data)
        except CheckpointError as exc:
            raise CheckpointError(f"{describe(ref, context)} cannot be loaded: {exc}") from exc


def parse_owner(text: str, where: str) -> dict[str, Any]:
    """Parse an owner record read from ``where``."""
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise CheckpointError(f"{where} is not a populace owner record (a JSON object)")
    return record


def ref_for(data: bytes) -> str:
    """Return the ref that addresses ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_ref(value: object) -> bool:
    """Whether ``value`` is a well-formed ref."""
    return isinstance(value, str) and _REF.fullmatch(value) is not None


def digest_of(ref: str) -> str:
    """Return the hex digest inside ``ref``, checking its syntax first."""
    if not is_ref(ref):
        raise CheckpointError(
            f"malformed checkpoint ref {ref!r:.100}: expected 'sha256:' and 64 lowercase hex digits"
        )
    return ref[len("sha256:") :]


def describe(ref: str, context: str) -> str:
    """Name a checkpoint in an error message, with the caller's context when there is one."""
    return f"checkpoint {ref} of {context}" if context else f"checkpoint {ref}"


def verify(ref: str, data: bytes, context: str) -> bytes:
    """Return ``data`` if it hashes to ``ref``."""
    actual = ref_for(data)
    if actual != ref:
        raise CheckpointError(f"{describe(ref, context)} is corrupted: its bytes hash to {actual}")
    return data
