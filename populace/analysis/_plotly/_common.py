"""What the plotly renderers share: the house style, axes for hyperparameters, safe numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from populace.analysis._views import Axis, category_label
from populace.space._values import scalar_key

__all__ = [
    "BEST",
    "FADED",
    "LINK",
    "Figure",
    "axis_style",
    "base_layout",
    "empty_figure",
    "finite",
    "param_axis",
    "params_text",
    "place",
]

Figure = dict[str, Any]
BEST = "#d62728"
LINK = "rgba(60, 60, 60, 0.55)"
FADED = "rgba(150, 150, 150, 0.35)"
FONT = {"family": "Inter, Helvetica, Arial, sans-serif", "size": 12}


def finite(v: float | None) -> float | None:
    """A number JSON (and plotly.js) can hold: None for NaN and infinities."""
    return v if v is not None and math.isfinite(v) else None


def params_text(params: Mapping[str, Any]) -> str:
    """Params for a hover label, one per line."""
    return "<br>".join(
        f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v!r}" for k, v in params.items()
    )


def base_layout(title: str, **more: Any) -> dict[str, Any]:
    """The layout every view shares: white, light grid, closest-point hover."""
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "margin": {"l": 70, "r": 30, "t": 60, "b": 50},
        **more,
    }


def axis_style(title: str, **more: Any) -> dict[str, Any]:
    """An axis in the house style: titled, light grid, outside ticks."""
    return {
        "title": {"text": title},
        "gridcolor": "#ececec",
        "zeroline": False,
        "linecolor": "#888",
        "ticks": "outside",
        **more,
    }


def empty_figure(title: str) -> Figure:
    """A valid figure with nothing drawn, its title saying why."""
    return {"data": [], "layout": base_layout(f"{title}: no results yet")}


def param_axis(axis: Axis, domain: list[float] | None = None, **more: Any) -> dict[str, Any]:
    """A hyperparameter's axis: log or linear, or the categories' labels at 0, 1, 2, ..."""
    if domain is not None:
        more |= {"domain": domain, "anchor": "x"}
    if axis.scale != "category":
        return axis_style(axis.name, type=axis.scale, **more)
    count = len(axis.categories)
    return axis_style(
        axis.name,
        tickvals=list(range(count)),
        ticktext=[category_label(v) for v in axis.categories],
        range=[-0.5, count - 0.5],
        showgrid=False,
        **more,
    )


def place(axis: Axis, value: Any, member: int | None = None) -> Any:
    """Where a value goes on ``axis``: a category's index, jittered per ``member`` when given so
    the members sharing a category stay apart."""
    if axis.scale != "category":
        return value
    keys = [scalar_key(v) for v in axis.categories]
    key = scalar_key(value)
    if key not in keys:
        return None
    jitter = 0.0 if member is None else ((member * 0.618034) % 1 - 0.5) * 0.5
    return keys.index(key) + jitter
