"""The params figure: a hyperparameter against the score, animated over the run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from populace.analysis._plotly._common import (
    Figure,
    axis_style,
    base_layout,
    empty_figure,
    finite,
    param_axis,
    params_text,
    place,
)
from populace.analysis._views import Axis, PopulationView, Position, params_info
from populace.space._values import is_real

__all__ = ["params_figure"]

STILL = {
    "mode": "immediate",
    "frame": {"duration": 0, "redraw": False},
    "transition": {"duration": 0},
}


def params_figure(view: PopulationView, x: str | None = None, y: str | None = None) -> Figure:
    """Hyperparameter ``x`` against the score (or against hyperparameter ``y``), animated.

    Each frame is a step and shows every member at its current params and latest score there
    (see :func:`populace.analysis._views.params_info`); the slider and the play button move
    from the initial points to the final ones. Members keep their dot from frame to frame, so
    plotly.js animates each one's move; dots are coloured by score on a scale fixed across
    frames, and the axes too stay fixed.
    """
    info = params_info(view, x, y)
    against = "score" if info.y is None else info.y.name
    title = f"{info.x.name} vs {against} of {info.name!r}"
    if not info.frames:
        return empty_figure(title)
    positions = [p for f in info.frames for p in f.positions]
    scores = [p.score for p in positions]
    low, high = min(scores), max(scores)
    colour = {"cmin": low, "cmax": high, "colorscale": "Viridis", "reversescale": not view.maximize}
    frames: list[dict[str, Any]] = [
        {"name": str(f.step), "data": [_points(f.positions, info.x, info.y, colour)]}
        for f in info.frames
    ]
    layout = base_layout(
        title
        + "<br><sup>each dot is a member at its latest report: play, or drag the slider</sup>",
        xaxis=_range_axis(info.x, [p.params.get(info.x.name) for p in positions]),
        yaxis=_range_axis(info.y, [p.params.get(info.y.name) for p in positions])
        if info.y is not None
        else axis_style("score", range=_pad(low, high)),
        height=600,
        margin={"l": 70, "r": 30, "t": 80, "b": 110},
        sliders=[_slider([f["name"] for f in frames])],
        updatemenus=[_play()],
    )
    return {"data": frames[0]["data"], "layout": layout, "frames": frames}


def _points(
    positions: Sequence[Position], x: Axis, y: Axis | None, colour: dict[str, Any]
) -> dict[str, Any]:
    """One frame's dots, one per member (its id keeps it the same dot across frames)."""
    return {
        "type": "scatter",
        "mode": "markers",
        "ids": [str(p.member) for p in positions],
        "x": [place(x, p.params.get(x.name), p.member) for p in positions],
        "y": [
            finite(p.score) if y is None else place(y, p.params.get(y.name), p.member)
            for p in positions
        ],
        "marker": {
            "size": 11,
            "color": [p.score for p in positions],
            "colorbar": {"title": {"text": "score"}, "thickness": 12},
            "line": {"color": "#333", "width": 0.6},
            **colour,
        },
        "hovertext": [
            f"member {p.member}, generation {p.generation}<br>step {p.step}, score {p.score:.4g}"
            f"<br>{params_text(p.params)}"
            for p in positions
        ],
        "hoverinfo": "text",
    }


def _pad(low: float, high: float, log: bool = False) -> list[float]:
    """An axis range around ``low``..``high`` with a margin (in decades on a log axis)."""
    if log:
        low, high = math.log10(low), math.log10(high)
    margin = (high - low) * 0.06 or 0.5
    return [low - margin, high + margin]


def _range_axis(axis: Axis, values: Sequence[Any]) -> dict[str, Any]:
    """An axis fixed across frames: over every value shown, or every category."""
    if axis.scale == "category":
        return param_axis(axis)
    numbers = [float(v) for v in values if is_real(v) and (axis.scale != "log" or v > 0)]
    more = {"range": _pad(min(numbers), max(numbers), axis.scale == "log")} if numbers else {}
    return axis_style(axis.name, type=axis.scale, **more)


def _slider(names: list[str]) -> dict[str, Any]:
    """A slider with a stop per frame, showing its step."""
    return {
        "active": 0,
        "currentvalue": {"prefix": "step ", "font": {"size": 13}},
        "pad": {"t": 60, "b": 10},
        "len": 0.9,
        "x": 0.1,
        "xanchor": "left",
        "y": 0,
        "yanchor": "top",
        "steps": [{"label": name, "method": "animate", "args": [[name], STILL]} for name in names],
    }


def _play() -> dict[str, Any]:
    """Play and pause buttons left of the slider, as plotly express places them."""
    play = {
        "frame": {"duration": 250, "redraw": False},
        "fromcurrent": True,
        "transition": {"duration": 200, "easing": "cubic-in-out"},
    }
    return {
        "type": "buttons",
        "direction": "left",
        "x": 0.1,
        "xanchor": "right",
        "y": 0,
        "yanchor": "top",
        "pad": {"t": 70, "r": 10},
        "showactive": False,
        "buttons": [
            {"label": "▶", "method": "animate", "args": [None, play]},
            {"label": "❚❚", "method": "animate", "args": [[None], STILL]},
        ],
    }
