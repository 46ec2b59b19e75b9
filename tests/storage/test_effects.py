"""What each committed decision does to its member, without a database."""

from __future__ import annotations

from populace.controller import Continue, Evaluate, Exploit, Explore, MemberState, Stop
from populace.storage import SegmentRecord
from populace.storage._sql._effects import Effects, effects_of

OWN, PARENT = "sha256:" + "a" * 64, "sha256:" + "b" * 64
NOW = 42.0


def test_continue_only_records_the_decision_step() -> None:
    effects = effects_of(Continue("top"), 1, generation=2, step=8, own_checkpoint=OWN, now=NOW)
    assert effects == Effects({"last_decision_step": 8, "updated_at": NOW})


def test_stop_finishes_the_member() -> None:
    effects = effects_of(Stop("budget"), 1, generation=2, step=8, own_checkpoint=None, now=NOW)
    assert effects.member == {
        "last_decision_step": 8,
        "updated_at": NOW,
        "state": MemberState.FINISHED,
    }
    assert effects.segment is None


def test_exploit_starts_a_new_generation_from_the_parent_checkpoint() -> None:
    # Member 1 decides at step 8 of generation 2 to copy member 0's checkpoint of step 6.
    decision = Exploit(0, 3, 6, PARENT, {"lr": 0.12}, "worse than member 0")
    effects = effects_of(decision, member=1, generation=2, step=8, own_checkpoint=OWN, now=NOW)
    assert effects.segment == SegmentRecord(
        member=1,
        generation=3,
        start_step=6,
        params={"lr": 0.12},
        parent_member=0,
        parent_generation=3,
        parent_step=6,
        checkpoint=PARENT,
        created_at=NOW,
    )
    # It continues from the parent's step, with the parent's checkpoint, and stays running.
    assert effects.member == {
        "generation": 3,
        "step": 6,
        "last_decision_step": 6,
        "checkpoint": PARENT,
        "checkpoint_step": 6,
        "evaluated_step": None,
        "updated_at": NOW,
    }


def test_explore_starts_a_new_generation_from_its_own_checkpoint() -> None:
    decision = Explore({"lr": 0.5}, "explore only")
    effects = effects_of(decision, member=1, generation=2, step=8, own_checkpoint=OWN, now=NOW)
    assert effects.segment == SegmentRecord(
        member=1,
        generation=3,
        start_step=8,
        params={"lr": 0.5},
        parent_member=1,
        parent_generation=2,
        parent_step=8,
        checkpoint=OWN,
        created_at=NOW,
    )
    assert effects.member == {
        "generation": 3,
        "step": 8,
        "last_decision_step": 8,
        "checkpoint": OWN,
        "checkpoint_step": 8,
        "evaluated_step": None,
        "updated_at": NOW,
    }


def test_a_new_generation_keeps_its_own_copy_of_the_params() -> None:
    params = {"lr": 0.5}
    effects = effects_of(Explore(params, "x"), 1, 2, 8, OWN, NOW)
    params["lr"] = 0.9
    assert effects.segment is not None and effects.segment.params == {"lr": 0.5}


def test_evaluate_starts_an_evaluation_from_the_parent_checkpoint_naming_the_child() -> None:
    # Evaluator 9, idle in generation 0, evaluates member 5's weights with member 2's params.
    decision = Evaluate(5, 1, 12, PARENT, {"lr": 0.3}, 2, 4, "FIRE: evaluates member 5")
    effects = effects_of(decision, member=9, generation=0, step=0, own_checkpoint=None, now=NOW)
    assert effects.segment == SegmentRecord(
        member=9,
        generation=1,
        start_step=12,
        params={"lr": 0.3},
        parent_member=5,
        parent_generation=1,
        parent_step=12,
        checkpoint=PARENT,
        created_at=NOW,
        child_member=2,
        child_generation=4,
    )
    assert effects.member["checkpoint"] == PARENT and effects.member["step"] == 12
