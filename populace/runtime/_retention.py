"""Which checkpoints must be kept: reachability from a stored population."""

from __future__ import annotations

from collections.abc import Sequence

from populace.controller import MemberState
from populace.storage import BaseStorage, MemberRecord, PopulationRecord

__all__ = ["KEEP_BEST", "population_keep"]

KEEP_BEST = 3  # best checkpoints kept besides the live ones, by default


def population_keep(
    storage: BaseStorage,
    population: PopulationRecord,
    members: Sequence[MemberRecord],
    keep_best: int,
) -> set[str]:
    """The refs ``population`` (whose members are ``members``, as just read) may still need.

    Kept: every member's latest checkpoint (live members resume from it, finished ones end
    there, and a pending exploit's parent checkpoint is the child's latest), every ready-point
    checkpoint a running member could still copy, the ``keep_best`` best-scoring checkpoints,
    and the fork points along the lineage of the best one.
    """
    interval = population.config["controller"]["interval"]
    maximize = population.config["controller"]["direction"] == "maximize"
    keep = {m.checkpoint for m in members if m.checkpoint is not None}
    running = [m.step for m in members if m.state == MemberState.RUNNING]
    if running:
        # A member deciding at step t may copy any ready checkpoint at a step >= t - interval.
        horizon = min(running) - interval
        saved = storage.saved_results(population.id, from_step=horizon)
        keep.update(r.checkpoint for r in saved)  # type: ignore[misc]
    best = storage.best_saved_results(population.id, keep_best, maximize)
    keep.update(r.checkpoint for r in best)  # type: ignore[misc]
    if best:
        lineage = storage.ancestry(population.id, best[0].member)
        keep.update(s.checkpoint for s in lineage if s.checkpoint)
    return keep
