"""Score curves stitched across exploits: the history of the model a member holds now.

After member 5 copies member 2 at step 400, member 5's model *is* member 2's up to step 400, so
its curve is member 2's scores up to 400 and its own after. The views, the dashboard and the
tracker exports all draw curves this way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from populace.analysis._schedule import ancestry
from populace.storage import ResultRecord, SegmentRecord

__all__ = ["CurvePoint", "Generation", "chain_curve", "group_results", "stitched_curve"]

Generation = tuple[int, int]
"""(member, generation): one stretch of training with one set of params."""


class CurvePoint(NamedTuple):
    """The ``value`` reported at ``step`` by ``member`` in ``generation``."""

    step: int
    value: float
    member: int
    generation: int


def group_results(results: Sequence[ResultRecord]) -> dict[Generation, list[ResultRecord]]:
    """Every result under its (member, generation), each list sorted by step."""
    grouped: dict[Generation, list[ResultRecord]] = defaultdict(list)
    for result in results:
        grouped[(result.member, result.generation)].append(result)
    for rows in grouped.values():
        rows.sort(key=lambda r: r.step)
    return dict(grouped)


def stitched_curve(
    segments: Sequence[SegmentRecord],
    grouped: Mapping[Generation, Sequence[ResultRecord]],
    member: int,
    metric: str | None = None,
) -> list[CurvePoint]:
    """The curve of ``member``'s current model, oldest step first.

    ``metric`` names an extra metric (results that lack it are skipped); None is the score. A
    member with no segment yet has an empty curve.
    """
    if not any(s.member == member for s in segments):
        return []
    return chain_curve(ancestry(segments, member), grouped, metric)


def chain_curve(
    chain: Sequence[SegmentRecord],
    grouped: Mapping[Generation, Sequence[ResultRecord]],
    metric: str | None = None,
) -> list[CurvePoint]:
    """The curve along ``chain``, a model's ancestry (oldest first), oldest step first.

    Each generation in the chain contributes the steps it trained before the next one forked
    from it; a change of (member, generation) between two points is an exploit. ``metric`` as
    in :func:`stitched_curve`.
    """
    points: list[CurvePoint] = []
    for index, segment in enumerate(chain):
        end = chain[index + 1].parent_step if index + 1 < len(chain) else None
        for result in grouped.get((segment.member, segment.generation), ()):
            if end is not None and result.step > end:
                break
            value = result.score if metric is None else result.metrics.get(metric)
            if value is not None:
                points.append(CurvePoint(result.step, value, segment.member, segment.generation))
    return points
