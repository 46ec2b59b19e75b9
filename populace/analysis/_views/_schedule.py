"""Schedules: each member's hyperparameters over steps, and one model's stitched ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from populace.analysis._stitched import CurvePoint, Generation, chain_curve
from populace.analysis._views._lineage import Span, model_path, span_of
from populace.analysis._views._view import Axis, PopulationView, check_member, param_axes
from populace.storage import ResultRecord

__all__ = ["ScheduleInfo", "schedule_info"]


class ScheduleInfo(NamedTuple):
    """Each member's own generations (``lanes``) and ``member``'s stitched schedule and curve."""

    name: str
    member: int | None
    axes: list[Axis]
    lanes: dict[int, list[Span]]
    schedule: list[Span]
    curve: list[CurvePoint]
    scores: dict[Generation, list[ResultRecord]]


def schedule_info(
    view: PopulationView, member: int | None = None, params: Sequence[str] | None = None
) -> ScheduleInfo:
    """Every hyperparameter over steps for all members, and ``member``'s (default: the best).

    Raises:
        ConfigurationError: ``member`` is not in the population, or ``params`` names a parameter
            the space does not have.
    """
    axes = param_axes(view, params)
    member = check_member(view, member)
    lanes: dict[int, list[Span]] = {m: [] for m in view.population}
    for s in view.trained:
        if s.member in lanes:
            lanes[s.member].append(span_of(view, s, True, view.end(s)))
    curve = [] if member is None else chain_curve(view.chain(member), view.grouped)
    scores = {k: rows for k, rows in view.grouped.items() if k[0] in lanes}
    return ScheduleInfo(view.name, member, axes, lanes, model_path(view, member), curve, scores)
