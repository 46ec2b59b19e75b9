"""FIRE PBT's decisions, from hand-built snapshots: roles, evaluations, stopping, success, fitness.

The population: 8 members in two sub-populations (P1 = members 0-3, P2 = members 4-7) and two
evaluators (members 8 and 9); interval 10, budget 100, maximised scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from populace.controller import (
    Continue,
    Controller,
    Evaluate,
    Evaluation,
    Exploit,
    FirePBT,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    ReadyRecord,
    Stop,
    Wait,
)
from populace.errors import ConfigurationError
from populace.space import SearchSpace, Uniform

SPACE = SearchSpace(lr=Uniform(0.0, 1.0))
FIRE = FirePBT(evaluators=2, max_eval_steps=30).bind(8)
CONTROLLER = Controller(SPACE, budget=100, interval=10, algorithm=FIRE)


def rising(start: float, slope: float, n: int = 10) -> tuple[float, ...]:
    return tuple(start + slope * np.arange(n))


def m(
    member: int,
    *,
    step: int = 30,
    generation: int = 0,
    start_step: int = 0,
    recent: tuple[float, ...] = (),
    evaluation: Evaluation | None = None,
    evaluated_step: int | None = None,
    state: str = MemberState.RUNNING,
    lr: float | None = None,
) -> MemberSnapshot:
    """A member at ``step``, ready to decide there, with its own checkpoint of that step."""
    return MemberSnapshot(
        id=member,
        generation=generation,
        params={} if member >= 8 and generation == 0 else {"lr": lr or 0.01 * (member + 1)},
        state=state,
        step=step,
        start_step=start_step,
        last_decision_step=step - 10,
        recent_scores=recent or rising(0.1 * member, 0.01),
        checkpoint=f"ckpt-{member}-{generation}-{step}",
        checkpoint_step=step,
        evaluation=evaluation,
        evaluated_step=evaluated_step,
    )


def population(*changed: MemberSnapshot, idle_evaluators: bool = True) -> PopulationSnapshot:
    """Members 0-7 at step 30 scoring ``0.1 * id`` there (ready records), evaluators idle,
    with ``changed`` replacing the defaults."""
    by_id: dict[int, MemberSnapshot] = {i: m(i) for i in range(8)}
    if idle_evaluators:
        for i in (8, 9):
            by_id[i] = m(i, step=0, recent=(), generation=0)
            by_id[i] = MemberSnapshot(**{**by_id[i].__dict__, "recent_scores": ()})
    for snapshot in changed:
        by_id[snapshot.id] = snapshot
    records = [
        ReadyRecord(s.id, s.generation, s.step, s.recent_scores[-1], s.checkpoint, s.params)
        for s in by_id.values()
        if s.recent_scores and s.id < 8
    ]
    return PopulationSnapshot.build(sorted(by_id.values(), key=lambda s: s.id), records)


def decide(snapshot: PopulationSnapshot, member: int) -> Any:
    return CONTROLLER.decide(snapshot, member, snapshot.member(member).step)


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "members", "message"),
    [
        ({}, 7, "cannot split a population of 7 into 2"),
        ({"subpopulations": 3}, 3, "at least 6"),
        ({"evaluators": 5}, 8, "only 4 parent members"),
        ({"p_stat": 0.0}, 8, "p_stat must be in (0, 1)"),
        ({"p_stat": 1.0}, 8, "p_stat must be in (0, 1)"),
        ({"subpopulations": 1}, 8, "subpopulations must be an integer >= 2"),
        ({"evaluators": 0}, 8, "evaluators must be an integer >= 1"),
        ({"max_eval_steps": 0}, 8, "max_eval_steps must be an integer >= 1"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(
    settings: dict[str, Any], members: int, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FirePBT(**settings).bind(members)


def test_an_unbound_algorithm_and_other_modes_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not bound to a population size"):
        Controller(SPACE, budget=100, interval=10, algorithm=FirePBT())
    with pytest.raises(ConfigurationError, match="cannot replay a schedule or run synchronously"):
        Controller(SPACE, budget=100, interval=10, algorithm=FIRE, synchronous=True)


def test_roles_follow_member_ids() -> None:
    assert FIRE.size == 10
    assert [FIRE.subpopulation(i) for i in range(8)] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert [FIRE.is_evaluator(i) for i in (7, 8, 9)] == [False, True, True]
    assert FIRE.members_of(1).tolist() == [4, 5, 6, 7]
    assert CONTROLLER.initial_params(8) == {} and "lr" in CONTROLLER.initial_params(3)
    assert CONTROLLER.is_ready(0, 0, member=8, generation=0)
    assert not CONTROLLER.is_ready(0, 0, member=3, generation=0)


def test_the_configuration_round_trips_through_the_stored_form() -> None:
    again = Controller.from_dict(SPACE, CONTROLLER.to_dict())
    assert again.algorithm == FIRE and again.to_dict() == CONTROLLER.to_dict()
    assert CONTROLLER.history == FIRE.curve_points


# -- evaluators ------------------------------------------------------------------------------------


def test_an_idle_evaluator_waits_until_a_parent_trained_an_interval() -> None:
    fresh = population(*(m(i, step=5) for i in range(8)))
    assert isinstance(decide(fresh, 8), Wait)


def test_an_idle_evaluator_evaluates_the_parent_unevaluated_longest_with_the_best_child() -> None:
    snapshot = population(
        m(4, evaluated_step=30),  # just evaluated
        m(5, evaluated_step=20),
        m(6, step=30, start_step=20, generation=1),  # exploited at step 20
        m(7, evaluated_step=10),  # longest ago: 20 steps
        m(3, step=30, start_step=25, generation=1, recent=rising(9.0, 0.0)),  # just perturbed
    )
    decision = decide(snapshot, 8)
    assert isinstance(decision, Evaluate)
    assert (decision.parent, decision.parent_step, decision.parent_checkpoint) == (
        7,
        30,
        "ckpt-7-0-30",
    )
    # The best child by latest score that trained an interval since its params changed.
    assert (decision.child, decision.child_generation) == (2, 0)
    assert decision.params == snapshot.member(2).params


def test_a_parent_under_evaluation_is_not_evaluated_twice() -> None:
    busy = m(9, step=40, generation=1, start_step=30, evaluation=Evaluation(7, 0, 2, 0))
    decision = decide(population(m(4, evaluated_step=30), m(5, evaluated_step=30), busy), 8)
    assert isinstance(decision, Evaluate) and decision.parent == 6


def test_an_evaluation_ends_when_its_parent_or_child_is_overwritten() -> None:
    evaluator = m(8, step=40, generation=1, start_step=30, evaluation=Evaluation(7, 0, 2, 0))
    overwritten = population(evaluator, m(7, generation=1, start_step=30))
    decision = decide(overwritten, 8)
    assert isinstance(decision, Evaluate)
    assert "its parent, member 7, was overwritten" in decision.reason
    child_copied = population(evaluator, m(2, generation=1, start_step=30))
    assert "its child, member 2, was overwritten" in decide(child_copied, 8).reason


def test_an_evaluation_whose_curve_never_meets_the_child_stops_after_max_eval_steps() -> None:
    # The evaluator's curve stays below where the child's starts (S1).
    low = rising(0.0, 0.001)
    child = m(2, recent=rising(5.0, 0.01))
    evaluation = Evaluation(7, 0, 2, 0)
    young = m(8, step=50, generation=1, start_step=30, recent=low, evaluation=evaluation)
    assert isinstance(decide(population(child, young), 8), Continue)
    old = m(8, step=60, generation=1, start_step=30, recent=low, evaluation=evaluation)
    decision = decide(population(child, old), 8)
    assert isinstance(decision, Evaluate) and "(S1)" in decision.reason


def test_a_slower_evaluation_stops_once_the_annealed_threshold_tightens() -> None:
    # Same start, the evaluator climbs slower than the child: p ~ 1 exceeds p_stat + 1 - T/30
    # once T > 0, the annealed threshold having dropped below 1 (S2).
    child = m(2, recent=rising(0.0, 0.05))
    slow = m(
        8,
        step=40,
        generation=1,
        start_step=30,
        recent=rising(0.0, 0.01),
        evaluation=Evaluation(7, 0, 2, 0),
    )
    decision = decide(population(child, slow), 8)
    assert isinstance(decision, Evaluate) and "S2)" in decision.reason


def test_evaluators_stop_when_every_member_is_done() -> None:
    finished = [m(i, step=100, state=MemberState.FINISHED) for i in range(8)]
    assert isinstance(decide(population(*finished), 8), Stop)


# -- success and fitness ---------------------------------------------------------------------------


def evaluating(evaluator: int, parent: int, child: int, curve: tuple[float, ...]) -> MemberSnapshot:
    return m(
        evaluator,
        step=50,
        generation=1,
        start_step=30,
        recent=curve,
        evaluation=Evaluation(parent, 0, child, 0),
    )


def test_a_child_copies_the_weights_of_an_evaluation_that_improves_faster() -> None:
    child = m(2, step=50, recent=rising(0.0, 0.01, 20))
    faster = evaluating(8, 7, 2, rising(0.0, 0.05, 20))
    decision = decide(population(child, faster), 2)
    assert isinstance(decision, Exploit)
    assert (decision.parent, decision.parent_step, decision.parent_checkpoint) == (
        8,
        50,
        "ckpt-8-1-50",
    )
    assert decision.params == child.params  # the child keeps its own hyperparameters
    assert decision.reason.startswith("FIRE: evaluator 8 (weights of member 7) improves faster")


def test_two_successful_evaluations_of_one_child_are_arbitrated_by_best_score_difference() -> None:
    child = m(2, step=50, recent=rising(0.0, 0.01, 20))
    good = evaluating(8, 7, 2, rising(0.0, 0.03, 20))
    better = evaluating(9, 6, 2, rising(0.0, 0.06, 20))
    decision = decide(population(child, good, better), 2)
    assert isinstance(decision, Exploit) and decision.parent == 9


def test_an_evaluation_not_yet_significant_is_not_copied() -> None:
    child = m(2, recent=rising(0.0, 0.01, 3))
    barely = evaluating(8, 7, 2, rising(0.0, 0.02, 3))
    decision = decide(population(child, barely), 2)
    assert not (isinstance(decision, Exploit) and decision.parent == 8)


def test_parents_are_ranked_by_how_fast_their_evaluations_climb() -> None:
    # Parents 6 and 7 are under evaluation; 7's weights climb slower, though it scores higher.
    snapshot = population(
        m(6, recent=rising(0.2, 0.01)),
        m(7, recent=rising(0.9, 0.01)),
        evaluating(8, 6, 2, rising(0.0, 0.05)),
        evaluating(9, 7, 2, rising(0.0, 0.01)),
    )
    assert FIRE._fitness(CONTROLLER, snapshot, 1)[6] > 0 > FIRE._fitness(CONTROLLER, snapshot, 1)[7]
    decision = decide(snapshot, 7)
    assert isinstance(decision, Exploit) and decision.parent == 6
    assert isinstance(decide(snapshot, 6), Continue)


def test_a_parent_without_an_evaluation_is_not_ranked() -> None:
    decision = decide(population(), 5)
    assert isinstance(decision, Continue) and "no evaluation of it has run" in decision.reason


def test_parents_are_not_ranked_on_evaluations_younger_than_an_interval() -> None:
    # Evaluator 9 started at step 45: five reports are noise, so parent 7 keeps its weights
    # (and its evaluation) although its curve so far climbs slower than 6's.
    young = MemberSnapshot(
        **{**evaluating(9, 7, 2, rising(0.0, 0.01, 5)).__dict__, "start_step": 45}
    )
    snapshot = population(evaluating(8, 6, 2, rising(0.0, 0.05)), young)
    assert set(FIRE._fitness(CONTROLLER, snapshot, 1)) == {6}
    decision = decide(snapshot, 7)
    assert isinstance(decision, Continue) and "not ranked" in decision.reason


def test_the_greedy_subpopulation_ranks_only_its_own_members() -> None:
    # Member 0 is P1's worst, but P2's members score far higher: it copies a P1 member.
    decision = decide(population(), 0)
    assert isinstance(decision, Exploit) and decision.parent == 3


def test_an_evaluation_ahead_of_its_child_is_copied_once_the_child_catches_up() -> None:
    # The evaluator's checkpoint is at step 50, the child decides at step 30: a copy would move
    # it forward past ready steps it was never compared at (and hand it 20 steps for free).
    child = m(2, recent=rising(0.0, 0.01, 20))
    faster = evaluating(8, 7, 2, rising(0.0, 0.05, 20))
    assert faster.checkpoint_step == 50 > child.step
    decision = decide(population(child, faster), 2)
    assert not (isinstance(decision, Exploit) and decision.parent == 8)
    later = m(2, step=50, recent=rising(0.0, 0.01, 20))
    decision = decide(population(later, faster), 2)
    assert isinstance(decision, Exploit) and decision.parent == 8
