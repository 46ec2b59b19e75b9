"""Checkpoint encoding: a JSON tree plus raw segments, never an arbitrary pickle.

Loading a checkpoint must not run code, so only plain data is accepted: JSON scalars, bytes,
numpy arrays (``.npy`` without pickle) and torch tensors (one ``torch.save`` segment loaded
with ``weights_only=True``). Layout::

    MAGIC | crc32 of the rest (u32 LE) | header length (u64 LE) | header JSON | segments

The crc32 lets ``decode`` reject truncated or bit-flipped data on its own, whatever store the
bytes came from. Tree nodes in the header: null, booleans, numbers (NaN and infinities use
Python's ``json`` tokens) and strings stand for themselves, a JSON list is a list, and a JSON
object carries exactly one tag: ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``,
``{"bytes": i}``, ``{"ndarray": i}``, ``{"npscalar": i}`` (segment ``i``), ``{"raw": [i, dtype,
shape]}`` (a dense torch tensor whose bytes are segment ``i``) or ``{"tensor": j}`` (``j``-th
tensor of the torch segment, for sparse and other layouts that have no plain bytes).

A directory checkpoint is no such tree but a manifest of files (:mod:`._manifest`): ``encode``
refuses a ``Directory`` inside a checkpoint, and ``decode`` of a manifest says to restore it
with ``load_directory``.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from typing import Any

import numpy as np

from populace.checkpoints._directory import Directory
from populace.checkpoints._manifest import MAGIC as DIRECTORY_MAGIC
from populace.errors import CheckpointError

__all__ = ["MAGIC", "decode", "encode"]

MAGIC = b"POPCKPT1"
_PREFIX = struct.Struct("<8sIQ")
_CHECKED_FROM = len(MAGIC) + 4  # the crc32 covers the header length, header and segments
_VERSION = 1
Path = tuple[object, ...]  # the keys and indices leading to an object, from the root
_ALLOWED = "dict, list, tuple, str, int, float, bool, None, bytes, numpy arrays, torch tensors"


def encode(obj: object) -> bytes:
    """Encode ``obj`` into the checkpoint format.

    Containers that subclass dict, list or tuple (``OrderedDict``, named tuples) and scalars
    that subclass int, float or str come back as the base type. A numpy scalar comes back as a
    numpy scalar of the same dtype; a torch tensor comes back as a plain CPU tensor of the same
    dtype, shape and values, without ``requires_grad``.

    Raises:
        CheckpointError: ``obj`` holds something else, named by its path and type.
    """
    encoder = _Encoder()
    try:
        tree = encoder.node(obj, ())
    except RecursionError as exc:
        raise CheckpointError("checkpoint is nested too deeply or contains itself") from exc
    torch_index = None
    if encoder.tensors:
        torch_index = len(encoder.segments)
        encoder.segments.append([_save_tensors(encoder.tensors)])
    header = {
        "version": _VERSION,
        "tree": tree,
        "segments": [sum(len(p) for p in s) for s in encoder.segments],
        "torch": torch_index,
    }
    return _frame(header, encoder.segments)


def decode(data: bytes) -> object:
    """Decode bytes made by :func:`encode`; no code stored in them is ever run.

    Raises:
        CheckpointError: ``data`` is not a checkpoint, or is truncated or corrupted.
    """
    try:
        return _decode(memoryview(data).cast("B"))
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"checkpoint data is corrupted: {exc!r:.300}") from exc


def _frame(header: dict[str, Any], segments: list[list[bytes | memoryview]]) -> bytes:
    """Assemble the container from a header and its segments, each given as a list of parts."""
    head = json.dumps(header, separators=(",", ":")).encode("ascii")
    length = struct.pack("<Q", len(head))
    parts = [part for segment in segments for part in segment]
    crc = zlib.crc32(head, zlib.crc32(length))
    for part in parts:
        crc = zlib.crc32(part, crc)
    return b"".join([MAGIC, struct.pack("<I", crc), length, head, *parts])


class _Encoder:
    """Walks an object, turning it into a JSON tree and collecting its binary segments."""

    def __init__(self) -> None:
        self.segments: list[list[bytes | memoryview]] = []
        self.tensors: list[Any] = []

    def node(self, obj: object, path: Path) -> Any:
        """Return the header node for ``obj``, found at the keys ``path`` from the root."""
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(obj, torch.Tensor):
            tensor = _plain_tensor(torch, obj, path)
            if tensor.layout == torch.strided and not tensor.is_quantized:
                dtype = str(tensor.dtype).removeprefix("torch.")
                raw = tensor.reshape(-1).view(torch.uint8).numpy().data
                return {"raw": [self._segment(raw), dtype, list(tensor.shape)]}
            self.tensors.append(tensor)
            return {"tensor": len(self.tensors) - 1}
        if isinstance(obj, np.ndarray) and not isinstance(obj, np.ma.MaskedArray):
            return {"ndarray": self._segment(*_npy(obj, path))}
        if isinstance(obj, np.generic):
            return {"npscalar": self._segment(*_npy(np.asarray(obj), path))}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, bytes):
            return {"bytes": self._segment(obj)}
        if isinstance(obj, dict):
            return {"dict": [[_key(k, path), self.node(v, (*path, k))] for k, v in obj.items()]}
        if isinstance(obj, list):
            return [self.node(v, (*path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.node(v, (*path, i)) for i, v in enumerate(obj)]}
        if isinstance(obj, Directory):
            raise CheckpointError(
                f"{_describe(path)}: a Directory can only be a whole checkpoint "
                "(checkpoint=pop.Directory(path)), not part of one"
            )
        raise _refused(path, type(obj).__name__)

    def _segment(self, *parts: bytes | memoryview) -> int:
        self.segments.append(list(parts))
        return len(self.segments) - 1


def _describe(path: Path) -> str:
    """``checkpoint["model"][0]``: where an offending object sits, built only for the error."""
    keys = (f"[{json.dumps(k) if isinstance(k, str) else repr(k)}]" for k in path)
    return "checkpoint" + "".join(keys)


def _refused(path: Path, what: str) -> CheckpointError:
    return CheckpointError(
        f"{_describe(path)}: cannot store an object of type {what} safely (allowed: {_ALLOWED})"
    )


def _key(key: object, path: Path) -> object:
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    raise CheckpointError(
        f"{_describe((*path, key))}: cannot use a dict key of type {type(key).__name__} "
        "(allowed: str, int, float, bool, None)"
    )


def _npy(array: np.ndarray, path: Path) -> list[bytes | memoryview]:
    """Return ``array`` in ``.npy`` format, as a header plus the array's memory when it can."""
    if array.dtype.hasobject:
        raise _refused(path, f"ndarray with dtype {array.dtype}")
    buffer = io.BytesIO()
    if array.dtype.kind not in "biufc":  # structured, string and date dtypes: numpy writes them
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        return [buffer.getvalue()]
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(array))
    # Big arrays are joined into the checkpoint straight from their memory, saving a copy.
    return [buffer.getvalue(), array.reshape(-1).view(np.uint8).data]


def _plain_tensor(torch: Any, tensor: Any, path: Path) -> Any:
    """Detach ``tensor`` onto the CPU, copying it when it is a view into a larger storage."""
    try:
        tensor = tensor.detach().to("cpu")
    except (RuntimeError, NotImplementedError) as exc:  # meta or fake tensors hold no data
        where = _describe(path)
        raise CheckpointError(f"{where}: cannot copy the tensor to the CPU: {exc}") from exc
    if tensor.layout == torch.strided and (
        not tensor.is_contiguous()
        or tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size()
    ):
        tensor = tensor.clone(memory_format=torch.contiguous_format)
    return tensor


def _save_tensors(tensors: list[Any]) -> bytes:
    # One torch.save for all tensors: per-tensor archives cost milliseconds each.
    import torch

    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def _decode(data: memoryview) -> object:
    if bytes(data[: len(DIRECTORY_MAGIC)]) == DIRECTORY_MAGIC:
        raise CheckpointError(
            "it is a directory checkpoint (a folder of files): restore it with "
            "checkpoint.load_directory(dest), not load()"
        )
    if len(data) < _PREFIX.size or bytes(data[: len(MAGIC)]) != MAGIC:
        raise CheckpointError("data is not a populace checkpoint (wrong magic prefix)")
    _, crc, head_len = _PREFIX.unpack_from(data)
    if zlib.crc32(data[_CHECKED_FROM:]) != crc:
        raise CheckpointError("checkpoint data is truncated or corrupted (crc32 mismatch)")
    header = json.loads(bytes(data[_PREFIX.size : _PREFIX.size + head_len]))
    if header.get("version") != _VERSION:
        raise CheckpointError(f"unsupported checkpoint format version {header.get('version')!r}")
    sizes = header["segments"]
    if (
        any(type(s) is not int or s < 0 for s in sizes)
        or sum(sizes) != len(data) - _PREFIX.size - head_len
    ):
        raise CheckpointError("checkpoint segment sizes do not add up to the data length")
    segments, offset = [], _PREFIX.size + head_len
    for size in sizes:
        segments.append(data[offset : offset + size])
        offset += size
    torch_index = header["torch"]
    tensors = (
        [] if torch_index is None else _load_tensors(segments[_index(torch_index, len(segments))])
    )
    return _Decoder(segments, tensors).node(header["tree"])


def _index(value: object, bound: int) -> int:
    """Return ``value`` if it is an int in ``[0, bound)``; a forged header may hold anything."""
    if type(value) is not int or not 0 <= value < bound:
        raise CheckpointError(f"checkpoint header holds an invalid index {value!r:.80}")
    return value


def _load_tensors(segment: memoryview) -> list[Any]:
    try:
        import torch
    except ImportError as exc:
        raise CheckpointError(
            "this checkpoint holds torch tensors; install torch (pip install 'populace[torch]')"
        ) from exc
    file = io.BufferedReader(_Reader(segment))
    tensors = torch.load(file, weights_only=True, map_location="cpu")
    if not isinstance(tensors, list) or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise CheckpointError("checkpoint torch segment does not hold a list of tensors")
    return tensors


class _Decoder:
    """Rebuilds an object from a header tree and the segments it points at."""

    def __init__(self, segments: list[memoryview], tensors: list[Any]) -> None:
        self.segments = segments
        self.tensors = tensors

    def node(self, node: Any) -> object:
        """Return the object that ``node`` stands for."""
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.node(n) for n in node]
        if isinstance(node, dict) and len(node) == 1:
            ((tag, value),) = node.items()
            if tag == "tuple" and isinstance(value, list):
                return tuple(self.node(n) for n in value)
            if tag == "dict" and isinstance(value, list):
                return {_leaf(k): self.node(v) for k, v in value}
            if tag == "tensor":
                return self.tensors[_index(value, len(self.tensors))]
            if tag == "raw" and isinstance(value, list) and len(value) == 3:
                return _raw_tensor(self.segments[_index(value[0], len(self.segments))], *value[1:])
            if tag in ("bytes", "ndarray", "npscalar"):
                segment = self.segments[_index(value, len(self.segments))]
                if tag == "bytes":
                    return bytes(segment)
                array = np.lib.format.read_array(_Reader(segment), allow_pickle=False)
                return array if tag == "ndarray" else array[()]
        raise CheckpointError(f"checkpoint header holds an unknown node {node!r:.80}")


def _raw_tensor(segment: memoryview, dtype_name: object, shape: object) -> Any:
    """A dense tensor from its bytes: no unpickling at all, just a typed copy of the segment."""
    import torch

    dtype = getattr(torch, dtype_name, None) if isinstance(dtype_name, str) else None
    if not isinstance(dtype, torch.dtype):
        raise CheckpointError(f"checkpoint header holds an invalid tensor dtype {dtype_name!r:.80}")
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise CheckpointError(f"checkpoint header holds an invalid tensor shape {shape!r:.80}")
    if not segment.nbytes:  # frombuffer refuses empty buffers
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(bytearray(segment), dtype=torch.uint8)
    return flat.view(dtype).reshape(shape)


def _leaf(key: object) -> object:
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    raise CheckpointError(f"checkpoint header holds an invalid dict key {key!r:.80}")


class _Reader(io.RawIOBase):
    """A read-only file over a memoryview, so a segment is parsed without being copied first."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        chunk = self._view[self._position : self._position + len(target)]
        target[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = (0, self._position, len(self._view))[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position
