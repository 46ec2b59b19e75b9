"""A member's history as tagged values by step, stitched across exploits: what its TensorBoard
run shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from populace.analysis._stitched import CurvePoint
from populace.storage import SegmentRecord
from populace.trackers._view import TrackedPopulation

__all__ = ["Entry", "is_number", "lineage_text", "member_timeline"]


class Entry(NamedTuple):
    """``value`` under ``tag`` at ``step``, stored at ``wall_time``; text is a text summary."""

    step: int
    wall_time: float
    tag: str
    value: float | str


def is_number(value: Any) -> bool:
    """Whether a hyperparameter value can be drawn as a scalar (bools and strings cannot)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def lineage_text(view: TrackedPopulation, segment: SegmentRecord) -> str:
    """One line on where a generation came from: whom it copied, at which step, and why."""
    started = view.started_by(segment.member, segment.generation)
    kind = "explore" if segment.parent_member == segment.member else "exploit"
    if started is not None:
        kind = started.decision.kind
    params = ", ".join(f"{k}={v!r}" for k, v in segment.params.items())
    text = (
        f"{kind}: member {segment.member} generation {segment.generation} starts from member "
        f"{segment.parent_member} generation {segment.parent_generation} at step "
        f"{segment.parent_step} with {params}"
    )
    return text if started is None else f"{text}. {started.decision.reason}"


def _point_entries(point: CurvePoint, wall_time: float, params: Mapping[str, Any]) -> list[Entry]:
    entries = [
        Entry(point.step, wall_time, "score", point.value),
        Entry(point.step, wall_time, "lineage/member", point.member),
        Entry(point.step, wall_time, "lineage/generation", point.generation),
    ]
    entries += [
        Entry(point.step, wall_time, f"params/{k}", float(v))
        for k, v in params.items()
        if is_number(v)
    ]
    return entries


def member_timeline(view: TrackedPopulation, member: int) -> list[Entry]:
    """Everything ``member``'s run shows, by step: the stitched score, extra metrics and
    numeric params at each reported step, and the parent and reason at each exploit."""
    chain = view.chain(member)
    times = {
        (s.member, s.generation, r.step): r.created_at
        for s in chain
        for r in view.results(s.member, s.generation)
    }
    entries: list[Entry] = []
    for segment in chain[1:]:
        start, parent = segment.start_step, segment.parent_member
        if parent is None:  # only the first generation of a chain starts from scratch
            continue
        entries.append(Entry(start, segment.created_at, "lineage/parent", parent))
        entries.append(Entry(start, segment.created_at, "lineage", lineage_text(view, segment)))
    for point in view.curve(member):
        params = view.segment(point.member, point.generation).params  # type: ignore[union-attr]
        when = times[(point.member, point.generation, point.step)]
        entries += _point_entries(point, when, params)
    for name in view.metric_names(member):
        for point in view.curve(member, name):
            when = times[(point.member, point.generation, point.step)]
            entries.append(Entry(point.step, when, f"metrics/{name}", point.value))
    return sorted(entries, key=lambda e: e.step)
