"""The params animation: where each member is in the space, and its score, step by step."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from populace.analysis._views._view import Axis, PopulationView, param_axes
from populace.space import Fixed
from populace.storage import ResultRecord

__all__ = ["ParamsFrame", "ParamsInfo", "Position", "params_info"]

FRAMES = 40  # the most frames of the params animation: enough to see the moves, small to serve


class Position(NamedTuple):
    """Where ``member`` was: ``step`` and ``score`` in ``generation``, with ``params``."""

    member: int
    step: int
    score: float
    generation: int
    params: Mapping[str, Any]


class ParamsFrame(NamedTuple):
    """The population at ``step``: one position per member that had reported by then."""

    step: int
    positions: list[Position]


class ParamsInfo(NamedTuple):
    """The frames of the params animation; ``y`` None means the score is on the y axis."""

    name: str
    x: Axis
    y: Axis | None
    frames: list[ParamsFrame]


def params_info(
    view: PopulationView, x: str | None = None, y: str | None = None, frames: int = FRAMES
) -> ParamsInfo:
    """The population moving through the space: each member's params and score, step by step.

    Frames are at most ``frames`` steps spread over the steps reported. At step t a member is in
    its latest generation that had reported by t (after an exploit: the parent's params,
    perturbed), at that generation's latest report up to t.

    Raises:
        ConfigurationError: ``x`` or ``y`` is not a parameter of the space.
    """
    free = [n for n, d in view.space.items() if not isinstance(d, Fixed)] or list(view.space)
    axes = param_axes(view, [x or free[0]] + ([y] if y is not None else []))
    lanes: dict[int, list[tuple[list[int], list[ResultRecord], Mapping[str, Any]]]] = {}
    for s in view.trained:
        rows = [r for r in view.grouped.get((s.member, s.generation), ()) if math.isfinite(r.score)]
        if rows and s.member in view.population:
            lanes.setdefault(s.member, []).append(([r.step for r in rows], rows, s.params))
    steps = sorted({r.step for lane in lanes.values() for _, rows, _ in lane for r in rows})
    count = len(steps)
    picked = (
        [steps[math.ceil(count * (k + 1) / frames) - 1] for k in range(frames)] if count else []
    )
    out = []
    for step in sorted(set(picked)):
        positions = []
        for member, lane in sorted(lanes.items()):
            for at, rows, params in reversed(lane):
                i = bisect.bisect_right(at, step) - 1
                if i >= 0:
                    r = rows[i]
                    positions.append(Position(member, r.step, r.score, r.generation, params))
                    break
        out.append(ParamsFrame(step, positions))
    return ParamsInfo(view.name, axes[0], axes[1] if y is not None else None, out)
