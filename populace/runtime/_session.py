"""What one process knows about the members it trains, and the path of every report.

A :class:`Session` hands out trials (``ask``), validates and stores what ``train`` reports,
batches the results between ready points, takes decisions at ready points and releases
leases. :class:`~populace.runtime.Population` (``ask``/``tell``) and the worker loop each hold
one; several sessions, in any number of processes, can work on one population, since every
change goes through the storage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from populace.checkpoints import BaseCheckpointStore, Checkpoint
from populace.controller import (
    NOT_READY,
    Controller,
    Decision,
    MemberState,
    PopulationSnapshot,
    Wait,
)
from populace.errors import ReportError, StorageError
from populace.runtime._checks import check_metrics, check_score, check_step
from populace.runtime._leases import MemberLost, dead_owners
from populace.runtime._member import Member
from populace.runtime._trial import Evaluation, Trial
from populace.storage import BaseStorage, MemberRecord, PendingResult, ProposedDecision

__all__ = ["CheckpointArg", "MemberProgress", "Session"]

_log = logging.getLogger("populace")
CheckpointArg = Any | Callable[[], Any] | None
DEFERRED = Wait("decision deferred until the members behind catch up")
STORE_EVERY = 1.0
"""Seconds a result between ready points may wait in memory before it is stored.

Such results are lost in a crash either way (a resumed member restarts from its last checkpoint,
and the results after it are dropped), so batching them into the next write costs nothing in
durability and makes reporting every step almost free.
"""


@dataclass
class MemberProgress:
    """What this process knows about a member it is training (kept off the hot path's queries)."""

    member: int
    generation: int
    step: int
    last_decision_step: int
    owner: str | None = None
    active: bool = True
    pending: list[PendingResult] = field(default_factory=list)
    """Results between ready points not stored yet."""
    stored_at: float = 0.0


class FreeMembers(NamedTuple):
    """What :meth:`Session.free_members` found: the members, and the dead workers and the time
    that claiming them takes."""

    members: list[MemberRecord]
    dead: Collection[str]
    now: float


class Session:
    """The trials one process has in hand for one population, and how their reports are stored.

    Args:
        storage: The storage holding the population.
        population: The population's id in ``storage``.
        controller: The population's stored controller.
        store: The population's checkpoint store.
        clock: Wall-clock seconds, for leases and result times (a test may pass a fake one).
    """

    def __init__(
        self,
        storage: BaseStorage,
        population: int,
        controller: Controller,
        store: BaseCheckpointStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.population = population
        self.controller = controller
        self.store = store
        self._clock = clock
        self._progress: dict[int, MemberProgress] = {}

    @property
    def done(self) -> bool:
        """Whether every member has finished or failed."""
        return all(m.state != MemberState.RUNNING for m in self.storage.members(self.population))

    def ask(self, owner: str, lease_seconds: float = 3600.0) -> Trial | None:
        """Lease the least-advanced member that can train now and return its next trial.

        Pending decisions (a member stopped at a ready point before its decision was stored,
        or waiting at a synchronous barrier) are resolved first. Returns None when no member can
        train now: all are finished, leased by others, or waiting.
        """
        free = self.free_members(owner)
        for candidate in free.members:
            claimed = self.storage.claim(
                self.population, candidate.id, owner, free.now + lease_seconds, free.now, free.dead
            )
            if claimed is not None:
                trial = self._decide_then_start(claimed, owner, lease_seconds, free.dead)
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
            ready = self.controller.is_ready(
                member.last_decision_step, member.step, member.id, member.generation
            )
            if not ready:
                return self._start(member, owner)
            if self._decide(member.id, member.generation, member.step).kind == "wait":
                break
            now = self._clock()  # read the member back, changed by its decision, still leased
            record = self.storage.claim(
                self.population, member_id, owner, now + lease_seconds, now, dead
            )
        self.storage.release(self.population, member_id, owner)
        return None

    def free_members(self, owner: str) -> FreeMembers:
        """The running members ``owner`` may claim now, least advanced first: unleased, leased
        to it, or held by a dead worker or a lapsed lease."""
        members = self.storage.members(self.population)
        dead = dead_owners(m.lease_owner for m in members)
        now = self._clock()
        free = [
            m for m in members if m.state == MemberState.RUNNING and self._free(m, owner, now, dead)
        ]
        return FreeMembers(sorted(free, key=lambda m: (m.step, m.id)), dead, now)

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
        self.storage.discard_results_after(
            self.population, member.id, member.generation, member.checkpoint_step
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
            checkpoint = Checkpoint(member.checkpoint, saved_by, member.checkpoint_step, self.store)
        self._progress[member.id] = MemberProgress(
            member.id, member.generation, member.step, member.last_decision_step, owner
        )
        steps = min(member.last_decision_step + interval, budget) - member.step
        evaluation = None
        if member.child_member is not None and member.parent_member is not None:
            evaluation = Evaluation(member.parent_member, member.child_member)
        return Trial(
            member.id,
            member.generation,
            dict(member.params),
            checkpoint,
            member.step,
            steps,
            budget,
            interval,
            evaluation,
        )

    # -- tell ------------------------------------------------------------------------------------

    def tell(
        self,
        trial: Trial,
        step: int,
        score: float,
        checkpoint: CheckpointArg = None,
        metrics: Mapping[str, float] | None = None,
    ) -> Decision:
        """:meth:`Population.tell <populace.runtime.Population.tell>`: a report stored at once."""
        return self.report(self._active(trial), step, score, checkpoint, metrics=metrics)

    def _active(self, trial: Trial) -> MemberProgress:
        progress = self._progress.get(trial.member)
        if progress is None or not progress.active or progress.generation != trial.generation:
            raise StorageError(
                f"trial of member {trial.member} (generation {trial.generation}) is not active "
                "in this handle: ask() for a new trial"
            )
        return progress

    def report(
        self,
        progress: MemberProgress,
        step: int,
        score: float,
        checkpoint: CheckpointArg,
        defer: Callable[[int], bool] | None = None,
        batch: bool = False,
        metrics: Mapping[str, float] | None = None,
    ) -> Decision:
        """Validate, store and, at a ready point, decide (the in-training path of ``tell``).

        When ``defer(step)`` is true at a ready point before the budget (other members are
        behind and the worker has them to train), the checkpoint is saved but the decision is
        left for later: the member pauses and decides when it is resumed, by which time the
        others have caught up, so it is compared with them at the same step. With ``batch``,
        results between ready points are kept for up to :data:`STORE_EVERY` seconds and stored
        with the next write (the caller must :meth:`release` the member when it stops).
        """
        step = check_step(step, progress.member, progress.step, self.controller.budget)
        value = check_score(score)
        extra = check_metrics(metrics)
        ready = self.controller.is_ready(progress.last_decision_step, step)
        now = self._clock()
        if not ready and batch and now - progress.stored_at < STORE_EVERY:
            progress.pending.append(PendingResult(step, value, now, extra))
            progress.step = step
            return NOT_READY
        ref = None
        if ready and checkpoint is not None:
            state = checkpoint() if callable(checkpoint) else checkpoint
            ref = self.store.put(state)
        self._store_result(progress, PendingResult(step, value, now, extra), ready, ref)
        progress.step = step
        if not ready:
            return NOT_READY
        if ref is not None and step < self.controller.budget and defer is not None and defer(step):
            progress.active = False
            return DEFERRED
        decision = self._decide(progress.member, progress.generation, step)
        if decision.kind == "continue":
            progress.last_decision_step = step
        elif decision.kind != "wait":
            progress.active = False
        return decision

    def _store_result(
        self, progress: MemberProgress, result: PendingResult, ready: bool, checkpoint: str | None
    ) -> None:
        """Store a result with the ones waiting in memory before it, in one transaction.

        Raises:
            MemberLost: the storage refused it because the member moved on without this handle.
        """
        earlier, progress.pending = progress.pending, []  # taken first: never stored twice
        try:
            self.storage.record_result(
                self.population,
                progress.member,
                progress.generation,
                result.step,
                result.score,
                ready=ready,
                checkpoint=checkpoint,
                now=result.reported_at,
                owner=progress.owner,
                earlier=earlier,
                metrics=result.metrics,
            )
        except (ReportError, StorageError) as exc:
            lost = self._lost(progress)
            if lost is None:
                raise
            raise MemberLost(f"member {progress.member} {lost}; its trial here ends") from exc
        progress.stored_at = result.reported_at

    def _lost(self, progress: MemberProgress) -> str | None:
        """How the member moved on without this handle, or None if it did not."""
        record = next(m for m in self.storage.members(self.population) if m.id == progress.member)
        if record.state != MemberState.RUNNING:
            return f"is {record.state}"
        if record.generation != progress.generation:
            return f"moved to generation {record.generation}"
        if record.lease_owner != progress.owner:
            return f"is leased by {record.lease_owner or 'nobody'} (this worker's lease lapsed)"
        return None

    def _decide(self, member: int, generation: int, step: int) -> Decision:
        return self.decide_together([(member, generation)], step)[0]

    def decide_together(self, members: Sequence[tuple[int, int]], step: int) -> list[Decision]:
        """Decide ``(member, generation)`` pairs standing at ``step`` on one snapshot and commit
        the decisions in one transaction: a vectorised shard's ready point costs one snapshot
        and one commit, not one of each per member. A decision is a function of the member and
        the snapshot, so each is the one a snapshot read for it alone would give, except where
        an earlier member's commit would have changed what a later one reads (recent scores of
        a member that exploited here). Members told to wait get their ``Wait``; nothing is
        stored for them."""
        snapshot = self._snapshot(step)
        decided = [
            (member, generation, self.controller.decide_and_rank(snapshot, member, step))
            for member, generation in members
        ]
        now = self._clock()
        proposed = [
            ProposedDecision(
                member,
                generation,
                step,
                decision,
                [] if ranked is None else ranked.compared(),
                snapshot.watermark,
                now,
            )
            for member, generation, (decision, ranked) in decided
            if decision.kind != "wait"
        ]
        committed = iter(self.storage.commit_decisions(self.population, proposed))
        decisions = [
            decision if decision.kind == "wait" else next(committed)
            for _, _, (decision, _) in decided
        ]
        for (member, _), decision in zip(members, decisions, strict=True):
            _log.debug(
                "member %d at step %d: %s (%s)", member, step, decision.kind, decision.reason
            )
        return decisions

    def _snapshot(self, step: int) -> PopulationSnapshot:
        controller = self.controller
        return self.storage.snapshot(
            self.population,
            step,
            controller.interval * controller.lookback,
            controller.history,
            scores_until=controller.scores_until(step),
        )

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
            free = self.free_members(owner).members
            return any(m.id != member.id and m.step < step for m in free)

        return rule

    def record_failure(self, member: int, error: str, limit: int) -> bool:
        """Store a failure of ``member``'s training; returns whether it is now failed for good.

        The results it reported before failing are stored first: a failed member takes none.
        """
        self.flush(member)
        return self.storage.record_failure(self.population, member, error, limit, self._clock())

    def flush(self, member: int) -> None:
        """Store the results ``member`` reported since its last write (batched in memory).

        Results of a member that moved on without this handle (its lease lapsed and another
        worker took it) are dropped: they belong to a model nobody continues.
        """
        progress = self._progress.get(member)
        if progress is None or not progress.pending:
            return
        *earlier, last = progress.pending
        progress.pending = earlier
        try:
            self._store_result(progress, last, False, None)
        except MemberLost as exc:
            _log.warning("%s: %d results dropped", exc, len(earlier) + 1)

    def forget(self, member: int) -> None:
        """Drop what this session holds of ``member`` (its unstored results too): the member was
        moved back to an earlier checkpoint, so they belong to a model nobody continues."""
        self._progress.pop(member, None)

    def release(self, member: int, owner: str) -> None:
        """Give up the lease on ``member`` (after a trial, a pause or a crash of ``train``),
        storing first the results it reported since its last write."""
        try:
            self.flush(member)
        finally:
            self._progress.pop(member, None)
            self.storage.release(self.population, member, owner)
