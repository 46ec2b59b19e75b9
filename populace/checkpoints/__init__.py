"""Checkpoints: safe encoding, content-addressed stores, handles and garbage collection.

A checkpoint is any tree of dicts, lists, tuples, JSON scalars, bytes, numpy arrays and torch
tensors. It is encoded without pickle (:func:`encode`), stored once under the sha256 of its
bytes (:class:`BaseCheckpointStore`: a local folder, or any fsspec filesystem such as S3, each
opened from its path or URL by :func:`open_checkpoint_store`), handed to training code as a
:class:`Checkpoint` and deleted by :func:`collect_garbage` once nothing refers to it. A folder
reported as a :class:`Directory` is stored file by file under a manifest, and restored by
:meth:`Checkpoint.load_directory`.
"""

from populace.checkpoints._base import BaseCheckpointStore
from populace.checkpoints._directory import Directory
from populace.checkpoints._format import decode, encode
from populace.checkpoints._fsspec import FsspecCheckpointStore
from populace.checkpoints._gc import GarbageReport, collect_garbage
from populace.checkpoints._handle import Checkpoint
from populace.checkpoints._local import LocalCheckpointStore
from populace.checkpoints._open import open_checkpoint_store

__all__ = [
    "BaseCheckpointStore",
    "LocalCheckpointStore",
    "FsspecCheckpointStore",
    "open_checkpoint_store",
    "Checkpoint",
    "Directory",
    "encode",
    "decode",
    "collect_garbage",
    "GarbageReport",
]
