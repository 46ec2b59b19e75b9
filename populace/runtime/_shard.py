"""The path of a vectorised report: K members' scores stored at once, K decisions applied in place.

A :class:`Shard` is what one worker trains together: members in lockstep, their results batched
in memory between ready points and stored in one transaction per write, their checkpoints
saved slice by slice at ready points, and the controller's decisions (taken member by member,
exactly as :class:`~populace.runtime._session.Session` takes them) applied inside the stacked
state instead of restarting the training function.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from populace.controller import Decision, Exploit, Explore, MemberState
from populace.errors import ConfigurationError, ReportError, StorageError
from populace.runtime._batch import metrics_of, scores_of, write_params
from populace.runtime._checks import check_metrics
from populace.runtime._member import Finished, Halt, Pause
from populace.runtime._session import STORE_EVERY, Session
from populace.runtime._stacked import check_state, copy_slots, member_slice
from populace.storage import PendingResult, ReportedResult

__all__ = ["Shard"]

_log = logging.getLogger("populace")


class Shard:
    """K members trained together by one worker, from a common step, under its leases.

    Args:
        session: The worker's session (storage, controller, checkpoint store, clock).
        owner: The lease owner the members are claimed by.
        members: The members' ids, in slot order, and their current generations.
        params: The [K] hyperparameter tensors ``train_batch`` reads.
        step: The common step the members start from.
        last_decision_step: The common step of their last decisions.
        checkpoint: The stacked state they start from, or None.
        halt: Set to stop at the next report.
        capacity: The most members the worker trains at once (None: no limit); a full shard
            does not stop to let members behind join it.
    """

    def __init__(
        self,
        session: Session,
        owner: str,
        members: Sequence[tuple[int, int]],
        params: dict[str, Any],
        device: Any,
        step: int,
        last_decision_step: int,
        checkpoint: dict[str, Any] | None,
        halt: threading.Event,
        capacity: int | None = None,
    ) -> None:
        self.session = session
        self.owner = owner
        self.members = tuple(m for m, _ in members)
        self.generations = [g for _, g in members]
        self.active = [True] * len(members)
        self.pending: list[list[PendingResult]] = [[] for _ in members]
        self.params = params
        self.device = device
        self.step = step
        self.last_decision_step = last_decision_step
        self.checkpoint = checkpoint
        self.budget = session.controller.budget
        self.interval = session.controller.interval
        self._halt = halt
        self._capacity = capacity
        self._stored_at = 0.0

    @property
    def finished(self) -> bool:
        """Whether no member of the shard trains on (all finished, failed or lost)."""
        return not any(self.active)

    def report(
        self,
        step: int,
        scores: Any,
        state: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None,
        metrics: Mapping[str, Any] | None,
    ) -> None:
        """:meth:`Batch.report <populace.runtime.Batch.report>`."""
        if self._halt.is_set():
            raise Halt("the worker is stopping")
        if self.finished:
            raise ReportError(
                f"every member of the shard finished or failed (budget {self.budget}): "
                "train_batch must stop"
            )
        step = self._check_step(step)
        values = scores_of(scores, len(self.members))
        extras = metrics_of(metrics, len(self.members))
        now = self.session._clock()
        checked = {k: check_metrics(extras[k]) for k in self._slots() if math.isfinite(values[k])}
        self._fail_non_finite(step, values, now)
        results = {k: PendingResult(step, values[k], now, checked[k]) for k in self._slots()}
        ready = self.session.controller.is_ready(self.last_decision_step, step)
        self.step = step
        if not ready and now - self._stored_at < STORE_EVERY:
            for k, result in results.items():
                self.pending[k].append(result)
            return
        stacked = None
        refs: dict[int, str] = {}
        if ready and state is not None:
            stacked = state() if callable(state) else state
            check_state(stacked, len(self.members))
            refs = {k: self.session.store.put(member_slice(stacked, k)) for k in results}
        self._write({k: (r, ready, refs.get(k)) for k, r in results.items()}, now)
        if ready and refs and step < self.budget and self._joined_here(step):
            raise Pause(f"members outside the shard stand at or behind step {step}")
        if ready:
            self._decide(step, stacked, refs)
        if self.finished and step < self.budget:
            raise Finished("every member of the shard finished or failed")

    def _slots(self) -> list[int]:
        return [k for k, active in enumerate(self.active) if active]

    def _check_step(self, step: object) -> int:
        if isinstance(step, bool) or not isinstance(step, int):
            raise ReportError(f"step must be an integer, got {step!r}")
        if step > self.budget:
            raise ReportError(
                f"step {step} is past the budget of {self.budget} steps: train_batch must stop "
                "at batch.budget"
            )
        if step <= self.step:
            raise ReportError(
                f"step {step} does not come after the shard's current step {self.step}: steps "
                "count completed training steps and must increase"
            )
        return step

    def _fail_non_finite(self, step: int, values: Sequence[float], now: float) -> None:
        """Fail, alone, each member whose score is NaN or infinite (its earlier results stored
        first, as a failing member's are)."""
        bad = [k for k in self._slots() if not math.isfinite(values[k])]
        if not bad:
            return
        self._write({k: (self.pending[k][-1], False, None) for k in bad if self.pending[k]}, now)
        storage, population = self.session.storage, self.session.population
        for k in bad:
            error = (
                f"member {self.members[k]} reported a non-finite score ({values[k]}) at step "
                f"{step}: it fails; the other members of the shard go on"
            )
            storage.record_failure(population, self.members[k], error, 1, now)
            self.active[k] = False
            _log.warning("%s", error)

    def flush(self) -> None:
        """Store the results reported since the last write (batched in memory)."""
        waiting = {
            k: (p[-1], False, None) for k, p in enumerate(self.pending) if p and self.active[k]
        }
        self._write(waiting, self.session._clock())

    def _write(
        self, results: Mapping[int, tuple[PendingResult, bool, str | None]], now: float
    ) -> None:
        """Store ``results`` (by slot: the result, whether ready, its checkpoint) with the ones
        waiting in memory before them, in one transaction; members that moved on without this
        worker are dropped from the shard and the rest stored."""
        rows = {}
        for k, (result, ready, ref) in results.items():
            earlier = [p for p in self.pending[k] if p.step < result.step]
            self.pending[k] = []
            rows[k] = ReportedResult(
                self.members[k],
                self.generations[k],
                result.step,
                result.score,
                ready,
                ref,
                result.reported_at,
                earlier,
                result.metrics,
            )
        while rows:
            try:
                self.session.storage.record_results(
                    self.session.population, list(rows.values()), owner=self.owner
                )
            except (ReportError, StorageError):
                lost = self._lost(rows)
                if not lost:
                    raise
                for k in lost:
                    rows.pop(k)
                continue
            self._stored_at = now
            return

    def _lost(self, slots: Mapping[int, object]) -> list[int]:
        """The slots whose members moved on without this worker (now dropped from the shard)."""
        records = {m.id: m for m in self.session.storage.members(self.session.population)}
        lost = []
        for k in slots:
            record = records[self.members[k]]
            if (
                record.state != MemberState.RUNNING
                or record.generation != self.generations[k]
                or record.lease_owner != self.owner
            ):
                _log.warning("member %d moved on without this worker; its slot is idle", record.id)
                self.active[k] = False
                lost.append(k)
        return lost

    def _joined_here(self, step: int) -> bool:
        """Whether a running member outside the shard, free to train, stands at or behind
        ``step``: then the shard stops here undecided (its checkpoints saved), the members
        behind are trained up to it, and all decide together at ``step`` as one shard, as the
        serial executor decides members only once the others have caught up. A full shard
        goes on: the members behind are another worker's to train."""
        if self._capacity is not None and len(self._slots()) >= self._capacity:
            return False
        mine = {self.members[k] for k in self._slots()}
        free = self.session.free_members(self.owner).members
        return any(m.id not in mine and m.step <= step for m in free)

    def _decide(
        self, step: int, stacked: Mapping[str, Any] | None, refs: Mapping[int, str]
    ) -> None:
        """Decide every active member at ``step`` and apply the decisions in place."""
        decisions = self._decisions(step, bool(refs))
        slot_of = {ref: k for k, ref in refs.items()}
        sources: dict[int, int] = {}
        loaded: dict[int, object] = {}
        for k, decision in decisions.items():
            if decision.kind == "stop":
                self.active[k] = False
            elif decision.kind not in ("continue", "exploit", "explore"):
                raise ConfigurationError(
                    f"the vectorized executor cannot apply a {decision.kind!r} decision"
                )
            if isinstance(decision, Exploit):
                if stacked is None:
                    raise ConfigurationError(
                        "the vectorized executor copies a parent's state into an exploiting "
                        "member in place: pass state to batch.report at every ready point"
                    )
                source = slot_of.get(decision.parent_checkpoint)
                if source is None:
                    loaded[k] = self.session.store.get(decision.parent_checkpoint)
                else:
                    sources[k] = source
        if stacked is not None and (sources or loaded):
            copy_slots(stacked, len(self.members), sources, loaded)
        # After the copies: a state may hold the params tensors themselves (an optimizer given
        # batch.params), and a parent's slice must not overwrite its child's new values.
        for k, decision in decisions.items():
            if isinstance(decision, (Exploit, Explore)):
                write_params(self.params, k, decision.params)
        self.last_decision_step = step
        records = {m.id: m for m in self.session.storage.members(self.session.population)}
        self.generations = [records[m].generation for m in self.members]

    def _decisions(self, step: int, saved: bool) -> dict[int, Decision]:
        """Each active member's committed decision at ``step``, in slot order.

        A member told to wait at a synchronous barrier (members outside the shard are behind)
        stops the shard here: it decides when it is reopened, after the others caught up.
        """
        slots = self._slots()
        together = self.session.decide_together(
            [(self.members[k], self.generations[k]) for k in slots], step
        )
        decisions: dict[int, Decision] = {}
        for k, decision in zip(slots, together, strict=True):
            if decision.kind == "wait":
                if not saved:
                    raise ConfigurationError(
                        "synchronous PBT pauses members at the barrier, so train_batch must "
                        "pass state to batch.report at every ready point"
                    )
                raise Pause(decision.reason)
            decisions[k] = decision
        return decisions

    def fail(self, error: str, limit: int) -> None:
        """Count a failure of ``train_batch`` against every active member (at ``limit`` each
        fails for good), their results since the last write stored first."""
        self.flush()
        now = self.session._clock()
        for k in self._slots():
            self.session.storage.record_failure(
                self.session.population, self.members[k], error, limit, now
            )

    def release(self) -> None:
        """Store what is waiting in memory, then give up every member's lease."""
        try:
            self.flush()
        finally:
            for member in self.members:
                self.session.storage.release(self.session.population, member, self.owner)
