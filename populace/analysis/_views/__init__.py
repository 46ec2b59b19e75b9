"""What the interactive views draw, extracted from a population's stored rows by pure functions.

Each view has an info function here (data only, no plotting library) and renderers elsewhere:
:mod:`populace.analysis._plotly` turns the info into plotly JSON, which the dashboard serves, and
:mod:`populace.analysis.matplotlib` draws the static twins.
"""

from populace.analysis._views._curves import Curve, CurvesInfo, Fork, curves_info
from populace.analysis._views._lineage import LineageInfo, Link, Span, lineage_info
from populace.analysis._views._params import ParamsFrame, ParamsInfo, Position, params_info
from populace.analysis._views._schedule import ScheduleInfo, schedule_info
from populace.analysis._views._view import Axis, PopulationView, category_label, metric_names

__all__ = [
    "Axis",
    "Curve",
    "CurvesInfo",
    "Fork",
    "LineageInfo",
    "Link",
    "ParamsFrame",
    "ParamsInfo",
    "PopulationView",
    "Position",
    "ScheduleInfo",
    "Span",
    "category_label",
    "curves_info",
    "lineage_info",
    "metric_names",
    "params_info",
    "schedule_info",
]
