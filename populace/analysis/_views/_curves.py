"""Curves: every member's score stitched across exploits, with the forks on it."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from populace.analysis._stitched import CurvePoint, chain_curve
from populace.analysis._views._view import PopulationView, check_metric
from populace.storage import SegmentRecord

__all__ = ["Curve", "CurvesInfo", "Fork", "curves_info"]


class Fork(NamedTuple):
    """Where a curve changes generation: ``member`` copied ``parent`` at ``step``.

    ``parent`` is ``member`` itself after an explore-only decision. ``value`` is the curve's
    value there, ``params`` those the new generation trained with.
    """

    step: int
    value: float
    member: int
    parent: int
    params: Mapping[str, Any]


class Curve(NamedTuple):
    """One member's stitched curve (:func:`populace.analysis._stitched.stitched_curve`)."""

    member: int
    label: str
    failed: bool
    points: list[CurvePoint]
    forks: list[Fork]


class CurvesInfo(NamedTuple):
    name: str
    metric: str | None
    best: int | None
    curves: list[Curve]


def curves_info(view: PopulationView, metric: str | None = None) -> CurvesInfo:
    """Every member's score (or ``metric``) curve stitched across exploits, with its forks.

    Raises:
        ConfigurationError: ``metric`` was never reported.
    """
    check_metric(view, metric)
    curves = []
    for member in view.population:
        chain = view.chain(member)
        points = chain_curve(chain, view.grouped, metric)
        forks = _forks(chain, points)
        curves.append(Curve(member, view.label(member), member in view.failed, points, forks))
    return CurvesInfo(view.name, metric, view.best, curves)


def _forks(chain: Sequence[SegmentRecord], points: list[CurvePoint]) -> list[Fork]:
    """A fork per generation after the first in the chain, on the curve where it forked."""
    if not points:
        return []
    steps = [p.step for p in points]
    forks = []
    for s in chain[1:]:
        at = bisect.bisect_right(steps, s.start_step) - 1
        if at >= 0 and s.parent_member is not None:
            forks.append(Fork(s.start_step, points[at].value, s.member, s.parent_member, s.params))
    return forks
