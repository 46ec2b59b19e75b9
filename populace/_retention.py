"""Which checkpoints must be kept: reachability from the stored population."""

from __future__ import annotations

from populace.analysis import ancestry
from populace.controller import MemberState
from populace.storage import BaseStorage, PopulationRecord

__all__ = ["KEEP_BEST", "reachable_checkpoints"]

KEEP_BEST = 3  # best checkpoints kept besides the live ones, by default


def _population_keep(
    storage: BaseStorage, population: PopulationRecord, keep_best: int
) -> set[str]:
    interval = population.config["controller"]["interval"]
    maximize = population.config["controller"]["direction"] == "maximize"
    members = storage.members(population.id)
    keep = {m.checkpoint for m in members if m.checkpoint is not None}
    ready = [r for r in storage.results(population.id) if r.ready and r.checkpoint is not None]
    running = [m.step for m in members if m.state == MemberState.RUNNING]
    if running:
        # A member deciding at step t may copy any ready checkpoint at a step >= t - interval.
        horizon = min(running) - interval
        keep.update(r.checkpoint for r in ready if r.step >= horizon)  # type: ignore[misc]
    sign = -1.0 if maximize else 1.0
    best = sorted(ready, key=lambda r: (sign * r.score, r.id))[:keep_best]
    keep.update(r.checkpoint for r in best)  # type: ignore[misc]
    segments = storage.segments(population.id)
    for result in best[:1]:
        keep.update(s.checkpoint for s in ancestry(segments, result.member) if s.checkpoint)
    return keep


def reachable_checkpoints(storage: BaseStorage, checkpoints_uri: str, keep_best: int) -> set[str]:
    """Refs that any population stored in ``storage`` under ``checkpoints_uri`` may still need.

    Kept: every member's latest checkpoint (live members resume from it, finished ones end
    there, and a pending exploit's parent checkpoint is the child's latest), every ready-point
    checkpoint a running member could still copy, the ``keep_best`` best-scoring checkpoints,
    and the fork points along the lineage of the best one.
    """
    keep: set[str] = set()
    for population in storage.list_populations():
        if population.checkpoints == checkpoints_uri:
            keep |= _population_keep(storage, population, keep_best)
    return keep
