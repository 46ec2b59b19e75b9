"""The storage contract: the single source of truth of every population."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from populace.controller import Decision, PopulationSnapshot
from populace.storage._records import (
    DecisionRecord,
    MemberRecord,
    PendingResult,
    PopulationRecord,
    ProposedDecision,
    ReportedResult,
    ResultRecord,
    SegmentRecord,
    WorkerRecord,
)

__all__ = ["BaseStorage"]


class BaseStorage(abc.ABC):
    """Where populations, results, decisions, lineage and leases live.

    Contract, checked by :class:`populace.testing.StorageSuite` against every backend:

    - Everything needed to resume or audit a run is stored: the configuration, every result,
      every decision with the comparison and watermark it was made from, every generation of
      every member (the lineage) and the leases. Nothing lives only in a process.
    - Each write is one transaction; a failed write changes nothing.
    - ``record_result`` is a compare-and-set on the member's generation and step, and on its
      lease when the writer names itself (``owner``): a stale worker (its member was exploited
      meanwhile, or its lease lapsed and another worker took the member) or a step that does
      not move forward is refused.
    - A decision is committed once per ``(population, member, generation, step)``; later commits
      for the same key return the committed decision unchanged. Committing applies its effects
      (the member's decision step; a new generation on exploit or explore; finished on stop)
      atomically, and a later commit applies them only if the member still stands before them,
      so a member can never stay ready at a step whose decision is stored.
    - ``snapshot`` costs a constant number of queries, whatever the population size.
    - Returned records are immutable values; time is passed in (``now``), never read.
    - Methods may be called from several threads and processes at once.
    """

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The storage URL with any password masked: safe to log."""

    @property
    def url_for_workers(self) -> str | None:
        """The unmasked URL other processes open this storage with, or None if they cannot.

        It may hold a password: hand it to worker processes, never log it.
        """
        return None

    @property
    def storage_id(self) -> str | None:
        """A random id the database was given when its schema was made, or None (a database
        written before populace recorded one, opened read-only). Checkpoint stores record the id
        of the database that owns them."""
        return None

    @property
    def database_file(self) -> Path | None:
        """The database file (an absolute path), beside which checkpoint folders are recorded
        relative to it; None for a database server or one in memory."""
        return None

    # -- populations -------------------------------------------------------------------------

    @abc.abstractmethod
    def create_population(
        self,
        name: str,
        config: Mapping[str, Any],
        checkpoints: str,
        initial_params: Sequence[Mapping[str, Any]],
        now: float,
    ) -> PopulationRecord:
        """Create a population whose members start with ``initial_params`` (one per member).

        Raises StorageError if the name is taken.
        """

    @abc.abstractmethod
    def move_checkpoints(self, population: int, checkpoints: str) -> None:
        """Record that the population's checkpoint store now lies at ``checkpoints`` (its
        folder was moved). Raises StorageError if the population does not exist."""

    @abc.abstractmethod
    def find_population(self, name: str) -> PopulationRecord | None:
        """Return the population called ``name``, or None."""

    @abc.abstractmethod
    def list_populations(self) -> list[PopulationRecord]:
        """Return every population, oldest first."""

    # -- the training loop ---------------------------------------------------------------------

    @abc.abstractmethod
    def record_result(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        score: float,
        *,
        ready: bool,
        checkpoint: str | None,
        now: float,
        owner: str | None = None,
        earlier: Sequence[PendingResult] = (),
        metrics: Mapping[str, float] | None = None,
    ) -> int:
        """Store a score (its extra ``metrics``, and the worker that reported it); return its id.

        ``earlier`` holds results reported before this one and not stored yet, in step order,
        all before ``step`` and not ready: they are stored in the same transaction, so a batch
        costs one commit.

        Raises ReportError or StorageError if refused.
        """

    @abc.abstractmethod
    def record_results(
        self, population: int, results: Sequence[ReportedResult], *, owner: str | None = None
    ) -> list[int]:
        """Store several members' results (each with its ``earlier`` batch) in one transaction;
        return their ids in order.

        Each result is checked as ``record_result`` checks it; one refusal refuses the whole
        batch, so nothing is stored and the caller can drop the members that moved on and try
        again. A vectorised shard stores the scores of all its members at a step this way.

        Raises ReportError or StorageError (naming the member) if one is refused.
        """

    @abc.abstractmethod
    def snapshot(
        self,
        population: int,
        step: int,
        interval: int,
        recent: int,
        *,
        scores_until: int | None = None,
    ) -> PopulationSnapshot:
        """Return what the controller needs to decide at ``step``.

        Ready records at steps in ``[step - interval, step]`` from every generation, and the
        ``recent`` latest scores at or before ``step`` of each member's current generation
        (0 skips them), so members ahead are judged on what they had at ``step``.
        ``scores_until`` moves that last bound (FIRE PBT compares whole curves, whatever the
        step of the member deciding).
        """

    @abc.abstractmethod
    def commit_decision(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        decision: Decision,
        compared: Sequence[tuple[int, int, float]],
        watermark: int,
        now: float,
    ) -> Decision:
        """Commit ``decision`` unless one exists for the key; return the committed one.

        A ``Wait`` is never stored: it raises ConfigurationError (a ValueError).
        """

    @abc.abstractmethod
    def commit_decisions(
        self, population: int, decisions: Sequence[ProposedDecision]
    ) -> list[Decision]:
        """Commit several members' decisions in one transaction, each as ``commit_decision``
        commits it (a key already decided keeps its decision); return the committed ones in
        order. A vectorised shard commits the decisions of its ready point this way.

        One refusal refuses the batch: nothing is stored. Raises ConfigurationError for a
        ``Wait`` and StorageError (naming the member) for a member no longer at its generation.
        """

    @abc.abstractmethod
    def get_decision(
        self, population: int, member: int, generation: int, step: int
    ) -> Decision | None:
        """Return the committed decision for the key, or None."""

    @abc.abstractmethod
    def discard_results_after(
        self, population: int, member: int, generation: int, step: int
    ) -> int:
        """Delete the member's results after ``step`` in ``generation`` and rewind its step.

        Used when a member restarts from its last checkpoint: results reported after it belong
        to the interval that was lost. Returns how many were deleted.
        """

    @abc.abstractmethod
    def restore_checkpoint(
        self,
        population: int,
        member: int,
        generation: int,
        step: int,
        checkpoint: str | None,
        *,
        own_start: bool = False,
    ) -> int:
        """Move a running member of ``generation`` back to an earlier ``checkpoint`` at ``step``.

        Used when its latest checkpoint is found damaged: its results after ``step`` are deleted,
        with the decisions taken on them, and it trains on from there, deciding afresh.
        With ``own_start``, the generation's first checkpoint (a copy of its parent's) was the
        damaged one: the generation now starts from ``checkpoint``, the member's own at the
        exploit, and its lineage says so. Returns how many results were deleted; StorageError
        if the member is not running in ``generation`` any more.
        """

    @abc.abstractmethod
    def record_failure(
        self, population: int, member: int, error: str, limit: int, now: float
    ) -> bool:
        """Count a failure of the member's training; at ``limit`` failures mark it failed.

        Stores the error and returns whether the member is now failed for good.
        """

    # -- leases ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def claim(
        self,
        population: int,
        member: int,
        owner: str,
        until: float,
        now: float,
        dead_owners: Collection[str] = (),
    ) -> MemberRecord | None:
        """Lease a running member to ``owner`` until ``until``; compare-and-set.

        Succeeds if the member is unleased, its lease expired before ``now``, its owner is in
        ``dead_owners``, or ``owner`` already holds it; never for an owner recorded as stopped
        (see :meth:`stop_worker`). Returns the member as it is once claimed (read in the same
        transaction), or None if the claim failed.
        """

    @abc.abstractmethod
    def renew(self, population: int, owner: str, until: float, now: float | None = None) -> int:
        """Extend every lease ``owner`` holds in the population (a heartbeat); return how many.

        With ``now``, also marks the worker registered as ``owner`` as seen at ``now``.
        """

    @abc.abstractmethod
    def release(self, population: int, member: int, owner: str) -> None:
        """Drop ``owner``'s lease on the member, if it holds it."""

    # -- workers ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def register_worker(
        self,
        population: int,
        owner: str,
        host: str,
        pid: int,
        now: float,
        lease_seconds: float | None = None,
    ) -> WorkerRecord:
        """Record that a worker process with lease owner id ``owner`` started on ``host``,
        holding members under leases of ``lease_seconds``.

        Registering an owner again restarts its record (seen and not stopped). Raises
        StorageError if the population does not exist.
        """

    @abc.abstractmethod
    def stop_worker(self, population: int, owner: str, now: float) -> None:
        """Record that the worker ``owner`` stopped at ``now``; unknown owners are ignored.

        A stopped worker claims nothing more until it registers again: a fence, so that a
        supervisor that stops a dying worker and then frees its members cannot be overtaken by a
        last claim of that worker.
        """

    @abc.abstractmethod
    def workers(self, population: int) -> list[WorkerRecord]:
        """Return every worker registered for the population, in the order they started."""

    # -- reads -----------------------------------------------------------------------------------

    @abc.abstractmethod
    def members(self, population: int) -> list[MemberRecord]:
        """Return every member's current state, by member id."""

    @abc.abstractmethod
    def segments(self, population: int) -> list[SegmentRecord]:
        """Return every generation of every member (the lineage)."""

    @abc.abstractmethod
    def ancestry(self, population: int, member: int) -> list[SegmentRecord]:
        """Return the chain of generations that produced ``member``'s current model, oldest
        first: its current generation, the one it was copied from, and so on back to a start
        from scratch. Costs one query, however long the run."""

    @abc.abstractmethod
    def results(self, population: int, after: int = 0) -> list[ResultRecord]:
        """Return every result with an id above ``after``, in the order they were stored.

        ``after`` lets a reader that follows a live run (the dashboard, a tracker) read only
        new rows. Ids grow in the order rows are inserted; under PostgreSQL a transaction that
        commits later can still hold a lower id, so a follower re-reads a short window."""

    @abc.abstractmethod
    def saved_results(self, population: int, from_step: int = 0) -> list[ResultRecord]:
        """Return the results saved with a checkpoint (at ready points) at ``from_step`` or
        later, in the order stored: what garbage collection reads, a window of a long run."""

    @abc.abstractmethod
    def best_saved_results(self, population: int, count: int, maximize: bool) -> list[ResultRecord]:
        """Return the ``count`` best-scoring results saved with a checkpoint, best first (ties:
        stored first)."""

    @abc.abstractmethod
    def decisions(self, population: int, after: int = 0) -> list[DecisionRecord]:
        """Return every committed decision with an id above ``after``, in the order they were
        committed (see :meth:`results` for following a live run)."""

    def close(self) -> None:  # noqa: B027 - optional hook with a sensible default
        """Release connections; the storage is unusable afterwards."""
