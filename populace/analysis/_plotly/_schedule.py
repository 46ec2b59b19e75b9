"""The schedule figure: a subplot per hyperparameter and one for the score, over steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from populace.analysis._plotly._common import (
    BEST,
    FADED,
    Figure,
    axis_style,
    base_layout,
    empty_figure,
    finite,
    param_axis,
    place,
)
from populace.analysis._views import Axis, PopulationView, Span, schedule_info
from populace.storage import ResultRecord

__all__ = ["schedule_figure"]


def schedule_figure(
    view: PopulationView, member: int | None = None, params: Sequence[str] | None = None
) -> Figure:
    """One subplot per hyperparameter and one for the score, over steps, sharing the step axis.

    Every member's own values are faint step lines; ``member``'s stitched schedule (default: the
    best member's, the hyperparameters its model trained with across every copy) and its curve
    are bold red. LogUniform dimensions get a log axis; categorical ones have their categories as
    ticks, each member's faint line a little off its category so that crowded ones show.
    """
    info = schedule_info(view, member, params)
    title = f"schedules of {info.name!r}"
    if not view.results:
        return empty_figure(title)
    count = len(info.axes) + 1
    gap = 0.04
    height = (1 - gap * (count - 1)) / count
    layout = base_layout(title, height=190 * count + 130, showlegend=False)
    layout["xaxis"] = axis_style("step", anchor="y", rangemode="tozero")
    data = []
    for i, axis in enumerate(info.axes):
        top = 1 - i * (height + gap)
        name = f"y{i + 2}"
        layout[f"yaxis{i + 2}"] = param_axis(axis, [top - height, top])
        data.append(_lanes(info.lanes.values(), axis, name))
        if info.schedule:
            data.append(_bold_schedule(info.schedule, axis, name, info.member))
    layout["yaxis"] = axis_style("score", domain=[0, height])
    data.append(_faint_scores(info.scores.values()))
    if info.curve:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"member {info.member}",
                "x": [p.step for p in info.curve],
                "y": [finite(p.value) for p in info.curve],
                "line": {"color": BEST, "width": 2.5},
                "hovertemplate": f"member {info.member}<br>step %{{x}}<br>score %{{y:.4g}}"
                "<extra></extra>",
            }
        )
        layout["title"]["text"] += f": red = the model of member {info.member}"
    return {"data": data, "layout": layout}


def _lanes(lanes: Iterable[list[Span]], axis: Axis, yaxis: str) -> dict[str, Any]:
    """Every generation's value as a faint horizontal line, one trace for all members."""
    x: list[int | None] = []
    y: list[Any] = []
    text: list[str | None] = []
    for spans in lanes:
        for s in spans:
            value = place(axis, s.params.get(axis.name), s.member)
            x += [s.start, s.end, None]
            y += [value, value, None]
            label = f"member {s.member}, generation {s.generation}: {s.params.get(axis.name)!r}"
            text += [label, label, None]
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "members",
        "x": x,
        "y": y,
        "yaxis": yaxis,
        "line": {"color": FADED, "width": 1},
        "hovertext": text,
        "hoverinfo": "text",
    }


def _bold_schedule(
    schedule: Sequence[Span], axis: Axis, yaxis: str, member: int | None
) -> dict[str, Any]:
    """``member``'s stitched schedule of one hyperparameter: a bold step line, a dot per fork."""
    values = [place(axis, s.params.get(axis.name)) for s in schedule]
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": f"schedule of member {member}",
        "x": [s.start for s in schedule] + [schedule[-1].end],
        "y": [*values, values[-1]],
        "yaxis": yaxis,
        "line": {"color": BEST, "width": 2.5, "shape": "hv"},
        "marker": {"size": [6] * len(values) + [0], "color": BEST},
        "hovertext": [
            f"from step {s.start}: {s.params.get(axis.name)!r} (member {s.member}, generation "
            f"{s.generation})"
            for s in schedule
        ]
        + [f"member {member} now"],
        "hoverinfo": "text",
    }


def _faint_scores(generations: Iterable[Sequence[ResultRecord]]) -> dict[str, Any]:
    """Every generation's scores, broken between generations, in one faint trace."""
    x: list[int | None] = []
    y: list[float | None] = []
    for rows in generations:
        x += [r.step for r in rows]
        y += [finite(r.score) for r in rows]
        x.append(None)
        y.append(None)
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "members",
        "x": x,
        "y": y,
        "line": {"color": FADED, "width": 1},
        "hoverinfo": "skip",
    }
