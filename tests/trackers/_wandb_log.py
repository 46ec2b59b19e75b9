"""Reading a W&B offline run file (``run-<id>.wandb``): wandb's own protobuf records in the
LevelDB log format it writes (wandb ships no Python reader of it any more)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768  # LevelDB log block size
HEADER = 7  # ":W&B", a 2-byte magic and a version byte, then each record's crc, length, type


def records(path: Path) -> Iterator[Any]:
    """Every record of the file, as ``wandb.proto.wandb_internal_pb2.Record``."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is no W&B run file"
    position, chunks = HEADER, []
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < HEADER:  # the rest of a block too small for a header is padding
            position += left
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + HEADER])
        chunks.append(data[position + HEADER : position + HEADER + length])
        position += HEADER + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            chunks = []
            yield record


@dataclass
class OfflineRun:
    """What one offline run recorded: its id, group, config, fork point and history rows."""

    id: str = ""
    group: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    fork: tuple[str, int] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def read_run(path: Path) -> OfflineRun:
    out = OfflineRun()
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out.id, out.group = record.run.run_id, record.run.run_group
            out.config = {u.key: json.loads(u.value_json) for u in record.run.config.update}
            if record.run.branch_point.run:
                out.fork = (record.run.branch_point.run, int(record.run.branch_point.value))
        elif kind == "history":
            row = {
                "/".join(i.nested_key) or i.key: json.loads(i.value_json)
                for i in record.history.item
            }
            out.history.append(row)
    return out


def read_runs(folder: Path) -> dict[str, OfflineRun]:
    """Every offline run under a ``WANDB_DIR``, by run id."""
    runs = [read_run(path) for path in folder.glob("wandb/offline-run-*/run-*.wandb")]
    return {r.id: r for r in runs}
