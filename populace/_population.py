"""A stored population: the ask/tell primitive every executor is built on."""

from __future__ import annotations

import logging
import math
import numbers
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from populace._leases import MemberLost, dead_owners
from populace._member import Member
from populace._trial import Trial
from populace.analysis import PopulationData
from populace.checkpoints import BaseCheckpointStore, Checkpoint
from populace.controller import (
    NOT_READY,
    Controller,
    Decision,
    MemberState,
    Wait,
)
from populace.errors import CheckpointError, ReportError, StorageError
from populace.space import SearchSpace
from populace.storage import BaseStorage, MemberRecord, PopulationRecord

__all__ = ["Population"]

CONFIG_FORMAT = 1
_log = logging.getLogger("populace")
CheckpointArg = Any | Callable[[], Any] | None
DEFERRED = Wait("decision deferred until the members behind catch up")
STORE_EVERY = 1.0
"""Seconds a result between ready points may wait in memory before it is stored.

Such results are lost in a crash either way (a resumed member restarts from its last checkpoint,
and the results after it are dropped), so batching them into the next write costs nothing in
durability and makes reporting every step almost free.
"""
Observer = Callable[[int, int, float, Decision], None]
"""Called at every ready point with (member, step, score, decision): progress displays."""


@dataclass
class _Progress:
    """What this process knows about a member it is training (kept off the hot path's queries)."""

    member: int
    generation: int
    step: int
    last_decision_step: int
    owner: str | None = None
    active: bool = True
    pending: list[tuple[int, float, float]] = field(default_factory=list)
    """Results between ready points not stored yet: (step, score, reported_at)."""
    stored_at: float = 0.0


def _check_score(score: object) -> float:
    """The score as a float: a number, or one held in a numpy array or torch tensor."""
    if hasattr(score, "item") and not isinstance(score, numbers.Number):
        count = score.numel() if hasattr(score, "numel") else getattr(score, "size", 1)
        if count != 1:
            raise ReportError(
                f"score must be one number, got {type(score).__name__} holding {count} values"
            )
        score = score.item()
    if isinstance(score, (bool, str, bytes)) or not hasattr(score, "__float__"):
        raise ReportError(f"score must be a finite number, got {score!r}")
    value = float(score)
    if not math.isfinite(value):
        raise ReportError(f"score must be a finite number, got {value}")
    return value


def _check_step(step: object, progress: _Progress, budget: int) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ReportError(f"step must be an integer, got {step!r}")
    if int(step) > budget:
        raise ReportError(
            f"step {step} of member {progress.member} is past its budget of {budget} steps: "
            "train must stop at member.budget"
        )
    if step <= progress.step:
        raise ReportError(
            f"step {step} of member {progress.member} does not come after its current step "
            f"{progress.step}: steps count completed training steps and must increase"
        )
    return int(step)


class Population(PopulationData):
    """One population in a storage: hands out trials (``ask``) and records their results (``tell``).

    Everything lives in the storage, so any number of ``Population`` handles, in any number of
    processes, can work on the same population; a new handle resumes exactly where the others
    stopped. Analysis of the stored data (best member, schedules, lineage, exports) is inherited
    from :class:`~populace.analysis.PopulationData`.
    """

    def __init__(
        self,
        storage: BaseStorage,
        record: PopulationRecord,
        checkpoints: BaseCheckpointStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        config = record.config
        space = SearchSpace.from_dict(config["space"])
        super().__init__(storage, record, checkpoints, space)
        self.controller = Controller.from_dict(space, config["controller"])
        self.size: int = config["population"]
        self._clock = clock
        self._progress: dict[int, _Progress] = {}
        self.observer: Observer | None = None

    @staticmethod
    def config(space: SearchSpace, controller: Controller, size: int) -> dict[str, Any]:
        """The stored configuration of a population: everything a resume needs."""
        return {
            "format": CONFIG_FORMAT,
            "space": space.to_dict(),
            "controller": controller.to_dict(),
            "population": size,
        }

    @classmethod
    def create(
        cls,
        storage: BaseStorage,
        name: str,
        controller: Controller,
        size: int,
        checkpoints: BaseCheckpointStore,
        clock: Callable[[], float] = time.time,
        *,
        location: str | None = None,
    ) -> Population:
        """Store a new population whose members sample their params from the space.

        ``location`` is where the population records its checkpoints (default their store's
        ``uri``; ``pop.run`` records a folder inside the database's folder relative to it).
        """
        params = [controller.space.sample(controller.rng(i, 0)) for i in range(size)]
        config = cls.config(controller.space, controller, size)
        where = checkpoints.uri if location is None else location
        record = storage.create_population(name, config, where, params, now=clock())
        return cls(storage, record, checkpoints, clock)

    # -- ask -----------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether every member has finished or failed."""
        return all(m.state != MemberState.RUNNING for m in self._storage.members(self.id))

    def ask(self, owner: str, lease_seconds: float = 3600.0) -> Trial | None:
        """Lease the least-advanced member that can train now and return its next trial.

        Pending decisions (a member stopped at a ready point before its decision was stored,
        or waiting at a synchronous barrier) are resolved first. Returns None when no member can
        train now: all are finished, leased by others, or waiting.
        """
        members = self._storage.members(self.id)
        dead = dead_owners(m.lease_owner for m in members)
        now = self._clock()
        queue = sorted(
            (
                m
                for m in members
                if m.state == MemberState.RUNNING and self._free(m, owner, now, dead)
            ),
            key=lambda m: (m.step, m.id),
        )
        for candidate in queue:
            claimed = self._storage.claim(
                self.id, candidate.id, owner, now + lease_seconds, now, dead
            )
            if claimed is not None:
                trial = self._decide_then_start(claimed, owner, lease_seconds, dead)
                if trial is not None:
                    return trial
        return None

    def _decide_then_start(
        self, claimed: MemberRecord, owner: str, lease_seconds: float, dead: Collection[str]
    ) -> Trial | None:
        """Take the decisions ``claimed`` has pending, then start its next trial.

        Returns None, with the lease released, when the member waits at a barrier or finished.
        """
        member_id: int = claimed.id
        record: MemberRecord | None = claimed
        while record is not None:
            member = self._rewind_to_checkpoint(record)
            if not self.controller.is_ready(member.last_decision_step, member.step):
                return self._start(member, owner)
            if self._decide(member.id, member.generation, member.step).kind == "wait":
                break
            now = self._clock()  # read the member back, changed by its decision, still leased
            record = self._storage.claim(self.id, member_id, owner, now + lease_seconds, now, dead)
        self._storage.release(self.id, member_id, owner)
        return None

    @staticmethod
    def _free(member: MemberRecord, owner: str, now: float, dead: Collection[str]) -> bool:
        holder = member.lease_owner
        return (
            holder is None
            or holder == owner
            or holder in dead
            or (member.lease_until is not None and member.lease_until < now)
        )

    def _rewind_to_checkpoint(self, member: MemberRecord) -> MemberRecord:
        """Drop results reported after the member's last checkpoint: that interval was lost."""
        if member.step == member.checkpoint_step:
            return member
        self._storage.discard_results_after(
            self.id, member.id, member.generation, member.checkpoint_step
        )
        return MemberRecord(**{**member.__dict__, "step": member.checkpoint_step})

    def _start(self, member: MemberRecord, owner: str) -> Trial:
        budget, interval = self.controller.budget, self.controller.interval
        checkpoint = None
        if member.checkpoint is not None:
            copied = (
                member.parent_member is not None and member.checkpoint_step == member.start_step
            )
            saved_by = (
                member.parent_member if copied and member.parent_member is not None else member.id
            )
            checkpoint = Checkpoint(
                member.checkpoint, saved_by, member.checkpoint_step, self._store
            )
        self._progress[member.id] = _Progress(
            member.id, member.generation, member.step, member.last_decision_step, owner
        )
        steps = min(member.last_decision_step + interval, budget) - member.step
        return Trial(
            member.id,
            member.generation,
            dict(member.params),
            checkpoint,
            member.step,
            steps,
            budget,
            interval,
        )

    # -- tell ------------------------------------------------------------------------------------

    def tell(
        self, trial: Trial, step: int, score: float, checkpoint: CheckpointArg = None
    ) -> Decision:
        """Record a score of ``trial``'s member and return the decision if it is at a ready point.

        ``checkpoint`` is the state to save, or a zero-argument callable returning it; it is
        saved only at ready points (and at the end), so reporting often costs little.
        Between ready points the decision is always ``Continue``.
        """
        return self.report(self._active(trial), step, score, checkpoint)

    def _active(self, trial: Trial) -> _Progress:
        progress = self._progress.get(trial.member)
        if progress is None or not progress.active or progress.generation != trial.generation:
            raise StorageError(
                f"trial of member {trial.member} (generation {trial.generation}) is not active "
                "in this handle: ask() for a new trial"
            )
        return progress

    def report(
        self,
        progress: _Progress,
        step: int,
        score: float,
        checkpoint: CheckpointArg,
        defer: Callable[[int], bool] | None = None,
        batch: bool = False,
    ) -> Decision:
        """Validate, store and, at a ready point, decide (the in-training path of ``tell``).

        When ``defer(step)`` is true at a ready point before the budget (other members are
        behind and the worker has them to train), the checkpoint is saved but the decision is
        left for later: the member pauses and decides when it is resumed, by which time the
        others have caught up, so it is compared with them at the same step. With ``batch``,
        results between ready points are kept for up to :data:`STORE_EVERY` seconds and stored
        with the next write (the caller must :meth:`release` the member when it stops).
        """
        step = _check_step(step, progress, self.controller.budget)
        value = _check_score(score)
        ready = self.controller.is_ready(progress.last_decision_step, step)
        now = self._clock()
        if not ready and batch and now - progress.stored_at < STORE_EVERY:
            progress.pending.append((step, value, now))
            progress.step = step
            return NOT_READY
        ref = None
        if ready and checkpoint is not None:
            state = checkpoint() if callable(checkpoint) else checkpoint
            ref = self._store.put(state)
        self._store_result(progress, step, value, ready, ref, now)
        progress.step = step
        if not ready:
            return NOT_READY
        if ref is not None and step < self.controller.budget and defer is not None and defer(step):
            progress.active = False
            return DEFERRED
        decision = self._decide(progress.member, progress.generation, step)
        if self.observer is not None:
            self.observer(progress.member, step, value, decision)
        if decision.kind == "continue":
            progress.last_decision_step = step
        elif decision.kind != "wait":
            progress.active = False
        return decision

    def _store_result(
        self,
        progress: _Progress,
        step: int,
        score: float,
        ready: bool,
        checkpoint: str | None,
        now: float,
    ) -> None:
        """Store a result with the ones waiting in memory before it, in one transaction.

        Raises:
            MemberLost: the storage refused it because the member moved on without this handle.
        """
        earlier, progress.pending = progress.pending, []  # taken first: never stored twice
        try:
            self._storage.record_result(
                self.id,
                progress.member,
                progress.generation,
                step,
                score,
                ready=ready,
                checkpoint=checkpoint,
                now=now,
                owner=progress.owner,
                earlier=earlier,
            )
        except (ReportError, StorageError) as exc:
            lost = self._lost(progress)
            if lost is None:
                raise
            raise MemberLost(f"member {progress.member} {lost}; its trial here ends") from exc
        progress.stored_at = now

    def _lost(self, progress: _Progress) -> str | None:
        """How the member moved on without this handle, or None if it did not."""
        record = next(m for m in self._storage.members(self.id) if m.id == progress.member)
        if record.state != MemberState.RUNNING:
            return f"is {record.state}"
        if record.generation != progress.generation:
            return f"moved to generation {record.generation}"
        if record.lease_owner != progress.owner:
            return f"is leased by {record.lease_owner or 'nobody'} (this worker's lease lapsed)"
        return None

    def _decide(self, member: int, generation: int, step: int) -> Decision:
        controller = self.controller
        snapshot = self._storage.snapshot(
            self.id, step, controller.interval, controller.exploit.history
        )
        decision, ranked = controller.decide_and_rank(snapshot, member, step)
        if decision.kind == "wait":
            return decision
        compared = [] if ranked is None else ranked.compared()
        committed = self._storage.commit_decision(
            self.id, member, generation, step, decision, compared, snapshot.watermark, self._clock()
        )
        _log.debug("member %d at step %d: %s (%s)", member, step, committed.kind, committed.reason)
        return committed

    def member(
        self,
        trial: Trial,
        should_pause: Callable[[Member, int], bool] = lambda member, step: False,
        device: str | None = None,
        halt: threading.Event | None = None,
    ) -> Member:
        """The handle ``train`` receives for ``trial`` (which must come from this handle's ask);
        setting ``halt`` makes its next report unwind ``train`` (the worker is stopping)."""
        progress = self._active(trial)
        return Member(trial, self, progress, should_pause, device, halt)

    def step_of(self, member: Member) -> int:
        """The last step this handle recorded for ``member``."""
        progress = self._progress.get(member.id)
        return member.step if progress is None else progress.step

    def waiting_behind(self, owner: str) -> Callable[[Member, int], bool]:
        """A pause rule for ``owner``'s members: yield at a ready point if a member behind waits.

        A member behind that no live worker holds needs this worker; one held by another
        worker is being trained already, so the member keeps going.
        """

        def rule(member: Member, step: int) -> bool:
            members = self._storage.members(self.id)
            dead = dead_owners(m.lease_owner for m in members)
            now = self._clock()
            return any(
                m.state == MemberState.RUNNING
                and m.id != member.id
                and m.step < step
                and self._free(m, owner, now, dead)
                for m in members
            )

        return rule

    def record_failure(self, member: int, error: str, limit: int) -> bool:
        """Store a failure of ``member``'s training; returns whether it is now failed for good.

        The results it reported before failing are stored first: a failed member takes none.
        """
        self.flush(member)
        return self._storage.record_failure(self.id, member, error, limit, self._clock())

    def restore_past_damaged_checkpoint(self, trial: Trial) -> bool:
        """If the checkpoint ``trial`` started from is damaged (missing or corrupted), move its
        member back to the latest intact checkpoint of its generation and return True.

        Earlier means, latest first: the member's own checkpoints of this generation, the
        generation's first one (its parent's copy, or none: from scratch), and after an exploit
        the member's own checkpoint from before it. Returns False, changing nothing, when the
        checkpoint is intact (the error lay elsewhere) or none of those is.
        """
        damaged = trial.checkpoint
        if damaged is None or self.checkpoint_intact(damaged.ref):
            return False
        segment = next(
            s
            for s in self._storage.segments(self.id)
            if (s.member, s.generation) == (trial.member, trial.generation)
        )
        saved = {
            (r.generation, r.step): r.checkpoint
            for r in self._storage.results(self.id)
            if r.member == trial.member and r.ready and r.checkpoint is not None
        }
        earlier: list[tuple[int, str | None]] = sorted(
            (
                (step, ref)
                for (generation, step), ref in saved.items()
                if generation == trial.generation and segment.start_step <= step < damaged.step
            ),
            reverse=True,
        )
        earlier.append((segment.start_step, segment.checkpoint))
        own_start = None
        if segment.parent_member not in (None, trial.member):
            # Copied from a parent: the member's own checkpoint at the exploit can stand in.
            own_start = saved.get((trial.generation - 1, segment.start_step))
            if own_start is not None:
                earlier.append((segment.start_step, own_start))
        for step, ref in earlier:
            if ref != damaged.ref and (ref is None or self.checkpoint_intact(ref)):
                self._progress.pop(trial.member, None)  # its unstored results go too
                lost = self._storage.restore_checkpoint(
                    self.id,
                    trial.member,
                    trial.generation,
                    step,
                    ref,
                    own_start=ref is not None and ref == own_start,
                )
                _log.warning(
                    "checkpoint %s of member %d at step %d is damaged; the member goes back to "
                    "its %s at step %d (%d results dropped)",
                    damaged.ref,
                    trial.member,
                    damaged.step,
                    "start" if ref is None else f"checkpoint {ref}",
                    step,
                    lost,
                )
                return True
        return False

    def checkpoint_intact(self, ref: str) -> bool:
        """Whether the checkpoint ``ref`` is stored and its bytes match their hash."""
        try:
            self._store.get_bytes(ref)
        except CheckpointError:
            return False
        return True

    def flush(self, member: int) -> None:
        """Store the results ``member`` reported since its last write (batched in memory).

        Results of a member that moved on without this handle (its lease lapsed and another
        worker took it) are dropped: they belong to a model nobody continues.
        """
        progress = self._progress.get(member)
        if progress is None or not progress.pending:
            return
        *earlier, (step, score, at) = progress.pending
        progress.pending = earlier
        try:
            self._store_result(progress, step, score, False, None, at)
        except MemberLost as exc:
            _log.warning("%s: %d results dropped", exc, len(earlier) + 1)

    def release(self, member: int, owner: str) -> None:
        """Give up the lease on ``member`` (after a trial, a pause or a crash of ``train``),
        storing first the results it reported since its last write."""
        try:
            self.flush(member)
        finally:
            self._progress.pop(member, None)
            self._storage.release(self.id, member, owner)

    def __repr__(self) -> str:
        return f"Population({self.name!r}, size={self.size}, storage={self._storage.url!r})"
