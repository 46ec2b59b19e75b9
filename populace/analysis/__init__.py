"""The population as data: results, decisions, lineage, schedules, exports and plots.

The ``plot_*`` functions give interactive plotly figures (HTML); their matplotlib twins (PNG)
are in :mod:`populace.analysis.matplotlib`.
"""

from populace.analysis._data import MemberResult, PopulationData
from populace.analysis._interactive import plot_curves, plot_lineage, plot_params, plot_schedule
from populace.analysis._schedule import Schedule, ScheduleEntry, ancestry, stitch
from populace.analysis._views import PopulationView

__all__ = [
    "MemberResult",
    "PopulationData",
    "PopulationView",
    "Schedule",
    "ScheduleEntry",
    "ancestry",
    "plot_curves",
    "plot_lineage",
    "plot_params",
    "plot_schedule",
    "stitch",
]
