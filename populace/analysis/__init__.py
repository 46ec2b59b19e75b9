"""The population as data: results, decisions, lineage, schedules and exports."""

from populace.analysis._data import MemberResult, PopulationData
from populace.analysis._schedule import Schedule, ScheduleEntry, ancestry, stitch

__all__ = ["MemberResult", "PopulationData", "Schedule", "ScheduleEntry", "ancestry", "stitch"]
