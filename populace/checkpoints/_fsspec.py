"""A checkpoint store on any fsspec filesystem: a shared folder, S3, GCS, Azure, memory."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from populace import _secrets
from populace._imports import require
from populace.checkpoints._base import OWNER_FILE, BaseCheckpointStore, parse_owner
from populace.checkpoints._refs import describe, digest_of, is_ref, ref_for, verify
from populace.errors import CheckpointError

__all__ = ["OBJECT_STORE_PROTOCOLS", "FsspecCheckpointStore", "public_uri"]

OBJECT_STORE_PROTOCOLS = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss", "oci", "tos", "tosfs"}
)


class FsspecCheckpointStore(BaseCheckpointStore):
    """Checkpoints as files ``<url>/objects/<2 hex>/<62 hex>`` on any fsspec filesystem.

    The layout and the rules are :class:`LocalCheckpointStore`'s; only how a blob becomes
    visible whole depends on the filesystem, decided from its fsspec protocol:

    - Object stores (``s3``, ``gs``, ``az`` and the others in ``OBJECT_STORE_PROTOCOLS``)
      create an object only when its upload completes (one PUT, or the last call of a multipart
      upload), so readers never see part of one: a blob is written straight to its final key,
      and ``put_bytes`` returns once the store has acknowledged it.
    - Every other filesystem (local, memory, sftp, ...) may show a file while it is written, so
      a blob goes to a unique file in ``<url>/tmp/`` (fsynced when it has an OS file
      descriptor) and is then moved into place, an atomic rename on local and memory
      filesystems. ``remove_stale_temp_files`` deletes what crashed writers left there.

    Credentials stay out of the database: only :attr:`uri`, the URL without its password, is
    recorded with a population, and every process that reopens the store (worker processes,
    ``pop.load``) takes credentials from its environment: the backend's own (``AWS_*``
    variables, ``~/.aws``, Google application default credentials) or fsspec's
    ``FSSPEC_<PROTOCOL>_<OPTION>`` variables. ``storage_options`` and a password written in
    the URL serve this instance only; the password is shown as ``***`` in its repr and errors.

    Example:
        >>> store = FsspecCheckpointStore("memory://runs/demo")
        >>> ref = store.put({"step": 40, "weights": [0.5, 1.5]})
        >>> store.get(ref, context="member 3 at step 40")
        {'step': 40, 'weights': [0.5, 1.5]}

    Args:
        url: fsspec URL of the store's folder or prefix: ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``file:///shared/ckpt``, ``memory://name``.
        create: Create the store's folders where the filesystem has folders; without it,
            nothing is written until a blob is.
        storage_options: Passed to the filesystem (``endpoint_url=...``, ``anon=True``, ...).

    Raises:
        CheckpointError: fsspec, or the package for the URL's protocol, is not installed; the
            protocol is unknown; or the store's folder cannot be created.
    """

    def __init__(self, url: str, *, create: bool = True, **storage_options: Any) -> None:
        self._shown = _secrets.mask_url(url)
        self._secrets = _secrets.url_secrets(url)
        self._uri = public_uri(url)
        self._fs, root = self._filesystem(url, storage_options)
        root = root.rstrip("/")
        self._objects = f"{root}/objects"
        self._tmp = f"{root}/tmp"
        self._owner = f"{root}/{OWNER_FILE}"
        protocol = self._fs.protocol
        self._protocols = {protocol} if isinstance(protocol, str) else set(protocol)
        self._direct = bool(self._protocols & OBJECT_STORE_PROTOCOLS)
        if create and not self._direct:
            with self._failing("cannot create a checkpoint store at"):
                self._fs.makedirs(self._objects, exist_ok=True)
                self._fs.makedirs(self._tmp, exist_ok=True)

    def __repr__(self) -> str:
        return f"FsspecCheckpointStore({self._shown!r})"

    @property
    def uri(self) -> str:
        """The store's URL without a password: what is recorded with a population."""
        return self._uri

    @property
    def process_local(self) -> bool:
        """Whether the blobs live in this process's memory (the ``memory`` filesystem)."""
        return "memory" in self._protocols

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its ref once the filesystem holds all of it."""
        ref = ref_for(data)
        path = self._path(ref)
        with self._failing(f"cannot write checkpoint {ref} to"):
            # A blob of the right size was made visible whole: the bytes are there. Its time is
            # renewed (by a write where the filesystem cannot touch), so a collector running
            # meanwhile sees it as just put.
            if self._size(path) != len(data) or not self._touch(path):
                if self._direct:
                    self._fs.pipe_file(path, data)
                else:
                    self._write_and_move(path, data)
        return ref

    def get_bytes(self, ref: str, context: str = "") -> bytes:
        """Return the bytes of ``ref`` after checking them against their sha256."""
        path = self._path(ref)
        with self._failing(f"{describe(ref, context)} cannot be read from"):
            try:
                data = self._fs.cat_file(path)
            except FileNotFoundError:
                raise CheckpointError(
                    f"{describe(ref, context)} is missing from {self._shown}"
                ) from None
        return verify(ref, data, context)

    def head(self, ref: str, size: int, context: str = "") -> bytes:
        """Return the first ``size`` bytes of the blob ``ref``, unverified: one ranged read."""
        path = self._path(ref)
        with self._failing(f"{describe(ref, context)} cannot be read from"):
            try:
                return bytes(self._fs.cat_file(path, start=0, end=size))
            except FileNotFoundError:
                raise CheckpointError(
                    f"{describe(ref, context)} is missing from {self._shown}"
                ) from None
            except OSError:
                if self._size(path) == 0:  # object stores refuse any range of an empty object
                    return b""
                raise

    def exists(self, ref: str) -> bool:
        """Whether the blob ``ref`` is stored."""
        path = self._path(ref)
        with self._failing(f"cannot look up checkpoint {ref} in"):
            return self._size(path) is not None

    def delete(self, ref: str, *, unless_put_after: float | None = None) -> bool:
        """Remove the blob ``ref`` and return whether it was there; a missing blob is not an
        error. With ``unless_put_after``, a blob put after that time stays.

        Remote filesystems cannot rename a blob aside to check it, so a writer that re-puts the
        blob between the check and the removal loses it; collectors leave blobs alone for
        minutes after their last put, far longer than a writer takes to record a ref.
        """
        path = self._path(ref)
        with self._failing(f"cannot delete checkpoint {ref} from"):
            try:
                # Looked up first even without ``unless_put_after``: s3fs removes a missing key
                # without an error, and the answer must say whether the blob was there.
                put_at = self._modified(path)
                if unless_put_after is not None and put_at > unless_put_after:
                    return False
                self._fs.rm(path)
            except FileNotFoundError:
                return False
            finally:
                self._fs.invalidate_cache(path)
        return True

    def modified(self, ref: str) -> float:
        """When the blob ``ref`` was last put, as the filesystem records it."""
        path = self._path(ref)
        with self._failing(f"cannot look up checkpoint {ref} in"):
            try:
                return self._modified(path)
            except FileNotFoundError:
                raise CheckpointError(
                    f"{describe(ref, '')} is missing from {self._shown}"
                ) from None

    def read_owner(self) -> dict[str, Any] | None:
        """The owner record ``<url>/populace-store.json``, or None."""
        with self._failing("cannot read the owner record of"):
            try:
                text = self._fs.cat_file(self._owner).decode()
            except FileNotFoundError:
                return None
        return parse_owner(text, f"{self._uri}/{OWNER_FILE}")

    def write_owner(self, record: Mapping[str, Any]) -> None:
        """Write ``<url>/populace-store.json`` whole (one PUT, or a temp file moved in place)."""
        data = json.dumps(dict(record), indent=1).encode()
        with self._failing("cannot write the owner record of"):
            if self._direct:
                self._fs.pipe_file(self._owner, data)
            else:
                self._write_and_move(self._owner, data)
            self._fs.invalidate_cache(self._owner)

    def refs(self) -> Iterator[str]:
        """Yield the ref of every stored blob, in sorted order."""
        with self._failing("cannot list the checkpoints in"):
            self._fs.invalidate_cache(self._objects)  # see other processes' writes
            paths = self._fs.find(self._objects)
        for path in sorted(paths):
            folder, _, name = path[len(self._objects) + 1 :].partition("/")
            ref = f"sha256:{folder}{name}"
            if len(folder) == 2 and is_ref(ref):
                yield ref

    def location(self, ref: str) -> str:
        """The URL of the blob ``ref``: ``<uri>/objects/<2 hex>/<62 hex>``, password left out."""
        digest = digest_of(ref)
        return f"{self._uri.rstrip('/')}/objects/{digest[:2]}/{digest[2:]}"

    def size(self, ref: str) -> int:
        """Return the size in bytes of the blob ``ref``."""
        path = self._path(ref)
        with self._failing(f"cannot look up checkpoint {ref} in"):
            size = self._size(path)
        if size is None:
            raise CheckpointError(f"{describe(ref, '')} is missing from {self._shown}")
        return size

    def remove_stale_temp_files(self, older_than_s: float) -> int:
        """Delete temp files older than ``older_than_s`` seconds and return the bytes freed.

        Younger files may belong to a write in progress and are left alone, as are files whose
        age the filesystem cannot tell.
        """
        deadline = time.time() - older_than_s
        freed = 0
        with self._failing("cannot remove stale temp files from"):
            self._fs.invalidate_cache(self._tmp)
            try:
                entries = self._fs.ls(self._tmp, detail=True)
            except FileNotFoundError:  # an object store never writes temp files
                return 0
            for entry in entries:
                with contextlib.suppress(FileNotFoundError, NotImplementedError):
                    if entry["type"] == "file" and self._modified(entry["name"]) < deadline:
                        self._fs.rm(entry["name"])
                        freed += int(entry["size"])
        return freed

    def _path(self, ref: str) -> str:
        digest = digest_of(ref)
        return f"{self._objects}/{digest[:2]}/{digest[2:]}"

    def _size(self, path: str) -> int | None:
        self._fs.invalidate_cache(path)
        try:
            return int(self._fs.size(path))
        except FileNotFoundError:
            return None

    def _modified(self, path: str) -> float:
        self._fs.invalidate_cache(path)
        return float(self._fs.modified(path).timestamp())

    def _touch(self, path: str) -> bool:
        """Renew the time of ``path`` in place; False where the filesystem cannot."""
        try:
            self._fs.touch(path, truncate=False)
        except (NotImplementedError, FileNotFoundError, ValueError):
            return False
        self._fs.invalidate_cache(path)
        return True

    def _write_and_move(self, path: str, data: bytes) -> None:
        temp = f"{self._tmp}/{posixpath.basename(path)[:16]}-{uuid.uuid4().hex}.tmp"
        try:
            with self._fs.open(temp, "wb") as file:
                file.write(data)
                _sync(file)
            self._fs.makedirs(posixpath.dirname(path), exist_ok=True)
            self._fs.mv(temp, path)
        except BaseException:
            with contextlib.suppress(Exception):
                self._fs.rm(temp)
            raise

    def _filesystem(self, url: str, options: dict[str, Any]) -> tuple[Any, str]:
        """Open the fsspec filesystem of ``url``; return it and the store's root path in it."""
        try:
            fsspec = require("fsspec", "remote")
        except ImportError as exc:
            raise CheckpointError(f"checkpoint store {self._shown} needs fsspec: {exc}") from None
        with self._failing("cannot open checkpoint store"):
            try:
                fs, root = fsspec.url_to_fs(url, **options)
            except ImportError as exc:  # fsspec names the package: "Install s3fs to access S3"
                raise CheckpointError(
                    f"checkpoint store {self._shown} needs a package that fsspec does not "
                    f"bring: {self._mask(str(exc))}"
                ) from None
        return fs, str(root)

    @contextlib.contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        """Turn a filesystem error into a CheckpointError: ``<what> <url>: <error>``.

        Filesystems raise errors of their own types, which may quote the URL and with it a
        password; the message is masked, and the original is not chained when there is a
        password to hide.
        """
        try:
            yield
        except CheckpointError:
            raise
        except Exception as exc:
            error = CheckpointError(
                f"{what} {self._shown}: {self._mask(str(exc) or type(exc).__name__)}"
            )
            if self._secrets:
                raise error from None
            raise error from exc

    def _mask(self, text: str) -> str:
        return _secrets.mask(text, self._secrets)


def public_uri(url: str) -> str:
    """``url`` without its secrets and trailing slashes: the form recorded with a population."""
    url = _secrets.without_secrets(url)
    trimmed = url.rstrip("/")
    return url if trimmed.endswith(":") else trimmed


def _sync(file: Any) -> None:
    """Flush ``file`` and fsync it when it has an OS descriptor (a local or mounted filesystem)."""
    file.flush()
    try:
        descriptor = file.fileno()
    except (AttributeError, OSError, ValueError):  # remote and in-memory files have none
        return
    os.fsync(descriptor)
