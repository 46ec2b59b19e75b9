"""Hypothesis properties of the controller: explore stays in the space, decisions are
deterministic and independent of member order, and every decision agrees with a reference model
of the time-fair ranking and the exploit rules."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from populace.controller import (
    Controller,
    Exploit,
    Explore,
    MemberSnapshot,
    MemberState,
    NoExploit,
    NoExplore,
    PerturbExplore,
    PerturbOrResampleExplore,
    PopulationSnapshot,
    ReadyRecord,
    ResampleExplore,
    TournamentExploit,
    TruncationExploit,
    TTestExploit,
)
from populace.controller.exploit._ttest import welch_p_greater
from populace.space import (
    BaseDimension,
    Choice,
    Fixed,
    IntUniform,
    LogUniform,
    SearchSpace,
    Uniform,
)

from ._helpers import SPACE

# --------------------------------------------------------------------------- spaces and params

scalars = st.one_of(
    st.integers(-100, 100),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
)


@st.composite
def dimensions(draw: st.DrawFn) -> BaseDimension[Any]:
    kind = draw(st.sampled_from(["uniform", "log", "int", "intlog", "choice", "fixed"]))
    if kind == "uniform":
        low = draw(st.floats(-1e6, 1e6))
        high = low + draw(st.floats(1e-3, 1e6))
        return Uniform(low, high if high > low else math.nextafter(low, math.inf))
    if kind == "log":
        low = draw(st.floats(1e-8, 1e3))
        return LogUniform(low, low * draw(st.floats(1.01, 1e6)))
    if kind == "int":
        low = draw(st.integers(-1000, 1000))
        return IntUniform(low, low + draw(st.integers(1, 1000)))
    if kind == "intlog":
        low = draw(st.integers(1, 1000))
        return IntUniform(low, low + draw(st.integers(1, 10**6)), log=True)
    if kind == "choice":
        values = draw(st.lists(scalars, min_size=1, max_size=6, unique_by=lambda v: (type(v), v)))
        return Choice(values, ordered=draw(st.booleans()))
    return Fixed(draw(scalars))


def values_of(dimension: BaseDimension[Any]) -> st.SearchStrategy[Any]:
    """Every value of the domain, bounds included."""
    if isinstance(dimension, (Uniform, LogUniform)):
        return st.floats(dimension.low, dimension.high)
    if isinstance(dimension, IntUniform):
        return st.integers(dimension.low, dimension.high)
    if isinstance(dimension, Choice):
        return st.sampled_from(dimension.values)
    assert isinstance(dimension, Fixed)
    return st.just(dimension.value)


@st.composite
def spaces_and_params(draw: st.DrawFn) -> tuple[SearchSpace, dict[str, Any]]:
    dims = draw(st.lists(dimensions(), min_size=1, max_size=6))
    space = SearchSpace(**{f"p{i}": d for i, d in enumerate(dims)})
    params = {name: draw(values_of(space[name])) for name in space.names}
    return space, params


def assert_in_domain(dimension: BaseDimension[Any], value: Any) -> None:
    """value lies in the domain and has the dimension's Python type."""
    assert dimension.contains(value), (dimension, value)
    if isinstance(dimension, (Uniform, LogUniform)):
        assert type(value) is float
        assert dimension.low <= value <= dimension.high
    elif isinstance(dimension, IntUniform):
        assert type(value) is int
        assert dimension.low <= value <= dimension.high
    elif isinstance(dimension, Choice):
        assert any(type(v) is type(value) and v == value for v in dimension.values), value
    else:
        assert isinstance(dimension, Fixed)
        assert type(value) is type(dimension.value) and value == dimension.value


probabilities = st.floats(0.0, 1.0)
factor_lists = st.lists(
    st.one_of(st.just(1.0), st.sampled_from([0.5, 0.8, 1.2, 2.0]), st.floats(0.01, 100.0)),
    min_size=1,
    max_size=4,
).filter(lambda factors: set(factors) != {1.0})

explores = st.one_of(
    st.builds(PerturbOrResampleExplore, probabilities, factor_lists),
    st.builds(PerturbExplore, factor_lists),
    st.builds(ResampleExplore, probabilities),
    st.just(NoExplore()),
)


@settings(max_examples=200, deadline=None)
@given(case=spaces_and_params(), explore=explores, seed=st.integers(0, 2**64 - 1))
def test_explore_stays_in_bounds_and_keeps_types(
    case: tuple[SearchSpace, dict[str, Any]], explore: Any, seed: int
) -> None:
    space, params = case
    before = dict(params)
    out = explore.explore(params, space, np.random.default_rng(seed))
    assert list(out) == list(space.names)
    for name in space.names:
        assert_in_domain(space[name], out[name])
    assert space.validate(out) == out
    assert params == before  # the input is not modified
    assert explore.explore(params, space, np.random.default_rng(seed)) == out
    if isinstance(explore, NoExplore) or (
        isinstance(explore, ResampleExplore) and explore.probability == 0.0
    ):
        assert out == params


# --------------------------------------------------------------------------- populations

# quarter steps: plenty of ties, and no variance small enough to underflow in the t-test
scores = st.integers(-12, 12).map(lambda i: i / 4)

exploits = st.one_of(
    st.builds(
        TruncationExploit,
        st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.4, 0.5]),
        st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.4, 0.5]),
    ),
    st.just(TournamentExploit()),
    st.builds(
        lambda min_samples, extra, alpha: TTestExploit(min_samples + extra, alpha, min_samples),
        st.integers(2, 4),
        st.integers(0, 4),
        st.sampled_from([0.05, 0.2, 0.5]),
    ),
    st.builds(NoExploit, st.booleans()),
)

PREFERRED_STATE = [MemberState.RUNNING] * 6 + [MemberState.FINISHED, MemberState.FAILED]


PARAMS = [SPACE.sample(np.random.default_rng(i)) for i in range(64)]


def params_from(draw: st.DrawFn) -> dict[str, Any]:
    return dict(draw(st.sampled_from(PARAMS)))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Controller, PopulationSnapshot, int, int]:
    """A controller, a population of 2-12 members, the deciding member and its step t."""
    interval = draw(st.integers(1, 12))
    t = draw(st.integers(interval, 120))
    budget = t + draw(st.sampled_from([500] * 12 + [0, 1, 5]))
    n = draw(st.integers(2, 12))
    ids = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n, unique=True))
    me_id = draw(st.sampled_from(ids))
    members = []
    all_records: list[ReadyRecord] = []
    for member_id in ids:
        mine = member_id == me_id
        generation = draw(st.integers(0, 3))
        records: dict[tuple[int, int], ReadyRecord] = {}
        offsets = st.one_of(
            st.integers(-interval, 0), st.integers(-2 * interval - 1, 2 * interval + 1)
        )
        keys = [
            (draw(st.integers(0, generation)), max(0, t + draw(offsets)))
            for _ in range(draw(st.integers(0, 4)))
        ]
        if mine and draw(st.sampled_from([True] * 9 + [False])):
            keys.append((generation, t))
        for g, s in keys:
            records[(g, s)] = ReadyRecord(
                member=member_id,
                generation=g,
                step=s,
                score=draw(scores),
                checkpoint=draw(
                    st.sampled_from([None, f"ckpt-{member_id}-{g}-{s}", f"c{member_id}", "shared"])
                ),
                params=params_from(draw),
            )
        if mine:
            state = draw(st.sampled_from([MemberState.RUNNING] * 19 + [MemberState.FINISHED]))
            step = t
            last = max(0, t - interval - draw(st.sampled_from([0, 0, 0, 3, -1])))
        else:
            state = draw(st.sampled_from(PREFERRED_STATE))
            step = max(
                [s for _, s in records]
                + [max(0, t + draw(st.sampled_from([0, 0, 1, 30, -1, -interval])))]
            )
            last = draw(st.integers(0, step))
        all_records.extend(records.values())
        members.append(
            MemberSnapshot(
                id=member_id,
                generation=generation,
                params=params_from(draw),
                state=state,
                step=step,
                start_step=0,
                last_decision_step=last,
                recent_scores=tuple(draw(st.lists(scores, max_size=6))),
            )
        )
    controller = Controller(
        SPACE,
        budget=budget,
        interval=interval,
        exploit=draw(exploits),
        explore=draw(st.sampled_from([NoExplore(), PerturbOrResampleExplore(), ResampleExplore()])),
        direction=draw(st.sampled_from(["maximize", "minimize"])),
        synchronous=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )
    return (
        controller,
        PopulationSnapshot.build(
            members, draw(st.permutations(all_records)), watermark=draw(st.integers(0, 99))
        ),
        me_id,
        t,
    )


# --------------------------------------------------------------------------- reference model


def records(snap: PopulationSnapshot) -> list[ReadyRecord]:
    table = snap.records
    return [
        ReadyRecord(
            int(table.member[i]),
            int(table.generation[i]),
            int(table.step[i]),
            float(table.score[i]),
            table.checkpoint[i],
            table.params[i],
        )
        for i in range(len(table.member))
    ]


def contents(snap: PopulationSnapshot) -> tuple[Any, ...]:
    """Everything a snapshot holds, as comparable values (snapshots compare by identity)."""
    return snap.members, records(snap), snap.watermark


def reference(
    c: Controller, snap: PopulationSnapshot, me_id: int, t: int
) -> tuple[set[str], dict[int, ReadyRecord]]:
    """The decision kinds allowed by the design, and the allowed parents with their record."""
    by_id = {m.id: m for m in snap.members}
    me = by_id[me_id]
    if me.state != MemberState.RUNNING or t >= c.budget:
        return {"stop"}, {}
    if t - me.last_decision_step < c.interval:
        return {"continue"}, {}
    if c.synchronous and any(
        m.state == MemberState.RUNNING and m.id != me_id and m.step < t for m in snap.members
    ):
        return {"wait"}, {}
    window: dict[int, ReadyRecord] = {}
    for m in snap.members:
        inside = [r for r in records(snap) if r.member == m.id and t - c.interval <= r.step <= t]
        if m.state != MemberState.FAILED and inside:
            window[m.id] = max(inside, key=lambda r: (r.step, r.generation))
    if me_id not in window or window[me_id].step != t:
        return {"continue"}, {}
    sign = 1.0 if c.direction == "maximize" else -1.0
    order = sorted(window, key=lambda i: (-sign * window[i].score, i))
    rank = {i: position for position, i in enumerate(order)}
    others = [i for i in order if i != me_id and window[i].checkpoint is not None]
    strategy = c.exploit
    if isinstance(strategy, NoExploit):
        return ({"explore"} if strategy.explore else {"continue"}), {}
    if isinstance(strategy, TruncationExploit):
        n = len(order)
        if n < 2:
            return {"continue"}, {}
        n_bottom = min(max(1, math.floor(strategy.bottom * n)), n // 2)
        n_top = min(max(1, math.floor(strategy.top * n)), n // 2)
        top = [i for i in others if rank[i] < n_top]
        if rank[me_id] < n - n_bottom or not top:
            return {"continue"}, {}
        return {"exploit"}, {i: window[i] for i in top}
    if isinstance(strategy, TournamentExploit):
        better = [i for i in others if rank[i] < rank[me_id]]
    else:
        assert isinstance(strategy, TTestExploit)

        def recent(i: int) -> tuple[float, ...]:
            scores = by_id[i].recent_scores if window[i].generation == by_id[i].generation else ()
            return tuple(sign * s for s in scores)[-strategy.window :]

        mine = recent(me_id)
        better = [
            i
            for i in others
            if min(len(mine), len(recent(i))) >= strategy.min_samples
            and welch_p_greater(recent(i), mine) < strategy.alpha
        ]
    if not better:
        return {"continue"}, {}
    kinds = {"exploit"} if len(better) == len(others) else {"exploit", "continue"}
    return kinds, {i: window[i] for i in better}


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_decisions_follow_the_reference_model(
    scenario: tuple[Controller, PopulationSnapshot, int, int],
) -> None:
    c, snap, me_id, t = scenario
    decision = c.decide(snap, me_id, t)
    kinds, allowed = reference(c, snap, me_id, t)
    event(decision.kind)
    assert decision.kind in kinds, (decision, kinds)
    if isinstance(decision, Exploit):
        assert decision.parent != me_id
        assert decision.parent_checkpoint is not None
        assert t - c.interval <= decision.parent_step <= t
        assert decision.parent in allowed, (decision.parent, sorted(allowed))
        record = allowed[decision.parent]
        assert (decision.parent_generation, decision.parent_step, decision.parent_checkpoint) == (
            record.generation,
            record.step,
            record.checkpoint,
        )
        assert SPACE.validate(decision.params) == decision.params
        if isinstance(c.explore, NoExplore):
            assert decision.params == dict(record.params)
    if isinstance(decision, Explore):
        assert SPACE.validate(decision.params) == decision.params
        if isinstance(c.explore, NoExplore):
            assert decision.params == dict(snap.member(me_id).params)


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios())
def test_same_snapshot_and_seed_give_the_same_decision(
    scenario: tuple[Controller, PopulationSnapshot, int, int],
) -> None:
    c, snap, me_id, t = scenario
    before = copy.deepcopy(snap)
    decision = c.decide(snap, me_id, t)
    assert c.decide(snap, me_id, t) == decision
    assert c.decide(copy.deepcopy(snap), me_id, t) == decision
    assert contents(snap) == contents(before)  # deciding modifies nothing, params included
    restored = Controller.from_dict(SPACE, json.loads(json.dumps(c.to_dict())))
    assert restored.decide(before, me_id, t) == decision


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_decisions_do_not_depend_on_member_or_record_order(
    scenario: tuple[Controller, PopulationSnapshot, int, int], data: st.DataObject
) -> None:
    c, snap, me_id, t = scenario
    shuffled = PopulationSnapshot.build(
        data.draw(st.permutations(snap.members)),
        data.draw(st.permutations(records(snap))),
        watermark=snap.watermark,
    )
    assert (c.decide(shuffled, me_id, t)) == (c.decide(snap, me_id, t))
