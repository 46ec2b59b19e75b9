"""The population as data: results, decisions, lineage, schedules, exports and plots."""

from populace.analysis._data import MemberResult, PopulationData
from populace.analysis._plot import plot_lineage, plot_schedule
from populace.analysis._schedule import Schedule, ScheduleEntry, ancestry, stitch

__all__ = [
    "MemberResult",
    "PopulationData",
    "Schedule",
    "ScheduleEntry",
    "ancestry",
    "plot_lineage",
    "plot_schedule",
    "stitch",
]
