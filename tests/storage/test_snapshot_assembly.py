"""The snapshot assembled from the rows of its four queries, without a database."""

from __future__ import annotations

import json

from populace.controller import Evaluation, MemberState, ReadyRecord
from populace.storage._sql._snapshot import (
    MemberRow,
    RecentRow,
    RecordRow,
    assemble_snapshot,
)

LR1, LR2, LR3 = json.dumps({"lr": 0.1}), json.dumps({"lr": 0.2}), json.dumps({"lr": 0.3})
REF_A, REF_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64

# Member 0 runs in generation 0; member 1 exploited member 0 at step 4 and runs generation 1 with
# new params; member 2 failed.
# The trailing columns: checkpoint, checkpoint step, evaluated step, and the current segment's
# parent member and generation, child member and generation (FIRE PBT's evaluations).
MEMBERS: list[MemberRow] = [
    (0, 0, MemberState.RUNNING, 9, 8, 0, LR1, REF_B, 8, None, None, None, None, None),
    (1, 1, MemberState.RUNNING, 6, 4, 4, LR3, REF_A, 4, None, 0, 0, None, None),
    (2, 0, MemberState.FAILED, 3, 0, 0, LR2, None, 0, None, None, None, None, None),
]
# Ready records in the window [4, 8], as the window query returns them (in no particular order).
RECORDS: list[RecordRow] = [
    (0, 0, 8, 0.8, REF_B, LR1),
    (1, 0, 4, 0.1, None, LR2),
    (0, 0, 4, 0.4, REF_A, LR1),
]
# The latest scores of each member's current generation, each member's oldest first.
RECENT: list[RecentRow] = [(0, 0.6), (0, 0.7), (0, 0.8), (1, 0.35)]


def test_members_are_the_member_rows_in_order() -> None:
    snap = assemble_snapshot(MEMBERS, RECORDS, RECENT, 17)
    assert [
        (m.id, m.generation, m.state, m.step, m.last_decision_step, m.start_step, m.params)
        for m in snap.members
    ] == [
        (0, 0, MemberState.RUNNING, 9, 8, 0, {"lr": 0.1}),
        (1, 1, MemberState.RUNNING, 6, 4, 4, {"lr": 0.3}),
        (2, 0, MemberState.FAILED, 3, 0, 0, {"lr": 0.2}),
    ]
    assert snap.member(1) is snap.members[1]
    assert list(snap.failed) == [2]


def test_records_of_the_window_keep_their_scores_checkpoints_and_params() -> None:
    snap = assemble_snapshot(MEMBERS, RECORDS, RECENT, 17)
    assert len(snap.records) == 3
    assert snap.records_of(0) == (
        ReadyRecord(0, 0, 4, 0.4, REF_A, {"lr": 0.1}),
        ReadyRecord(0, 0, 8, 0.8, REF_B, {"lr": 0.1}),
    )
    assert list(snap.records.has_checkpoint) == [True, False, True]
    assert snap.records_of(2) == ()


def test_records_of_past_generations_keep_the_params_they_were_scored_with() -> None:
    snap = assemble_snapshot(MEMBERS, RECORDS, RECENT, 17)
    (past,) = snap.records_of(1)
    assert (past.generation, past.step, past.score, past.params) == (0, 4, 0.1, {"lr": 0.2})
    assert snap.member(1).params == {"lr": 0.3}  # the member's current generation


def test_recent_scores_are_grouped_by_member_oldest_first() -> None:
    snap = assemble_snapshot(MEMBERS, RECORDS, RECENT, 17)
    assert snap.member(0).recent_scores == (0.6, 0.7, 0.8)
    assert snap.member(1).recent_scores == (0.35,)
    assert snap.member(2).recent_scores == ()


def test_watermark_is_the_one_read() -> None:
    assert assemble_snapshot(MEMBERS, RECORDS, RECENT, 17).watermark == 17
    assert assemble_snapshot(MEMBERS, [], [], 0).watermark == 0


def test_no_records_and_no_recent_scores() -> None:
    snap = assemble_snapshot(MEMBERS, [], [], 0)
    assert len(snap.records) == 0
    assert snap.records.score.shape == (0,)
    assert [m.recent_scores for m in snap.members] == [(), (), ()]
    assert [m.params for m in snap.members] == [{"lr": 0.1}, {"lr": 0.3}, {"lr": 0.2}]


def test_no_members() -> None:
    snap = assemble_snapshot([], [], [], 0)
    assert snap.members == () and len(snap.records) == 0


def test_equal_params_texts_share_one_parsed_dict() -> None:
    snap = assemble_snapshot(MEMBERS, RECORDS, RECENT, 17)
    zero = snap.member(0)
    first, second = snap.records_of(0)
    assert first.params is second.params is zero.params
    assert snap.records_of(1)[0].params is snap.member(2).params  # both {"lr": 0.2}
    assert snap.member(1).params is not zero.params


def test_snapshots_do_not_share_parsed_params() -> None:
    """Each snapshot parses afresh: a caller that changes one snapshot's params cannot reach
    another's."""
    first = assemble_snapshot(MEMBERS, [], [], 0)
    second = assemble_snapshot(MEMBERS, [], [], 0)
    assert first.member(0).params == second.member(0).params
    assert first.member(0).params is not second.member(0).params


def test_checkpoints_and_fire_evaluations_are_carried() -> None:
    evaluator = (3, 2, MemberState.RUNNING, 7, 6, 4, LR1, REF_A, 6, None, 0, 0, 1, 1)
    parent = (0, 0, MemberState.RUNNING, 9, 8, 0, LR1, REF_B, 8, 4, None, None, None, None)
    snap = assemble_snapshot([parent, evaluator], [], [], 0)
    assert snap.member(0).evaluation is None and snap.member(0).evaluated_step == 4
    assert (snap.member(0).checkpoint, snap.member(0).checkpoint_step) == (REF_B, 8)
    assert snap.member(3).evaluation == Evaluation(0, 0, 1, 1)
