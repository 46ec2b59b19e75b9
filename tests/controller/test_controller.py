"""Tests of the pure PBT controller: decision kinds, readiness, the synchronous barrier, time-fair
comparison sets, truncation counts, ties, minimize, JSON round trips and argument checks."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from populace.controller import (
    NOT_READY,
    Continue,
    Controller,
    Exploit,
    Explore,
    MemberState,
    NoExploit,
    NoExplore,
    PerturbExplore,
    PerturbOrResampleExplore,
    PopulationSnapshot,
    ResampleExplore,
    Stop,
    Strategy,
    TournamentExploit,
    TruncationExploit,
    TTestExploit,
    Wait,
    comparison_set,
    decision_from_dict,
    decision_to_dict,
)
from populace.controller.exploit import BaseExploit
from populace.controller.explore import BaseExplore
from populace.errors import ConfigurationError, MemberNotFoundError, PopulaceError
from populace.space import SearchSpace, Uniform

from ._helpers import SPACE, ckpt, member, params_for, population, rec, snapshot

T = 20  # the decision step used by most tests
INTERVAL = 10


def make(**kwargs: Any) -> Controller:
    options: dict[str, Any] = {"budget": 100, "interval": INTERVAL, "explore": NoExplore()}
    options.update(kwargs)
    return Controller(SPACE, **options)


def parents(
    controller: Controller, snap: PopulationSnapshot, member_id: int, step: int, seeds: int = 60
) -> set[int | None]:
    """The parents chosen by ``member_id`` over ``seeds`` seeds (None for a non-Exploit)."""
    chosen: set[int | None] = set()
    for seed in range(seeds):
        controller.seed = seed
        decision = controller.decide(snap, member_id, step)
        chosen.add(decision.parent if isinstance(decision, Exploit) else None)
    return chosen


# --------------------------------------------------------------------------- decision kinds


class TestStop:
    def test_stops_exactly_at_budget(self) -> None:
        c = make(budget=T)
        decision = c.decide(population({0: 1.0, 1: 0.0}, step=T), 1, T)
        assert decision == Stop("budget of 20 steps reached")

    def test_stops_after_budget_even_when_not_at_a_ready_point(self) -> None:
        c = make(budget=T)
        snap = snapshot(member(0, [rec(0, T, 1.0)], step=T + 3, last_decision_step=T + 1))
        assert isinstance(c.decide(snap, 0, T + 3), Stop)

    def test_one_step_before_budget_is_not_a_stop(self) -> None:
        c = make(budget=T + 1)
        decision = c.decide(population({0: 1.0, 1: 0.0}, step=T), 1, T)
        assert isinstance(decision, Exploit)

    @pytest.mark.parametrize("state", [MemberState.FINISHED, MemberState.FAILED])
    def test_stops_a_member_that_is_not_running(self, state: str) -> None:
        c = make()
        snap = snapshot(member(0, [rec(0, T, 1.0)]), member(1, [rec(1, T, 0.0)], state=state))
        assert c.decide(snap, 1, T) == Stop(f"member 1 is {state}")

    def test_not_running_takes_precedence_over_readiness(self) -> None:
        c = make()
        snap = snapshot(
            member(1, [rec(1, T, 0.0)], state=MemberState.FINISHED, last_decision_step=T - 1)
        )
        assert c.decide(snap, 1, T) == Stop("member 1 is finished")

    def test_unknown_member_raises_key_error(self) -> None:
        with pytest.raises(KeyError, match="member 9"):
            make().decide(population({0: 1.0}), 9, 10)

    def test_unknown_member_is_a_populace_error_naming_it(self) -> None:
        with pytest.raises(MemberNotFoundError) as info:
            population({0: 1.0, 1: 2.0}).member(9)
        assert isinstance(info.value, PopulaceError)
        assert str(info.value) == "member 9 is not in the snapshot (it has 2 members)"


class TestReadiness:
    def test_continue_until_interval_steps_since_last_decision(self) -> None:
        c = make()
        snap = snapshot(
            member(0, [rec(0, T, 1.0)], last_decision_step=T - 9),
            member(1, [rec(1, T, 0.0)], last_decision_step=T - 9),
        )
        assert c.decide(snap, 1, T) == Continue("not ready: 9 of 10 steps")

    def test_ready_exactly_at_interval(self) -> None:
        c = make()
        snap = snapshot(
            member(0, [rec(0, T, 1.0)], last_decision_step=T - 10),
            member(1, [rec(1, T, 0.0)], last_decision_step=T - 10),
        )
        assert isinstance(c.decide(snap, 1, T), Exploit)

    def test_readiness_counts_from_last_decision_not_from_start(self) -> None:
        c = make()
        me = member(1, [rec(1, 25, 0.0)], step=25, last_decision_step=18)
        snap = snapshot(member(0, [rec(0, 25, 1.0)]), me)
        assert c.decide(snap, 1, 25) == Continue("not ready: 7 of 10 steps")
        me_later = member(1, [rec(1, 28, 0.0)], step=28, last_decision_step=18)
        later = snapshot(member(0, [rec(0, 28, 1.0)]), me_later)
        assert isinstance(c.decide(later, 1, 28), Exploit)

    @pytest.mark.parametrize(
        ("last", "step", "budget", "ready"),
        [
            (0, 9, 100, False),
            (0, 10, 100, True),
            (0, 11, 100, True),
            (10, 19, 100, False),
            (15, 24, 100, False),
            (15, 25, 100, True),
            (15, 17, 17, True),  # the budget step is always ready
            (15, 18, 17, True),
        ],
    )
    def test_is_ready(self, last: int, step: int, budget: int, ready: bool) -> None:
        assert make(budget=budget).is_ready(last, step) is ready

    def test_continue_when_own_score_is_missing_at_the_step(self) -> None:
        c = make()
        snap = snapshot(member(0, [rec(0, T, 1.0)]), member(1, [rec(1, T - 2, 0.0)], step=T))
        assert c.decide(snap, 1, T) == Continue("no score recorded at step 20")

    def test_not_ready_constant(self) -> None:
        assert isinstance(NOT_READY, Continue)
        assert NOT_READY.reason == "not a ready point"


class TestExploitAndExplore:
    def test_bottom_member_exploits_top_member_with_its_record(self) -> None:
        c = make()
        snap = population({0: 4.0, 1: 3.0, 2: 2.0, 3: 1.0}, step=T)
        decision = c.decide(snap, 3, T)
        assert isinstance(decision, Exploit)
        assert (decision.parent, decision.parent_generation, decision.parent_step) == (0, 0, T)
        assert decision.parent_checkpoint == ckpt(0, 0, T)
        assert decision.params == params_for(0, 0, T)  # NoExplore: the parent's record params
        assert "rank 4/4" in decision.reason and "member 0" in decision.reason

    @pytest.mark.parametrize("who", [0, 1, 2])
    def test_members_above_the_bottom_continue(self, who: int) -> None:
        decision = make().decide(population({0: 4.0, 1: 3.0, 2: 2.0, 3: 1.0}, step=T), who, T)
        assert isinstance(decision, Continue)
        assert f"rank {who + 1}/4" in decision.reason
        assert "above the bottom 1" in decision.reason

    def test_exploit_uses_params_and_generation_of_the_ranked_record(self) -> None:
        record_params = params_for(0, 2, T)
        parent = member(
            0,
            [rec(0, T, 5.0, generation=2, params=record_params)],
            step=T + 7,
            generation=3,
            params=params_for(0, 3),
        )
        snap = snapshot(parent, member(1, [rec(1, T, 1.0)]))
        decision = make().decide(snap, 1, T)
        assert isinstance(decision, Exploit)
        assert decision.parent_generation == 2
        assert decision.parent_checkpoint == ckpt(0, 2, T)
        assert decision.params == record_params
        assert decision.params != params_for(0, 3)

    def test_exploit_params_are_the_explored_parent_params(self) -> None:
        explore = PerturbOrResampleExplore()
        c = make(explore=explore, seed=123)
        snap = population({0: 4.0, 1: 3.0, 2: 2.0, 3: 1.0}, step=T)
        decision = c.decide(snap, 3, T)
        assert isinstance(decision, Exploit)
        rng = c.rng(3, T)
        ranking = comparison_set(snap, T, INTERVAL, maximize=True)
        parent, _ = c.exploit.select(ranking[-1], ranking, rng)
        assert parent is not None and parent.member == 0
        assert decision.params == explore.explore(params_for(0, 0, T), SPACE, rng)
        assert decision.params != params_for(0, 0, T)
        assert SPACE.validate(decision.params) == decision.params

    def test_no_exploit_with_explore_explores_own_params(self) -> None:
        own = params_for(3, 1)
        snap = snapshot(
            member(0, [rec(0, T, 4.0)]),
            member(3, [rec(3, T, 1.0, generation=1)], params=own),
        )
        c = make(exploit=NoExploit(explore=True), explore=NoExplore())
        assert c.decide(snap, 3, T) == Explore(
            own, "exploitation is off; explores its own hyperparameters"
        )
        c = make(exploit=NoExploit(explore=True), explore=PerturbExplore(), seed=5)
        decision = c.decide(snap, 3, T)
        assert isinstance(decision, Explore)
        assert decision.params == PerturbExplore().explore(own, SPACE, c.rng(3, T))
        assert decision.params["lr"] in (
            pytest.approx(own["lr"] * 0.8),
            pytest.approx(own["lr"] * 1.2),
        )

    def test_no_exploit_without_explore_continues(self) -> None:
        snap = population({0: 4.0, 1: 1.0}, step=T)
        decision = make(exploit=NoExploit()).decide(snap, 1, T)
        assert decision == Continue("exploitation is off")

    def test_single_comparable_member_continues(self) -> None:
        decision = make().decide(population({4: 1.0}, step=T), 4, T)
        assert decision == Continue("only 1 member comparable at step 20")


# --------------------------------------------------------------------------- synchronous mode


class TestSynchronous:
    def test_waits_for_a_running_member_below_the_step(self) -> None:
        snap = snapshot(
            member(0, [rec(0, 10, 4.0)], step=15),
            member(1, [rec(1, T, 1.0)]),
            member(2, [rec(2, T, 2.0)], step=T + 5),
        )
        decision = make(synchronous=True).decide(snap, 1, T)
        assert decision == Wait("waiting at step 20 for members [0] to reach it")

    def test_asynchronous_mode_does_not_wait(self) -> None:
        snap = snapshot(
            member(0, [rec(0, 10, 4.0)], step=15),
            member(1, [rec(1, T, 1.0)]),
            member(2, [rec(2, T, 2.0)], step=T),
        )
        decision = make(synchronous=False).decide(snap, 1, T)
        assert isinstance(decision, Exploit)
        assert (decision.parent, decision.parent_step) == (0, 10)

    def test_decides_once_everybody_reached_the_step(self) -> None:
        snap = snapshot(
            member(0, [rec(0, T, 4.0)], step=T),
            member(1, [rec(1, T, 1.0)]),
            member(2, [rec(2, T, 2.0)], step=T + 3),
        )
        decision = make(synchronous=True).decide(snap, 1, T)
        assert isinstance(decision, Exploit)
        assert decision.parent == 0

    @pytest.mark.parametrize("state", [MemberState.FINISHED, MemberState.FAILED])
    def test_members_not_running_do_not_block(self, state: str) -> None:
        snap = snapshot(
            member(0, [rec(0, T, 4.0)]),
            member(1, [rec(1, T, 1.0)]),
            member(2, [rec(2, 5, 9.0)], step=7, state=state),
        )
        decision = make(synchronous=True).decide(snap, 1, T)
        assert isinstance(decision, Exploit)

    def test_wait_lists_every_member_behind(self) -> None:
        snap = snapshot(
            member(0, [], step=3),
            member(1, [rec(1, T, 1.0)]),
            member(2, [rec(2, 10, 2.0)], step=19),
        )
        decision = make(synchronous=True).decide(snap, 1, T)
        assert decision == Wait("waiting at step 20 for members [0, 2] to reach it")

    def test_not_ready_comes_before_the_barrier(self) -> None:
        snap = snapshot(member(0, [], step=3), member(1, [rec(1, T, 1.0)], last_decision_step=15))
        assert isinstance(make(synchronous=True).decide(snap, 1, T), Continue)

    def test_wait_does_not_depend_on_member_order(self) -> None:
        members = (
            member(2, [rec(2, 10, 2.0)], step=19),
            member(1, [rec(1, T, 1.0)]),
            member(0, [], step=3),
        )
        c = make(synchronous=True)
        forward = c.decide(snapshot(*members), 1, T)
        backward = c.decide(snapshot(*members[::-1]), 1, T)
        assert forward == backward


# --------------------------------------------------------------------------- time fairness


class TestTimeFairness:
    def test_member_far_ahead_is_compared_at_its_record_at_t(self) -> None:
        # member 0 is at step 40; at t=20 it scored 0.2, later much better
        ahead = member(
            0,
            [rec(0, s, v) for s, v in ((10, 0.1), (20, 0.2), (30, 0.9), (40, 0.95))],
            step=40,
        )
        snap = snapshot(ahead, member(1, [rec(1, T, 0.5)]))
        ranking = comparison_set(snap, T, INTERVAL, maximize=True)
        assert [(c.member, c.step, c.score) for c in ranking] == [(1, 20, 0.5), (0, 20, 0.2)]
        assert isinstance(make().decide(snap, 1, T), Continue)

    def test_member_far_ahead_is_copied_from_its_record_at_t(self) -> None:
        ahead = member(
            0,
            [rec(0, s, v) for s, v in ((10, 0.1), (20, 0.9), (30, 0.0), (40, 0.05))],
            step=40,
        )
        snap = snapshot(ahead, member(1, [rec(1, T, 0.5)]))
        decision = make().decide(snap, 1, T)
        assert isinstance(decision, Exploit)
        assert (decision.parent, decision.parent_step) == (0, 20)
        assert decision.parent_checkpoint == ckpt(0, 0, 20)
        assert decision.params == params_for(0, 0, 20)

    def test_latest_record_inside_the_window_is_used(self) -> None:
        ahead = member(0, [rec(0, 12, 9.0), rec(0, 16, 3.0), rec(0, 25, 0.0)], step=25)
        snap = snapshot(ahead, member(1, [rec(1, T, 1.0)]))
        (first, second) = comparison_set(snap, T, INTERVAL, maximize=True)
        assert (first.member, first.step, first.score) == (0, 16, 3.0)
        assert second.member == 1

    def test_window_includes_t_minus_interval(self) -> None:
        behind = member(0, [rec(0, T - INTERVAL, 5.0)], step=T - 2)
        snap = snapshot(behind, member(1, [rec(1, T, 1.0)]))
        decision = make().decide(snap, 1, T)
        assert isinstance(decision, Exploit)
        assert (decision.parent, decision.parent_step) == (0, 10)

    def test_member_behind_more_than_one_interval_is_excluded(self) -> None:
        stale = member(0, [rec(0, T - INTERVAL - 1, 5.0)], step=T - 2)
        snap = snapshot(stale, member(1, [rec(1, T, 1.0)]))
        assert [c.member for c in comparison_set(snap, T, INTERVAL, maximize=True)] == [1]
        assert make().decide(snap, 1, T) == Continue("only 1 member comparable at step 20")

    def test_member_without_ready_point_is_excluded(self) -> None:
        snap = snapshot(member(0, [], step=T + 4), member(1, [rec(1, T, 1.0)]))
        assert [c.member for c in comparison_set(snap, T, INTERVAL, maximize=True)] == [1]

    def test_failed_members_are_excluded_finished_ones_are_not(self) -> None:
        snap = snapshot(
            member(0, [rec(0, T, 9.0)], state=MemberState.FAILED),
            member(1, [rec(1, T, 1.0)]),
            member(2, [rec(2, T, 5.0)], state=MemberState.FINISHED),
        )
        ranking = comparison_set(snap, T, INTERVAL, maximize=True)
        assert [c.member for c in ranking] == [2, 1]
        decision = make().decide(snap, 1, T)
        assert isinstance(decision, Exploit) and decision.parent == 2

    def test_latest_by_step_then_generation_from_any_generation(self) -> None:
        # member 0 exploited at step 18 and restarted: two records at 18, and an older one at 19
        restarted = member(
            0,
            [rec(0, 18, 1.0, generation=0), rec(0, 18, 7.0, generation=1)],
            generation=1,
            step=T,
        )
        older_later = member(
            2, [rec(2, 19, 3.0, generation=0), rec(2, 15, 8.0, generation=1)], generation=1
        )
        snap = snapshot(restarted, older_later, member(1, [rec(1, T, 2.0)]))
        by_member = {c.member: c for c in comparison_set(snap, T, INTERVAL, maximize=True)}
        assert (by_member[0].generation, by_member[0].step, by_member[0].score) == (1, 18, 7.0)
        assert (by_member[2].generation, by_member[2].step, by_member[2].score) == (0, 19, 3.0)

    def test_recent_scores_only_for_a_record_of_the_current_generation(self) -> None:
        snap = snapshot(
            member(0, [rec(0, T, 1.0, generation=1)], generation=1, recent=(1.0, 2.0)),
            member(1, [rec(1, T, 2.0, generation=0)], generation=1, recent=(3.0, 4.0)),
        )
        by_member = {c.member: c for c in comparison_set(snap, T, INTERVAL, maximize=True)}
        assert by_member[0].recent == (1.0, 2.0)
        assert by_member[1].recent == ()
        minimized = {c.member: c for c in comparison_set(snap, T, INTERVAL, maximize=False)}
        assert minimized[0].recent == (-1.0, -2.0)


# --------------------------------------------------------------------------- truncation counts


@pytest.mark.parametrize(
    ("n", "n_bottom", "n_top"), [(2, 1, 1), (4, 1, 1), (5, 1, 1), (8, 2, 2), (16, 4, 4)]
)
def test_truncation_counts(n: int, n_bottom: int, n_top: int) -> None:
    snap = population({m: float(n - m) for m in range(n)}, step=T)  # member 0 best
    c = make(exploit=TruncationExploit(0.25, 0.25))
    for m in range(n):
        if m < n - n_bottom:
            assert parents(c, snap, m, T, seeds=5) == {None}, m
        else:
            assert parents(c, snap, m, T) == set(range(n_top)), m


@pytest.mark.parametrize(
    ("bottom", "top", "n", "n_bottom", "n_top"),
    [(0.5, 0.5, 5, 2, 2), (0.2, 0.5, 10, 2, 5), (0.5, 0.1, 6, 3, 1), (0.4, 0.4, 3, 1, 1)],
)
def test_truncation_fractions(bottom: float, top: float, n: int, n_bottom: int, n_top: int) -> None:
    snap = population({m: float(n - m) for m in range(n)}, step=T)
    c = make(exploit=TruncationExploit(bottom, top))
    exploiting = [m for m in range(n) if parents(c, snap, m, T, seeds=5) != {None}]
    assert exploiting == list(range(n - n_bottom, n))
    assert parents(c, snap, n - 1, T) == set(range(n_top))


def test_truncation_skips_top_members_without_checkpoint() -> None:
    snap = population({m: float(8 - m) for m in range(8)}, step=T, without_checkpoint=[0])
    assert parents(make(), snap, 7, T) == {1}
    none = population({m: float(8 - m) for m in range(8)}, step=T, without_checkpoint=[0, 1])
    decision = make().decide(none, 7, T)
    assert isinstance(decision, Continue)
    assert "no top member has a checkpoint" in decision.reason


# --------------------------------------------------------------------------- ties and direction


def test_ties_rank_lower_member_id_first() -> None:
    snap = population({3: 1.0, 1: 1.0, 2: 1.0, 0: 1.0}, step=T)
    assert [c.member for c in comparison_set(snap, T, INTERVAL, maximize=True)] == [0, 1, 2, 3]
    assert [c.member for c in comparison_set(snap, T, INTERVAL, maximize=False)] == [0, 1, 2, 3]
    c = make()
    decision = c.decide(snap, 3, T)
    assert isinstance(decision, Exploit) and decision.parent == 0
    assert isinstance(c.decide(snap, 0, T), Continue)
    assert isinstance(c.decide(snap, 2, T), Continue)


def test_minimize_flips_the_ranking() -> None:
    snap = population({0: 0.1, 1: 0.4, 2: 0.3, 3: 0.2}, step=T)
    ranking = comparison_set(snap, T, INTERVAL, maximize=False)
    assert [c.member for c in ranking] == [0, 3, 2, 1]
    assert [c.fitness for c in ranking] == [-0.1, -0.2, -0.3, -0.4]
    assert [c.score for c in ranking] == [0.1, 0.2, 0.3, 0.4]
    minimize = make(direction="minimize")
    decision = minimize.decide(snap, 1, T)
    assert isinstance(decision, Exploit) and decision.parent == 0
    assert isinstance(minimize.decide(snap, 0, T), Continue)
    maximize = make(direction="maximize")
    decision = maximize.decide(snap, 0, T)
    assert isinstance(decision, Exploit) and decision.parent == 1


def test_minimize_ties_still_favour_lower_id() -> None:
    snap = population({0: 2.0, 1: 1.0, 2: 1.0, 3: 3.0}, step=T)
    decision = make(direction="minimize").decide(snap, 3, T)
    assert isinstance(decision, Exploit) and decision.parent == 1


# --------------------------------------------------------------------------- randomness


def test_rng_is_keyed_by_seed_member_and_step() -> None:
    c = make(seed=7)
    draw = c.rng(3, 40).random(4)
    np.testing.assert_array_equal(draw, make(seed=7).rng(3, 40).random(4))
    np.testing.assert_array_equal(draw, np.random.default_rng([7, 3, 40]).random(4))
    others = [make(seed=8).rng(3, 40), c.rng(4, 40), c.rng(3, 41), c.rng(40, 3)]
    for other in others:
        assert not np.array_equal(draw, other.random(4))


def test_seed_changes_random_choices_but_not_ranks() -> None:
    snap = population({m: float(16 - m) for m in range(16)}, step=T)
    assert parents(make(), snap, 15, T, seeds=40) == {0, 1, 2, 3}
    assert parents(make(), snap, 11, T, seeds=10) == {None}


# --------------------------------------------------------------------------- JSON round trips

CONFIGS = [
    {},
    {"exploit": TruncationExploit(0.2, 0.4), "explore": PerturbExplore((0.5, 2.0))},
    {"exploit": TournamentExploit(), "explore": ResampleExplore(0.5), "direction": "minimize"},
    {"exploit": TTestExploit(4, 0.1, 3), "explore": PerturbOrResampleExplore(0.1, (0.9, 1.1))},
    {"exploit": NoExploit(explore=True), "explore": NoExplore(), "synchronous": True},
    {"exploit": NoExploit(), "seed": 2**40},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_controller_json_round_trip_decides_identically(config: dict[str, Any]) -> None:
    original = Controller(SPACE, budget=50, interval=INTERVAL, **{"seed": 11, **config})
    data = json.loads(json.dumps(original.to_dict()))
    restored = Controller.from_dict(SPACE, data)
    assert restored.to_dict() == original.to_dict()
    assert restored.exploit == original.exploit and restored.explore == original.explore
    assert (restored.budget, restored.interval, restored.direction) == (50, 10, original.direction)
    assert (restored.synchronous, restored.seed) == (original.synchronous, original.seed)
    snap = snapshot(
        *(
            member(m, [rec(m, T, float(m % 3), generation=0)], recent=(m, m / 2, m % 2))
            for m in range(8)
        ),
        member(8, [rec(8, T, 0.0)], step=15),
    )
    for m in range(9):
        assert restored.decide(snap, m, T) == original.decide(snap, m, T)


def test_controller_to_dict_is_exact() -> None:
    c = Controller(SPACE, budget=50, interval=5, seed=3)
    assert c.to_dict() == {
        "budget": 50,
        "interval": 5,
        "exploit": {"type": "TruncationExploit", "bottom": 0.25, "top": 0.25},
        "explore": {
            "type": "PerturbOrResampleExplore",
            "resample_probability": 0.25,
            "factors": [0.8, 1.2],
        },
        "direction": "maximize",
        "synchronous": False,
        "seed": 3,
    }


def test_controller_defaults() -> None:
    c = Controller(SPACE, budget=50, interval=5)
    assert c.exploit == TruncationExploit()
    assert c.explore == PerturbOrResampleExplore()
    assert (c.direction, c.synchronous, c.seed) == ("maximize", False, 0)


def test_from_dict_rejects_unknown_strategy_types() -> None:
    data = make().to_dict()
    with pytest.raises(ConfigurationError, match="unknown exploit strategy 'Elitism'"):
        Controller.from_dict(SPACE, {**data, "exploit": {"type": "Elitism"}})
    with pytest.raises(ConfigurationError, match="unknown explore strategy 'TournamentExploit'"):
        Controller.from_dict(SPACE, {**data, "explore": {"type": "TournamentExploit"}})
    with pytest.raises(ConfigurationError, match="'Nope'"):
        Strategy.from_dict({"type": "Nope"})


def test_from_dict_checks_arguments() -> None:
    data = make().to_dict()
    with pytest.raises(ConfigurationError, match="bottom"):
        Controller.from_dict(
            SPACE, {**data, "exploit": {"type": "TruncationExploit", "bottom": 0.9}}
        )
    with pytest.raises(ConfigurationError, match="interval"):
        Controller.from_dict(SPACE, {**data, "interval": 0})


@pytest.mark.parametrize(
    "decision",
    [
        Continue("c"),
        Stop("s"),
        Wait("w"),
        Explore({"lr": 0.1}, "e"),
        Exploit(3, 1, 20, "ckpt", {"lr": 0.1, "layers": 2}, "x"),
    ],
)
def test_decision_dict_round_trip(decision: Any) -> None:
    data = json.loads(json.dumps(decision_to_dict(decision)))
    assert data["kind"] == decision.kind
    assert decision_from_dict(data) == decision


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, "budget must be a positive integer, got 0"),
        ({"budget": -5}, "budget must be a positive integer"),
        ({"budget": 10.0}, "budget must be a positive integer"),
        ({"budget": True}, "budget must be a positive integer"),
        ({"budget": "10"}, "budget must be a positive integer"),
        ({"interval": 0}, "interval must be a positive integer, got 0"),
        ({"interval": -1}, "interval must be a positive integer"),
        ({"interval": 2.5}, "interval must be a positive integer"),
        ({"direction": "max"}, "direction must be one of"),
        ({"direction": "Maximize"}, "direction must be one of"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"seed": True}, "seed must be a non-negative integer"),
        ({"exploit": PerturbExplore()}, "exploit must be a BaseExploit"),
        ({"explore": TournamentExploit()}, "explore must be a BaseExplore"),
    ],
)
def test_bad_controller_arguments(kwargs: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"budget": 100, "interval": 10, **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        Controller(SPACE, **options)


def test_space_must_be_a_search_space() -> None:
    with pytest.raises(ConfigurationError, match="space must be a SearchSpace, got dict"):
        Controller({"x": Uniform(0.0, 1.0)}, budget=10, interval=2)  # type: ignore[arg-type]


def test_numpy_integers_are_accepted() -> None:
    c = Controller(
        SearchSpace(x=Uniform(0.0, 1.0)),
        budget=np.int64(10),
        interval=np.int32(2),
        seed=np.uint8(3),
    )
    assert (c.budget, c.interval, c.seed) == (10, 2, 3)
    assert all(type(v) is int for v in (c.budget, c.interval, c.seed))
    json.dumps(c.to_dict())


def test_strategy_base_classes_are_not_registered() -> None:
    with pytest.raises(ConfigurationError):
        BaseExploit.from_dict({"type": "BaseExploit"})
    with pytest.raises(ConfigurationError):
        BaseExplore.from_dict({"type": "BaseExplore"})


# --------------------------------------------------------------------------- ranking values


def test_decide_and_rank_returns_the_decision_and_its_comparison() -> None:
    snap = snapshot(
        member(0, [rec(0, 12, 4.0), rec(0, 30, 0.0)], step=30),
        member(1, [rec(1, T, 1.0)]),
        member(2, [rec(2, T, 2.0)]),
        member(3, [rec(3, 5, 9.0)], step=6),  # behind by more than one interval
    )
    c = make()
    decision, ranking = c.decide_and_rank(snap, 1, T)
    assert decision == c.decide(snap, 1, T)
    assert isinstance(decision, Exploit) and decision.parent == 0
    assert ranking is not None
    assert ranking.compared() == [(0, 12, 4.0), (2, 20, 2.0), (1, 20, 1.0)]
    assert [ranking.position(m) for m in (0, 1, 2, 3)] == [0, 2, 1, None]
    assert ranking.members.tolist() == [0, 2, 1]
    assert ranking.copyable.tolist() == [True, True, True]
    assert len(ranking) == 3 and ranking[-1].member == 1
    assert [c.member for c in ranking[:2]] == [0, 2]


@pytest.mark.parametrize(
    ("who", "step", "last", "state"),
    [
        (1, T, T - 10, MemberState.FINISHED),  # Stop
        (1, T, T - 3, MemberState.RUNNING),  # not ready
    ],
)
def test_decide_and_rank_without_comparison(who: int, step: int, last: int, state: str) -> None:
    snap = snapshot(
        member(0, [rec(0, T, 4.0)]),
        member(1, [rec(1, T, 1.0)], last_decision_step=last, state=state),
    )
    decision, ranking = make().decide_and_rank(snap, who, step)
    assert ranking is None
    assert decision == make().decide(snap, who, step)


def test_wait_has_no_comparison() -> None:
    snap = snapshot(member(0, [], step=3), member(1, [rec(1, T, 1.0)]))
    decision, ranking = make(synchronous=True).decide_and_rank(snap, 1, T)
    assert isinstance(decision, Wait) and ranking is None


def test_records_of_and_copyable_columns() -> None:
    snap = snapshot(
        member(0, [rec(0, 18, 1.0), rec(0, 9, 2.0, checkpoint=False)]),
        member(1, [rec(1, T, 3.0, checkpoint=False)]),
    )
    assert [r.step for r in snap.records_of(0)] == [9, 18]
    assert snap.records_of(0)[0] == rec(0, 9, 2.0, checkpoint=False)
    assert snap.records_of(5) == ()
    ranking = comparison_set(snap, T, INTERVAL, maximize=True)
    assert ranking.members.tolist() == [1, 0]
    assert ranking.copyable.tolist() == [False, True]
    assert ranking[0].checkpoint is None and ranking[1].checkpoint == ckpt(0, 0, 18)
