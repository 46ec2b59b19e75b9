"""Opening a checkpoint store from a path or URL, such as the one recorded with a population."""

from __future__ import annotations

import os
import re
from pathlib import Path

from populace.checkpoints._base import BaseCheckpointStore
from populace.checkpoints._fsspec import FsspecCheckpointStore, public_uri
from populace.checkpoints._local import LocalCheckpointStore

__all__ = ["is_url", "open_checkpoint_store", "sibling_uri", "store_uri"]

_PROTOCOL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)(?:://|::)")  # "s3://", or "simplecache::"
_LOCAL = ("file", "local")


def open_checkpoint_store(
    uri: str | os.PathLike[str], *, create: bool = True
) -> BaseCheckpointStore:
    """Open the checkpoint store at ``uri``, a folder path or an fsspec URL; ``create=False``
    opens it without creating anything (a missing store then holds no blobs).

    A plain path or a ``file://`` URL opens a :class:`LocalCheckpointStore`, the fast path that
    fsyncs files and folders; any other URL (``s3://bucket/prefix``, ``gs://bucket/prefix``,
    ``memory://name``) an :class:`FsspecCheckpointStore`, whose credentials come from the
    environment.

    Example:
        >>> from populace.checkpoints import open_checkpoint_store
        >>> open_checkpoint_store("run-checkpoints")  # a folder here, made absolute
        LocalCheckpointStore('/.../run-checkpoints')
        >>> open_checkpoint_store("memory://pbt/checkpoints")  # s3:// needs s3fs, gs:// gcsfs
        FsspecCheckpointStore('memory://pbt/checkpoints')

    Raises:
        CheckpointError: fsspec, or the package for the URL's protocol (s3fs, gcsfs, adlfs),
            is not installed; the protocol is unknown; or the store cannot be created.
    """
    path = _local_path(uri)
    if path is not None:
        return LocalCheckpointStore(path, create=create)
    return FsspecCheckpointStore(str(uri), create=create)


def store_uri(uri: str | os.PathLike[str]) -> str:
    """The ``uri`` of the store :func:`open_checkpoint_store` would open, without opening it."""
    path = _local_path(uri)
    return os.path.abspath(path) if path is not None else public_uri(str(uri))


def is_url(uri: str) -> bool:
    """Whether ``uri`` is a URL (``s3://...``, ``file://...``, ``simplecache::...``), not a path."""
    return _protocol(uri) is not None


def sibling_uri(uri: str, name: str) -> str:
    """The URI of a store called ``name`` beside the store at ``uri``.

    A store at the root of a bucket has no folder beside it: the sibling goes inside it, where
    the store's own listings (under ``objects/`` and ``tmp/``) never reach it.
    """
    if not is_url(uri):
        return str(Path(uri).parent / name)
    parent, _, _ = uri.rstrip("/").rpartition("/")
    return f"{uri.rstrip('/')}/{name}" if parent.endswith(":/") else f"{parent}/{name}"


def _local_path(uri: str | os.PathLike[str]) -> str | os.PathLike[str] | None:
    """The folder of a store on the local filesystem (a path or a plain ``file://`` URL), or
    None for a store fsspec opens."""
    if isinstance(uri, os.PathLike):
        return uri
    protocol = _protocol(uri)
    if protocol is None:
        return uri
    if protocol in _LOCAL and "::" not in uri:
        return uri.split("://", 1)[1]
    return None


def _protocol(uri: str) -> str | None:
    match = _PROTOCOL.match(uri)
    return match.group(1).lower() if match else None
