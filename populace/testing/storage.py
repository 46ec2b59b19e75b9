"""The storage contract as a test suite: subclass :class:`StorageSuite` to check a backend.

Every test gets a new, empty storage from a ``storage`` fixture the subclass provides (a fixture
in the same module or a ``conftest.py`` works as well), and checks one promise of
:class:`~populace.storage.BaseStorage`. populace runs the suite against in-memory SQLite, a SQLite
file and PostgreSQL; a new backend passes it before it is used. Requires pytest::

    import pytest
    from populace.storage import SQLStorage
    from populace.testing import StorageSuite

    class TestMyStorage(StorageSuite):
        @pytest.fixture
        def storage(self):
            backend = SQLStorage("memory")
            yield backend
            backend.close()

:func:`new_population` and :func:`report_result` build the same data for a backend's own tests.
"""

from __future__ import annotations

import threading

import pytest

from populace.analysis import ancestry
from populace.controller import Continue, Exploit, Explore, MemberState, Stop, Wait
from populace.errors import ReportError, StorageError
from populace.storage import (
    BaseStorage,
    PendingResult,
    ProposedDecision,
    ReportedResult,
    WorkerRecord,
)

__all__ = ["CONFIG", "PARAMS", "REF_A", "REF_B", "StorageSuite", "new_population", "report_result"]

CONFIG = {"space": {"lr": {"type": "Uniform", "low": 0.0, "high": 1.0}}, "population": 3}
PARAMS = [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]
REF_A, REF_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def new_population(storage: BaseStorage, name: str = "pop", size: int = 3) -> int:
    """Create a population of ``size`` members with ``lr`` 0.1, 0.2, ... and return its id."""
    params = [{"lr": 0.1 * (i + 1)} for i in range(size)]
    return storage.create_population(name, CONFIG, "/tmp/ckpt", params, now=1.0).id


def report_result(
    storage: BaseStorage,
    pid: int,
    member: int,
    step: int,
    score: float,
    *,
    generation: int = 0,
    ready: bool = False,
    checkpoint: str | None = None,
) -> int:
    """Record a result of ``member`` at ``step`` (at time ``step``) and return its id."""
    return storage.record_result(
        pid, member, generation, step, score, ready=ready, checkpoint=checkpoint, now=float(step)
    )


class StorageSuite:
    """The contract of :class:`~populace.storage.BaseStorage`; subclass it and provide a
    ``storage`` fixture that yields a new, empty storage."""

    # -- populations ---------------------------------------------------------------------------

    def test_create_find_and_list(self, storage: BaseStorage) -> None:
        record = storage.create_population("a", CONFIG, "/ckpt", PARAMS, now=5.0)
        assert storage.find_population("a") == record
        assert record.config == CONFIG and record.checkpoints == "/ckpt"
        storage.create_population("b", CONFIG, "/ckpt", PARAMS, now=6.0)
        assert [p.name for p in storage.list_populations()] == ["a", "b"]
        assert storage.find_population("missing") is None
        members = storage.members(record.id)
        assert [(m.id, m.generation, m.step, m.state) for m in members] == [
            (0, 0, 0, "running"),
            (1, 0, 0, "running"),
            (2, 0, 0, "running"),
        ]
        assert [m.params for m in members] == PARAMS

    def test_duplicate_name_is_refused_and_changes_nothing(self, storage: BaseStorage) -> None:
        first = new_population(storage, "dup")
        with pytest.raises(StorageError, match="already exists"):
            storage.create_population("dup", CONFIG, "/other", PARAMS[:1], now=2.0)
        assert len(storage.list_populations()) == 1
        assert len(storage.members(first)) == 3

    # -- results -------------------------------------------------------------------------------

    def test_results_advance_the_member(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        first = report_result(storage, pid, 0, 1, 0.5)
        second = report_result(storage, pid, 0, 2, 0.7, ready=True, checkpoint=REF_A)
        assert second > first
        member = storage.members(pid)[0]
        assert (member.step, member.checkpoint, member.checkpoint_step) == (2, REF_A, 2)
        results = storage.results(pid)
        assert [(r.member, r.step, r.score, r.ready, r.checkpoint) for r in results] == [
            (0, 1, 0.5, False, None),
            (0, 2, 0.7, True, REF_A),
        ]

    def test_a_batch_of_earlier_results_is_stored_with_the_last(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 1, 0.1)
        assert storage.claim(pid, 0, "w", until=100.0, now=1.0) is not None
        storage.record_result(
            pid,
            0,
            0,
            4,
            0.4,
            ready=True,
            checkpoint=REF_A,
            now=4.0,
            owner="w",
            earlier=[PendingResult(2, 0.2, 2.0, {"loss": 2.5}), PendingResult(3, 0.3, 3.0, {})],
            metrics={"loss": 1.5, "accuracy": 0.75},
        )
        results = storage.results(pid)
        assert [(r.step, r.score, r.ready, r.checkpoint, r.owner) for r in results] == [
            (1, 0.1, False, None, None),
            (2, 0.2, False, None, "w"),
            (3, 0.3, False, None, "w"),
            (4, 0.4, True, REF_A, "w"),
        ]
        metrics = [{}, {"loss": 2.5}, {}, {"loss": 1.5, "accuracy": 0.75}]
        assert [r.metrics for r in results] == metrics
        assert [r.created_at for r in results[1:]] == [2.0, 3.0, 4.0]
        member = storage.members(pid)[0]
        assert (member.step, member.checkpoint_step) == (4, 4)
        with pytest.raises(ReportError, match="step 4 of member 0"):
            storage.record_result(
                pid,
                0,
                0,
                6,
                0.6,
                ready=False,
                checkpoint=None,
                now=6.0,
                earlier=[PendingResult(4, 0.5, 5.0, {})],
            )
        assert len(storage.results(pid)) == 4  # nothing of the refused batch is stored

    def test_results_of_several_members_are_stored_together_or_not_at_all(
        self, storage: BaseStorage
    ) -> None:
        pid = new_population(storage)
        for member in range(3):
            assert storage.claim(pid, member, "w", until=100.0, now=1.0) is not None
        early = [PendingResult(1, 0.1, 1.0, {"loss": 2.0})]
        ids = storage.record_results(
            pid,
            [
                ReportedResult(0, 0, 2, 0.2, True, REF_A, 2.0, early, {"loss": 1.0}),
                ReportedResult(1, 0, 2, 0.3, True, REF_B, 2.0),
            ],
            owner="w",
        )
        assert len(ids) == 2 and ids[0] < ids[1]
        results = storage.results(pid)
        assert [(r.member, r.step, r.score, r.checkpoint, r.metrics) for r in results] == [
            (0, 1, 0.1, None, {"loss": 2.0}),
            (0, 2, 0.2, REF_A, {"loss": 1.0}),
            (1, 2, 0.3, REF_B, {}),
        ]
        assert [(m.step, m.checkpoint) for m in storage.members(pid)] == [
            (2, REF_A),
            (2, REF_B),
            (0, None),
        ]
        with pytest.raises(StorageError, match="member 1 moved to generation"):
            storage.record_results(
                pid,
                [
                    ReportedResult(0, 0, 3, 0.4, False, None, 3.0),
                    ReportedResult(1, 1, 3, 0.5, False, None, 3.0),
                ],
                owner="w",
            )
        assert len(storage.results(pid)) == 3  # one refusal refuses the whole batch
        assert storage.members(pid)[0].step == 2

    @pytest.mark.parametrize("step", [0, 2, 1])
    def test_step_must_increase(self, storage: BaseStorage, step: int) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 2, 0.5)
        with pytest.raises(ReportError, match=f"step {step} of member 0"):
            report_result(storage, pid, 0, step, 0.9)
        assert [r.step for r in storage.results(pid)] == [2]
        assert storage.members(pid)[0].step == 2

    def test_stale_generation_is_refused(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        with pytest.raises(StorageError, match="generation"):
            report_result(storage, pid, 0, 1, 0.5, generation=1)
        assert storage.results(pid) == []

    def test_unknown_member_is_refused(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        with pytest.raises(StorageError, match="member 7 does not exist"):
            report_result(storage, pid, 7, 1, 0.5)

    def test_discard_results_after_rewinds(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 5, 0.2)
        report_result(storage, pid, 1, 6, 0.3)
        assert storage.discard_results_after(pid, 1, 0, 4) == 2
        assert [r.step for r in storage.results(pid)] == [4]
        assert storage.members(pid)[1].step == 4
        report_result(storage, pid, 1, 5, 0.25)  # the lost interval can be reported again
        assert [r.score for r in storage.results(pid)] == [0.1, 0.25]

    def test_restore_checkpoint_moves_a_member_back_to_an_earlier_one(
        self, storage: BaseStorage
    ) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 8, 0.2, ready=True, checkpoint=REF_B)
        report_result(storage, pid, 1, 9, 0.3)
        assert storage.restore_checkpoint(pid, 1, 0, 4, REF_A) == 2
        member = storage.members(pid)[1]
        assert (member.step, member.checkpoint, member.checkpoint_step) == (4, REF_A, 4)
        assert member.last_decision_step == 4
        assert [r.step for r in storage.results(pid)] == [4]
        report_result(storage, pid, 1, 5, 0.15)  # it trains on from step 4
        with pytest.raises(StorageError, match="no longer running in generation 1"):
            storage.restore_checkpoint(pid, 1, 1, 4, REF_A)

    def test_a_rewind_deletes_the_decisions_taken_after_it(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=REF_A)
        storage.commit_decision(pid, 1, 0, 4, Continue("kept"), [], 1, 5.0)
        report_result(storage, pid, 1, 8, 0.2, ready=True, checkpoint=REF_B)
        storage.commit_decision(pid, 1, 0, 8, Continue("on a lost score"), [], 2, 9.0)
        storage.restore_checkpoint(pid, 1, 0, 4, REF_A)
        assert [(d.step, d.decision.reason) for d in storage.decisions(pid)] == [(4, "kept")]
        # back at step 8, the member is decided afresh, on the score it reaches it with now
        report_result(storage, pid, 1, 8, 0.05, ready=True, checkpoint=REF_B)
        fresh = Exploit(0, 0, 4, REF_A, {"lr": 0.5}, "worse this time")
        assert storage.commit_decision(pid, 1, 0, 8, fresh, [], 3, 10.0) == fresh
        assert storage.members(pid)[1].generation == 1

    def test_a_writer_that_lost_its_lease_is_refused(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        assert storage.claim(pid, 0, "slow", until=10.0, now=1.0) is not None
        storage.record_result(
            pid, 0, 0, 1, 0.1, ready=False, checkpoint=None, now=2.0, owner="slow"
        )
        assert storage.claim(pid, 0, "fast", until=100.0, now=20.0) is not None  # lapsed: taken
        with pytest.raises(StorageError, match="leased by fast, not slow"):
            storage.record_result(
                pid, 0, 0, 2, 0.2, ready=False, checkpoint=None, now=21.0, owner="slow"
            )
        storage.record_result(
            pid, 0, 0, 2, 0.25, ready=False, checkpoint=None, now=22.0, owner="fast"
        )
        assert [(r.step, r.owner) for r in storage.results(pid)] == [(1, "slow"), (2, "fast")]

    def test_saved_results_are_the_ready_ones_with_a_checkpoint(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 2, 0.1)
        report_result(storage, pid, 0, 4, 0.2, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 4, 0.3, ready=True)  # a ready point reported without one
        report_result(storage, pid, 2, 4, 0.4, ready=True, checkpoint=REF_B)
        saved = storage.saved_results(pid)
        assert [(r.member, r.step, r.checkpoint) for r in saved] == [(0, 4, REF_A), (2, 4, REF_B)]
        assert saved == [r for r in storage.results(pid) if r.checkpoint is not None]
        report_result(storage, pid, 0, 8, 0.05, ready=True, checkpoint=REF_B)
        assert [(r.member, r.step) for r in storage.saved_results(pid, from_step=5)] == [(0, 8)]

    def test_ancestry_follows_the_copies_back_to_a_start(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 4, 0.9, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=REF_B)
        copy = Exploit(0, 0, 4, REF_A, {"lr": 0.5}, "worse")
        storage.commit_decision(pid, 1, 0, 4, copy, [], 2, 5.0)  # 1 copies 0
        report_result(storage, pid, 1, 8, 0.95, generation=1, ready=True, checkpoint=REF_B)
        storage.commit_decision(pid, 1, 1, 8, Explore({"lr": 0.6}, "explore"), [], 3, 9.0)
        report_result(storage, pid, 2, 4, 0.2, ready=True, checkpoint=REF_A)
        again = Exploit(1, 2, 8, REF_B, {"lr": 0.7}, "worse")
        storage.commit_decision(pid, 2, 0, 4, again, [], 4, 10.0)  # 2 copies 1's latest
        chain = storage.ancestry(pid, 2)
        assert [(s.member, s.generation) for s in chain] == [(0, 0), (1, 1), (1, 2), (2, 1)]
        assert chain == ancestry(storage.segments(pid), 2)
        assert [(s.member, s.generation) for s in storage.ancestry(pid, 0)] == [(0, 0)]

    def test_best_saved_results(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        for member, score in ((0, 0.5), (1, 0.9), (2, 0.5)):
            report_result(storage, pid, member, 4, score, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 5, 0.99)  # not saved with a checkpoint
        best = storage.best_saved_results(pid, 2, maximize=True)
        assert [(r.member, r.score) for r in best] == [(1, 0.9), (0, 0.5)]
        worst = storage.best_saved_results(pid, 5, maximize=False)
        assert [(r.member, r.score) for r in worst] == [(0, 0.5), (2, 0.5), (1, 0.9)]
        assert storage.best_saved_results(pid, 0, maximize=True) == []

    def test_move_checkpoints_records_the_new_location(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        storage.move_checkpoints(pid, "elsewhere/ckpt")
        assert storage.list_populations()[0].checkpoints == "elsewhere/ckpt"
        with pytest.raises(StorageError, match="population 42 does not exist"):
            storage.move_checkpoints(42, "x")

    # -- snapshots -----------------------------------------------------------------------------

    def test_snapshot_window_and_recent_scores(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        for step in range(1, 9):
            report_result(
                storage,
                pid,
                0,
                step,
                step / 10,
                ready=step % 4 == 0,
                checkpoint=REF_A if step % 4 == 0 else None,
            )
        report_result(storage, pid, 1, 4, 0.9, ready=True, checkpoint=REF_B)
        snap = storage.snapshot(pid, step=8, interval=4, recent=3)
        zero, one, two = snap.members
        assert [(r.step, r.score, r.checkpoint) for r in snap.records_of(0)] == [
            (4, 0.4, REF_A),
            (8, 0.8, REF_A),
        ]
        assert zero.recent_scores == (0.6, 0.7, 0.8)
        assert snap.records_of(0)[0].params == {"lr": 0.1}
        assert [(r.step, r.score) for r in snap.records_of(1)] == [(4, 0.9)]
        assert snap.records_of(2) == () and two.recent_scores == ()
        assert one.recent_scores == (0.9,)  # fewer scores than asked for: all of them
        earlier = storage.snapshot(pid, step=8, interval=4, recent=3, scores_until=5)
        assert earlier.member(0).recent_scores == (0.3, 0.4, 0.5)
        assert storage.snapshot(pid, 8, 4, recent=20).member(0).recent_scores == tuple(
            s / 10 for s in range(1, 9)
        )
        assert snap.watermark == max(r.id for r in storage.results(pid))
        narrow = storage.snapshot(pid, step=8, interval=3, recent=0)
        assert [r.step for r in narrow.records_of(0)] == [8]
        assert narrow.member(0).recent_scores == ()

    def test_snapshot_keeps_records_of_past_generations(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 4, 0.9, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=REF_B)
        storage.commit_decision(
            pid,
            1,
            0,
            4,
            Exploit(0, 0, 4, REF_A, {"lr": 0.12}, "worse"),
            [(0, 4, 0.9), (1, 4, 0.1)],
            2,
            now=5.0,
        )
        snap = storage.snapshot(pid, step=4, interval=4, recent=5)
        one = snap.member(1)
        assert one.generation == 1 and one.params == {"lr": 0.12} and one.recent_scores == ()
        assert [(r.generation, r.score, r.params) for r in snap.records_of(1)] == [
            (0, 0.1, {"lr": 0.2})
        ]

    # -- decisions -----------------------------------------------------------------------------

    def test_continue_and_stop(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 4, 0.5, ready=True, checkpoint=REF_A)
        committed = storage.commit_decision(pid, 0, 0, 4, Continue("top"), [(0, 4, 0.5)], 1, 5.0)
        assert committed == Continue("top")
        assert storage.members(pid)[0].last_decision_step == 4
        report_result(storage, pid, 0, 8, 0.6, ready=True, checkpoint=REF_B)
        storage.commit_decision(pid, 0, 0, 8, Stop("budget"), [], 2, 9.0)
        assert storage.members(pid)[0].state == MemberState.FINISHED
        with pytest.raises(ReportError, match="finished"):
            report_result(storage, pid, 0, 9, 0.6)

    def test_first_decision_wins(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 2, 4, 0.1, ready=True, checkpoint=REF_B)
        first = Exploit(0, 0, 4, REF_A, {"lr": 0.5}, "first")
        assert storage.commit_decision(pid, 2, 0, 4, first, [], 1, 5.0) == first
        assert storage.commit_decision(pid, 2, 0, 4, Continue("late"), [], 1, 6.0) == first
        assert storage.get_decision(pid, 2, 0, 4) == first
        assert storage.get_decision(pid, 2, 0, 8) is None
        assert len(storage.decisions(pid)) == 1
        assert storage.members(pid)[2].generation == 1

    def test_decisions_of_several_members_are_committed_together_or_not_at_all(
        self, storage: BaseStorage
    ) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 4, 0.9, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 1, 4, 0.1, ready=True, checkpoint=REF_B)
        report_result(storage, pid, 2, 4, 0.5, ready=True, checkpoint=REF_B)
        compared = [(0, 4, 0.9), (1, 4, 0.1), (2, 4, 0.5)]
        exploit = Exploit(0, 0, 4, REF_A, {"lr": 0.2}, "bottom")
        committed = storage.commit_decisions(
            pid,
            [
                ProposedDecision(0, 0, 4, Continue("top"), compared, 3, 5.0),
                ProposedDecision(1, 0, 4, exploit, compared, 3, 5.0),
            ],
        )
        assert committed == [Continue("top"), exploit]
        members = storage.members(pid)
        assert (members[0].generation, members[0].last_decision_step) == (0, 4)
        assert (members[1].generation, members[1].checkpoint, members[1].params) == (
            1,
            REF_A,
            {"lr": 0.2},
        )
        # a key already decided keeps its decision, beside a new one
        again = storage.commit_decisions(
            pid,
            [
                ProposedDecision(1, 0, 4, Continue("late"), [], 3, 6.0),
                ProposedDecision(2, 0, 4, Continue("middle"), compared, 3, 6.0),
            ],
        )
        assert again == [exploit, Continue("middle")]
        assert len(storage.decisions(pid)) == 3
        report_result(storage, pid, 0, 8, 0.9, ready=True, checkpoint=REF_A)
        with pytest.raises(StorageError, match="member 1"):  # member 1 is in generation 1 now
            storage.commit_decisions(
                pid,
                [
                    ProposedDecision(0, 0, 8, Stop("budget"), [], 4, 7.0),
                    ProposedDecision(1, 0, 8, Stop("budget"), [], 4, 7.0),
                ],
            )
        assert len(storage.decisions(pid)) == 3  # one refusal refuses the whole batch
        assert storage.members(pid)[0].state == MemberState.RUNNING
        with pytest.raises(ValueError, match="never stored"):
            storage.commit_decisions(pid, [ProposedDecision(0, 0, 8, Wait("barrier"), [], 4, 7.0)])
        assert storage.commit_decisions(pid, []) == []

    def test_a_follower_reads_only_rows_after_an_id(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        first = report_result(storage, pid, 0, 4, 0.1, ready=True, checkpoint=REF_A)
        second = report_result(storage, pid, 1, 4, 0.2, ready=True, checkpoint=REF_B)
        assert [r.id for r in storage.results(pid, after=first)] == [second]
        assert storage.results(pid, after=second) == []
        storage.commit_decision(pid, 0, 0, 4, Continue("top"), [], 2, 5.0)
        storage.commit_decision(pid, 1, 0, 4, Continue("top"), [], 2, 6.0)
        decided = storage.decisions(pid)
        assert [d.member for d in storage.decisions(pid, after=decided[0].id)] == [1]

    def test_exploit_starts_a_new_generation_from_the_parent(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 4, 0.9, ready=True, checkpoint=REF_A)
        report_result(storage, pid, 2, 6, 0.1, ready=True, checkpoint=REF_B)
        decision = Exploit(0, 0, 4, REF_A, {"lr": 0.36}, "bottom")
        storage.commit_decision(pid, 2, 0, 6, decision, [(0, 4, 0.9), (2, 6, 0.1)], 2, 7.0)
        member = storage.members(pid)[2]
        assert (
            member.generation,
            member.step,
            member.start_step,
            member.last_decision_step,
            member.checkpoint,
            member.checkpoint_step,
            member.parent_member,
        ) == (1, 4, 4, 4, REF_A, 4, 0)
        assert member.params == {"lr": 0.36}
        segment = storage.segments(pid)[-1]
        assert (
            segment.member,
            segment.generation,
            segment.start_step,
            segment.parent_member,
            segment.parent_generation,
            segment.parent_step,
            segment.checkpoint,
        ) == (2, 1, 4, 0, 0, 4, REF_A)
        record = storage.decisions(pid)[0]
        assert record.decision == decision
        assert record.compared == ((0, 4, 0.9), (2, 6, 0.1)) and record.watermark == 2
        report_result(storage, pid, 2, 5, 0.95, generation=1)  # the new generation trains on

    def test_explore_keeps_own_checkpoint(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 1, 4, 0.5, ready=True, checkpoint=REF_B)
        storage.commit_decision(pid, 1, 0, 4, Explore({"lr": 0.3}, "explore"), [], 1, 5.0)
        member = storage.members(pid)[1]
        assert (member.generation, member.step, member.checkpoint, member.params) == (
            1,
            4,
            REF_B,
            {"lr": 0.3},
        )
        segment = next(s for s in storage.segments(pid) if (s.member, s.generation) == (1, 1))
        assert (segment.parent_member, segment.parent_generation, segment.parent_step) == (1, 0, 4)

    def test_wait_is_never_stored(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        with pytest.raises(ValueError):
            storage.commit_decision(pid, 0, 0, 4, Wait("barrier"), [], 0, 1.0)
        assert storage.decisions(pid) == []

    def test_concurrent_commits_agree(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 1, 4, 0.5, ready=True, checkpoint=REF_B)
        outcomes: list[object] = []

        def commit(i: int) -> None:
            decision = Explore({"lr": 0.01 * (i + 1)}, f"thread {i}")
            outcomes.append(storage.commit_decision(pid, 1, 0, 4, decision, [], 1, 5.0))

        threads = [threading.Thread(target=commit, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(outcomes) == 8 and len(set(map(repr, outcomes))) == 1
        assert len(storage.decisions(pid)) == 1 and len(storage.segments(pid)) == 4

    # -- leases and failures -------------------------------------------------------------------

    def test_claim_returns_the_member_read_after_claiming(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        report_result(storage, pid, 0, 5, 0.5, ready=True, checkpoint=REF_A)
        claimed = storage.claim(pid, 0, "a", until=100.0, now=1.0)
        assert claimed is not None
        assert (claimed.step, claimed.checkpoint, claimed.lease_owner) == (5, REF_A, "a")
        assert storage.claim(pid, 0, "b", until=100.0, now=2.0) is None

    def test_leases_are_exclusive_until_expired_or_dead(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        assert storage.claim(pid, 0, "a", until=100.0, now=1.0)
        assert not storage.claim(pid, 0, "b", until=100.0, now=2.0)
        assert storage.claim(pid, 0, "a", until=150.0, now=3.0)  # renewal by its owner
        assert storage.claim(pid, 0, "b", until=300.0, now=151.0)  # expired
        assert storage.claim(pid, 0, "c", until=400.0, now=152.0, dead_owners=["b"])
        storage.release(pid, 0, "someone-else")
        assert storage.members(pid)[0].lease_owner == "c"
        storage.release(pid, 0, "c")
        assert storage.members(pid)[0].lease_owner is None

    def test_failures_are_counted_until_the_limit(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        assert storage.claim(pid, 1, "a", until=10.0, now=1.0)
        assert not storage.record_failure(pid, 1, "Traceback: first", limit=2, now=2.0)
        member = storage.members(pid)[1]
        assert (member.state, member.failures, member.error) == ("running", 1, "Traceback: first")
        assert storage.record_failure(pid, 1, "Traceback: boom", limit=2, now=3.0)
        member = storage.members(pid)[1]
        assert (member.state, member.error, member.lease_owner) == (
            MemberState.FAILED,
            "Traceback: boom",
            None,
        )
        assert not storage.claim(pid, 1, "a", until=10.0, now=4.0)
        assert storage.members(pid)[0].failures == 0

    def test_heartbeat_renews_only_the_owners_leases(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        assert storage.claim(pid, 0, "a", until=10.0, now=1.0)
        assert storage.claim(pid, 1, "a", until=10.0, now=1.0)
        assert storage.claim(pid, 2, "b", until=10.0, now=1.0)
        assert storage.renew(pid, "a", until=50.0) == 2
        assert [m.lease_until for m in storage.members(pid)] == [50.0, 50.0, 10.0]
        assert not storage.claim(pid, 0, "c", until=60.0, now=20.0)

    def test_populations_are_isolated(self, storage: BaseStorage) -> None:
        a, b = new_population(storage, "a"), new_population(storage, "b")
        report_result(storage, a, 0, 1, 0.5)
        assert storage.results(b) == [] and storage.members(b)[0].step == 0

    # -- column types --------------------------------------------------------------------------

    def test_floats_keep_double_precision(self, storage: BaseStorage) -> None:
        now, score = 1_700_000_000.123456, 1 / 3
        pid = storage.create_population("p", CONFIG, "/ckpt", PARAMS, now=now).id
        storage.record_result(pid, 0, 0, 1, score, ready=True, checkpoint=REF_A, now=now + 1e-6)
        assert storage.claim(pid, 0, "a", until=now + 0.5, now=now)
        result = storage.results(pid)[0]
        assert (result.score, result.created_at, result.ready) == (score, now + 1e-6, True)
        assert result.ready is True and storage.members(pid)[0].lease_until == now + 0.5
        assert storage.snapshot(pid, 1, 1, recent=1).records_of(0)[0].score == score
        assert storage.find_population("p").created_at == now  # type: ignore[union-attr]

    def test_ids_increase_across_populations(self, storage: BaseStorage) -> None:
        a, b = new_population(storage, "a"), new_population(storage, "b")
        assert b > a
        ids = [report_result(storage, pid, m, 4, 0.5, ready=True) for pid in (a, b) for m in (0, 1)]
        assert ids == sorted(set(ids))
        storage.commit_decision(a, 0, 0, 4, Continue("x"), [], ids[1], 5.0)
        storage.commit_decision(b, 1, 0, 4, Stop("y"), [], ids[3], 5.0)
        first, second = storage.decisions(a)[0], storage.decisions(b)[0]
        assert second.id > first.id and second.watermark == ids[3]

    # -- workers -------------------------------------------------------------------------------

    def test_workers_register_heartbeat_and_stop(self, storage: BaseStorage) -> None:
        pid, other = new_population(storage, "a"), new_population(storage, "b")
        assert storage.workers(pid) == []
        first = storage.register_worker(pid, "h1:10:aa", "h1", 10, now=100.0)
        assert first == WorkerRecord("h1:10:aa", "h1", 10, 100.0, 100.0, None)
        storage.register_worker(pid, "h2:20:bb", "h2", 20, now=101.0)
        assert storage.claim(pid, 0, "h1:10:aa", until=200.0, now=105.0)
        assert storage.renew(pid, "h1:10:aa", until=300.0, now=150.0) == 1
        assert storage.renew(pid, "h2:20:bb", until=300.0) == 0  # no lease, not marked seen
        storage.stop_worker(pid, "h2:20:bb", now=160.0)
        storage.stop_worker(pid, "never-registered", now=160.0)
        assert storage.workers(pid) == [
            WorkerRecord("h1:10:aa", "h1", 10, 100.0, 150.0, None),
            WorkerRecord("h2:20:bb", "h2", 20, 101.0, 160.0, 160.0),
        ]
        assert storage.members(pid)[0].lease_until == 300.0
        assert storage.workers(other) == []

    def test_registering_again_restarts_the_record(self, storage: BaseStorage) -> None:
        pid = new_population(storage)
        storage.register_worker(pid, "w", "h1", 10, now=1.0)
        storage.stop_worker(pid, "w", now=2.0)
        storage.register_worker(pid, "w", "h2", 11, now=3.0)
        assert storage.workers(pid) == [WorkerRecord("w", "h2", 11, 3.0, 3.0, None)]

    def test_a_stopped_worker_claims_nothing_until_it_registers_again(
        self, storage: BaseStorage
    ) -> None:
        pid = new_population(storage)
        storage.register_worker(pid, "w", "h1", 10, now=1.0)
        storage.stop_worker(pid, "w", now=2.0)
        assert storage.claim(pid, 0, "w", until=100.0, now=3.0) is None
        assert storage.members(pid)[0].lease_owner is None
        assert storage.claim(pid, 0, "other", until=100.0, now=3.0)  # unregistered owners may
        storage.register_worker(pid, "w", "h1", 10, now=4.0)
        assert storage.claim(pid, 1, "w", until=100.0, now=5.0)

    def test_a_worker_of_an_unknown_population_is_refused(self, storage: BaseStorage) -> None:
        with pytest.raises(StorageError, match="population 42 does not exist"):
            storage.register_worker(42, "w", "h", 1, now=1.0)
