"""The dashboard's figures: the analysis views' plotly JSON, built once per version of the
population and options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from populace.analysis import _plotly
from populace.analysis._views import PopulationView
from populace.dashboard._json import dumps
from populace.dashboard._live import LivePopulation
from populace.errors import ConfigurationError

__all__ = ["FIGURES", "figure"]


def _member(options: Mapping[str, str]) -> int | None:
    member = options.get("member")
    if member is None or member == "":
        return None
    if not member.isdigit():
        raise ConfigurationError(f"member must be a member id, not {member!r}")
    return int(member)


def _text(options: Mapping[str, str], name: str) -> str | None:
    return options.get(name) or None


FIGURES: dict[str, Callable[[PopulationView, Mapping[str, str]], dict[str, Any]]] = {
    "curves": lambda view, o: _plotly.curves_figure(view, metric=_text(o, "metric")),
    "lineage": lambda view, o: _plotly.lineage_figure(
        view, collapse=o.get("collapse", "1") != "0", member=_member(o)
    ),
    "schedule": lambda view, o: _plotly.schedule_figure(view, member=_member(o)),
    "params": lambda view, o: _plotly.params_figure(view, x=_text(o, "x"), y=_text(o, "y")),
}
"""Each figure the page draws, from the view and the request's options."""


def figure(live: LivePopulation, kind: str, options: Mapping[str, str]) -> str:
    """Figure ``kind`` of the population as plotly JSON text (``data``, ``layout``).

    Raises:
        ConfigurationError: an option names no metric, member or param of the population.
    """
    key = ("figure", kind, tuple(sorted(options.items())))
    return live.memo(key, lambda: dumps(FIGURES[kind](live.view(), options)))
