"""The curves figure: every member's stitched score curve, forks marked, the best in red."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from populace.analysis._plotly._common import (
    BEST,
    Figure,
    axis_style,
    base_layout,
    empty_figure,
    finite,
    params_text,
)
from populace.analysis._views import PopulationView, curves_info

__all__ = ["curves_figure"]


def _colour(rank: int, count: int) -> str:
    """The ``rank``-th of ``count`` hues, red left out for the highlighted member."""
    hue = 30 + 300 * rank / max(count, 1)
    return f"hsl({hue:.0f}, 55%, 45%)"


def curves_figure(view: PopulationView, metric: str | None = None) -> Figure:
    """Every member's score (or ``metric``) curve stitched across exploits, with its forks.

    A member's curve is the history of the model it holds now: after member 5 copies member 2 at
    step 400, it is member 2's curve up to 400. Each fork is a marker (hover: who copied whom,
    when, with which params); the best member's curve is thick red and drawn last. One legend
    entry per member hides its curve and its markers together.
    """
    info = curves_info(view, metric)
    quantity = metric or "score"
    title = f"{quantity} of {info.name!r}, stitched across exploits"
    if not any(c.points for c in info.curves):
        return empty_figure(title)
    if info.best is not None:
        title += f"; best member {info.best} in red"
    count = len(info.curves)
    data = []
    for rank, curve in sorted(enumerate(info.curves), key=lambda c: c[1].member == info.best):
        best = curve.member == info.best
        colour = BEST if best else _colour(rank, count)
        name = (
            f"member {curve.label}"
            + (" (best)" if best else "")
            + (" failed" if curve.failed else "")
        )
        group = str(curve.member)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "legendgroup": group,
                "legendrank": curve.member,
                "x": [p.step for p in curve.points],
                "y": [finite(p.value) for p in curve.points],
                "line": {
                    "color": colour,
                    "width": 3 if best else 1.2,
                    "dash": "dot" if curve.failed else "solid",
                },
                "opacity": 1.0 if best else 0.6,
                "hovertemplate": f"{name}<br>step %{{x}}<br>{quantity} %{{y:.4g}}<extra></extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"forks of member {curve.label}",
                "legendgroup": group,
                "showlegend": False,
                "x": [f.step for f in curve.forks],
                "y": [finite(f.value) for f in curve.forks],
                "hovertext": [
                    _fork_text(f.member, f.parent, f.step, f.params) for f in curve.forks
                ],
                "hoverinfo": "text",
                "marker": {
                    "symbol": "diamond",
                    "size": 9 if best else 6,
                    "color": colour,
                    "line": {"color": "white", "width": 1},
                },
            }
        )
    layout = base_layout(
        title,
        xaxis=axis_style("step"),
        yaxis=axis_style(quantity),
        legend={"title": {"text": "member"}, "itemsizing": "constant", "font": {"size": 11}},
        height=620,
    )
    return {"data": data, "layout": layout}


def _fork_text(member: int, parent: int, step: int, params: Mapping[str, Any]) -> str:
    what = f"copied member {parent}" if parent != member else "explored new params"
    return f"member {member} {what} at step {step}<br>{params_text(params)}"
