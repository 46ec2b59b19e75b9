"""The lineage figure: a row per member, a line per generation, a bracket per exploit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from populace.analysis._plotly._common import (
    BEST,
    FADED,
    LINK,
    Figure,
    axis_style,
    base_layout,
    empty_figure,
    finite,
    params_text,
)
from populace.analysis._views import Link, PopulationView, Span, lineage_info

__all__ = ["lineage_figure"]

BRACKET = (
    0.0,
    0.15,
    0.3,
    0.45,
    0.6,
    0.75,
    0.9,
    1.0,
)  # where a bracket's points are, parent to child


def lineage_figure(
    view: PopulationView, collapse: bool = True, member: int | None = None
) -> Figure:
    """The lineage tree: a row per member, a line per generation, a bracket per exploit.

    x is the step. Each generation is a horizontal line in its member's row, ending in a dot
    coloured by its last score (hover: params and score); each exploit is a bracket from the
    parent's row to the child's at the step it copied, ending in a triangle. ``member``'s
    ancestry (default: the best member's) is red. With ``collapse``, generations that left no
    descendant in the final population are thin grey lines and the exploits into them are not
    drawn, so the surviving tree stands out; ``collapse=False`` draws everything alike.
    """
    info = lineage_info(view, member)
    title = f"lineage of {info.name!r}"
    if not view.results:
        return empty_figure(title)
    row = {m: i for i, m in enumerate(info.rows)}
    width = max((s.end for s in info.spans), default=1) or 1
    shown = [s for s in info.spans if s.alive or not collapse]
    faded = [s for s in info.spans if collapse and not s.alive]
    data = [
        _lines(info.path, row, "ancestry", {"color": BEST, "width": 9}, opacity=0.3),
        _lines(faded, row, "no descendant", {"color": FADED, "width": 1.5}),
        _lines(shown, row, "generation", {"color": "#555", "width": 2.2}),
        _ends(faded, row, None, view.maximize),
        _ends(shown, row, "last score", view.maximize),
    ]
    for highlighted in (False, True):
        links = [
            k for k in info.links if k.highlighted == highlighted and (k.alive or not collapse)
        ]
        data.append(_brackets(links, row, width, highlighted))
    if info.member is not None:
        title += f": member {info.member}"
        title += "" if info.score is None else f" (score {info.score:.4g})"
        title += ", its ancestry in red"
    if collapse:
        title += "<br><sup>grey: generations with no descendant in the final population</sup>"
    layout = base_layout(
        title,
        xaxis=axis_style("step", rangemode="tozero"),
        yaxis=axis_style(
            "member",
            tickvals=list(range(len(info.rows))),
            ticktext=info.labels,
            autorange="reversed",
            showgrid=False,
            tickfont={"size": 10 if len(info.rows) > 32 else 12},
        ),
        height=max(420, 15 * len(info.rows) + 170),
        showlegend=False,
        margin={"l": 80, "r": 30, "t": 80, "b": 50},
    )
    return {"data": data, "layout": layout}


def _lines(
    spans: Sequence[Span], row: Mapping[int, int], name: str, line: dict[str, Any], **more: Any
) -> dict[str, Any]:
    """One trace of horizontal lines, broken between spans (no hover: the dots carry it)."""
    x: list[int | None] = []
    y: list[int | None] = []
    for s in spans:
        x += [s.start, s.end, None]
        y += [row[s.member], row[s.member], None]
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": line,
        "hoverinfo": "skip",
        **more,
    }


def _ends(
    spans: Sequence[Span], row: Mapping[int, int], colorbar: str | None, maximize: bool
) -> dict[str, Any]:
    """A dot at the end of each span, coloured by its last score when ``colorbar`` is named."""
    marker: dict[str, Any] = {"size": 7 if colorbar else 4, "color": FADED}
    if colorbar is not None:
        marker = {
            "size": 7,
            "color": [finite(s.score) for s in spans],
            "colorscale": "Viridis",
            "reversescale": not maximize,
            "colorbar": {"title": {"text": colorbar}, "thickness": 12, "len": 0.6},
            "line": {"color": "#333", "width": 0.5},
        }
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "generation ends",
        "x": [s.end for s in spans],
        "y": [row[s.member] for s in spans],
        "marker": marker,
        "hovertext": [_span_text(s) for s in spans],
        "hoverinfo": "text",
    }


def _span_text(s: Span) -> str:
    score = "no score yet" if s.score is None else f"last score {s.score:.4g}"
    return (
        f"member {s.member}, generation {s.generation}<br>steps {s.start}–{s.end}, {score}"
        f"<br>{params_text(s.params)}"
    )


def _brackets(
    links: Sequence[Link], row: Mapping[int, int], width: int, highlighted: bool
) -> dict[str, Any]:
    """Each exploit as a curve bulging back in time from parent row to child row.

    Links at the same step differ in how far they bulge (by how many rows they span), so
    simultaneous exploits stay apart; the bulge is clipped at step 0 to stay inside the axes.
    """
    x: list[float | None] = []
    y: list[float | None] = []
    for k in links:
        a, b = row[k.parent], row[k.member]
        bulge = min(k.step, width * 0.0025 * (1 + abs(b - a)) ** 0.75)
        for t in BRACKET:
            x.append(k.step - bulge * 4 * t * (1 - t))
            y.append(a + (b - a) * t)
        x.append(None)
        y.append(None)
    colour = BEST if highlighted else LINK
    stride = len(BRACKET) + 1  # the points of a bracket and the None after it
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "exploit",
        "x": x,
        "y": y,
        "line": {"color": colour, "width": 2.2 if highlighted else 1, "shape": "spline"},
        "marker": {
            "size": [8 if i % stride == stride - 2 else 0 for i in range(len(x))],
            "symbol": "triangle-right",
            "color": colour,
        },
        "hovertext": [
            f"member {k.member} copied member {k.parent} at step {k.step}"
            for k in links
            for _ in range(stride)
        ],
        "hoverinfo": "text",
    }
