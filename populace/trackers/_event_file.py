"""One TensorBoard run written with the ``tensorboard`` package alone (no TensorFlow, no torch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from populace._imports import require
from populace.trackers._timeline import Entry

__all__ = ["EventRun"]


class EventRun:
    """A member's run: an event file that always holds its latest timeline.

    A timeline changes in the past when the member exploits (its history becomes its parent's)
    or rewinds to a checkpoint. Then a ``SessionLog.START`` event at the first changed step
    makes TensorBoard drop every event of the run at that step or later, and the timeline is
    written again from there; otherwise only the new entries are appended.
    """

    def __init__(self, directory: Path) -> None:
        writer = require("tensorboard.summary.writer.event_file_writer", "tensorboard")
        self._events = require("tensorboard.compat.proto.event_pb2", "tensorboard")
        self._summaries = require("tensorboard.compat.proto.summary_pb2", "tensorboard")
        self._text = require("tensorboard.plugins.text.summary_v2", "tensorboard")
        self._hparams = require("tensorboard.plugins.hparams.summary_v2", "tensorboard")
        self._writer = writer.EventFileWriter(str(directory), flush_secs=5)
        self._written: list[Entry] = []

    def sync(self, timeline: Sequence[Entry]) -> None:
        """Make the run show ``timeline`` (entries sorted by step)."""
        written = self._written
        same = next(
            (i for i, (old, new) in enumerate(zip(written, timeline, strict=False)) if old != new),
            min(len(written), len(timeline)),
        )
        if timeline and not written:  # a fresh run, or one written by an earlier process
            self._restart(timeline[0])
        elif same < len(written):
            first = min((written[same], *timeline[same : same + 1]), key=lambda e: e.step)
            self._restart(first)
            same = next((i for i, e in enumerate(timeline) if e.step >= first.step), same)
        for entry in timeline[same:]:
            self._write(entry)
        self._written = list(timeline)

    def _restart(self, entry: Entry) -> None:
        log = self._events.SessionLog(status=self._events.SessionLog.START)
        event = self._events.Event(step=entry.step, wall_time=entry.wall_time, session_log=log)
        self._writer.add_event(event)

    def _write(self, entry: Entry) -> None:
        if isinstance(entry.value, str):
            summary = self._text.text_pb(entry.tag, entry.value)
        else:
            summary = self._summaries.Summary()
            summary.value.add(tag=entry.tag, simple_value=entry.value)
        event = self._events.Event(step=entry.step, wall_time=entry.wall_time, summary=summary)
        self._writer.add_event(event)

    def hparams(self, params: Mapping[str, Any], trial: str, wall_time: float) -> None:
        """Record ``params`` for TensorBoard's HParams dashboard (against the run's scalars)."""
        values = {k: v if isinstance(v, (int, float, str)) else repr(v) for k, v in params.items()}
        summary = self._hparams.hparams_pb(values, trial_id=trial, start_time_secs=wall_time)
        self._writer.add_event(self._events.Event(step=0, wall_time=wall_time, summary=summary))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
