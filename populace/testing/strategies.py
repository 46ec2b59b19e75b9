"""The exploit and explore contracts as test suites: subclass :class:`ExploitSuite` or
:class:`ExploreSuite`.

Each test gets the strategy from an ``exploit`` (or ``explore``) fixture the subclass provides,
and checks the promises of :class:`~populace.controller.BaseExploit` (or
:class:`~populace.controller.BaseExplore`) and of :class:`~populace.controller.Strategy` on many
seeded rankings or search spaces: the strategy round-trips through JSON, decides alike once
restored, draws randomness only from the generator it is given, and modifies nothing it is
shown. A parent is never the member itself and always has a checkpoint; explored
hyperparameters name every dimension and stay inside each one, type included. Requires pytest::

    import pytest
    from populace.controller import PerturbExplore
    from populace.testing import ExploreSuite

    class TestMyExplore(ExploreSuite):
        @pytest.fixture(params=[PerturbExplore(), PerturbExplore(factors=(0.5, 2.0))], ids=repr)
        def explore(self, request):
            return request.param

populace runs both suites over every built-in strategy, several arguments each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pytest

from populace.controller import (
    BaseExploit,
    BaseExplore,
    Candidate,
    ExploreContext,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    Ranking,
    ReadyRecord,
    Strategy,
    comparison_set,
)
from populace.errors import ConfigurationError
from populace.space import (
    BaseDimension,
    Choice,
    Fixed,
    IntUniform,
    LogUniform,
    SearchSpace,
    Uniform,
)

__all__ = ["SPACES", "ExploitSuite", "ExploreSuite", "history", "ranking"]

SPACES: tuple[SearchSpace, ...] = (
    SearchSpace(
        lr=LogUniform(1e-5, 1.0),
        momentum=Uniform(0.0, 0.99),
        layers=IntUniform(1, 8),
        width=IntUniform(16, 4096, log=True),
        optimizer=Choice(["sgd", "adam", "rmsprop"]),
        batch_size=Choice([32, 64, 128, 256], ordered=True),
        seed=Fixed(7),
    ),
    SearchSpace(x=Uniform(-1.0, 1.0)),
    SearchSpace(
        mode=Choice([True, False, None, "auto", 0, 1.5]),
        level=Choice(["low", "high"], ordered=True),
        pair=IntUniform(3, 4),
        shift=Uniform(-1e9, -1e9 + 1e-3),
        name=Fixed("run"),
        scale=Fixed(None),
    ),
)
"""Every dimension type, at ordinary and awkward bounds (a two-value range, ties of types)."""


def _check_round_trip(strategy: Strategy, kind: type[Strategy], other: type[Strategy]) -> None:
    """``strategy`` goes to JSON and back as an equal one of its own class and ``kind`` only."""
    data = strategy.to_dict()
    assert data["type"] == type(strategy).__name__
    assert Strategy._registry.get(type(strategy).__name__) is type(strategy), "not registered"
    restored = kind.from_dict(json.loads(json.dumps(data)))
    assert type(restored) is type(strategy) and restored == strategy
    assert restored.to_dict() == data
    assert type(strategy)(**strategy.get_params()) == strategy  # arguments are kept verbatim
    with pytest.raises(ConfigurationError):
        other.from_dict(data)


def _restored(strategy: Strategy) -> Any:
    """``strategy`` rebuilt from its stored JSON, as a resumed run rebuilds it."""
    return Strategy.from_dict(json.loads(json.dumps(strategy.to_dict())))


def ranking(seed: int, history: int, *, others_copyable: bool = True) -> tuple[Candidate, Ranking]:
    """A seeded ``(me, ranking)``: 1-12 members ready within one interval of ``me``, tied scores,
    up to ``history`` recent scores each, some without a checkpoint (all but ``me``, unless
    ``others_copyable``)."""
    rng = np.random.default_rng(seed)
    ids = [int(i) for i in rng.choice(40, size=int(rng.integers(1, 13)), replace=False)]
    with_checkpoint = float(rng.choice([0.0, 0.5, 0.8, 1.0]))
    me, members, records = ids[0], [], []
    for member in ids:
        step = 40 if member == me else 40 - int(rng.integers(0, 11))
        params = {"lr": 0.001 * (member + 1)}
        recent = rng.integers(-8, 9, size=int(rng.integers(0, history + 1))) / 4
        state = MemberSnapshot(
            member, 0, params, MemberState.RUNNING, step, 0, 30, tuple(recent.tolist())
        )
        copyable = (others_copyable or member == me) and rng.random() < with_checkpoint
        score = int(rng.integers(-8, 9)) / 4
        members.append(state)
        records.append(
            ReadyRecord(member, 0, step, score, f"ckpt-{member}" if copyable else None, params)
        )
    snapshot = PopulationSnapshot.build(members, records)
    ranked = comparison_set(snapshot, 40, 10, maximize=bool(rng.random() < 0.5))
    position = ranked.position(me)
    assert position is not None
    return ranked[position], ranked


class ExploitSuite:
    """The contract of :class:`~populace.controller.BaseExploit`; subclass it and provide an
    ``exploit`` fixture returning the strategy to check."""

    seeds: ClassVar[int] = 300
    """How many seeded rankings each test checks."""

    def test_round_trips_through_json(self, exploit: BaseExploit) -> None:
        _check_round_trip(exploit, BaseExploit, BaseExplore)

    def test_declares_history_and_explores_own(self, exploit: BaseExploit) -> None:
        assert isinstance(exploit.history, int) and exploit.history >= 0
        assert isinstance(exploit.explores_own, bool)
        assert _restored(exploit).history == exploit.history
        assert _restored(exploit).explores_own == exploit.explores_own

    def test_a_parent_is_another_ranked_member_with_a_checkpoint(
        self, exploit: BaseExploit
    ) -> None:
        for seed in range(self.seeds):
            me, ranked = ranking(seed, exploit.history)
            parent, reason = exploit.select(me, ranked, np.random.default_rng(seed))
            assert isinstance(reason, str) and reason, (seed, reason)
            if parent is not None:
                assert parent.member != me.member, (seed, reason)
                assert parent.checkpoint is not None, (seed, reason)
                position = ranked.position(parent.member)
                assert position is not None and ranked[position] == parent, (seed, reason)

    def test_no_parent_when_no_other_member_has_a_checkpoint(self, exploit: BaseExploit) -> None:
        for seed in range(self.seeds):
            me, ranked = ranking(seed, exploit.history, others_copyable=False)
            parent, reason = exploit.select(me, ranked, np.random.default_rng(seed))
            assert parent is None, (seed, reason)

    def test_select_is_pure(self, exploit: BaseExploit) -> None:
        again = _restored(exploit)
        for seed in range(self.seeds):
            me, ranked = ranking(seed, exploit.history)
            members, copyable, entries = ranked.members.copy(), ranked.copyable.copy(), list(ranked)
            first = exploit.select(me, ranked, np.random.default_rng(seed))
            assert exploit.select(me, ranked, np.random.default_rng(seed)) == first, seed
            assert again.select(me, ranked, np.random.default_rng(seed)) == first, seed
            assert np.array_equal(ranked.members, members), seed
            assert np.array_equal(ranked.copyable, copyable), seed
            assert list(ranked) == entries, seed


class ExploreSuite:
    """The contract of :class:`~populace.controller.BaseExplore`; subclass it and provide an
    ``explore`` fixture returning the strategy to check."""

    seeds: ClassVar[int] = 200
    """How many seeded starting points each test explores from, in each of ``spaces``."""
    spaces: ClassVar[tuple[SearchSpace, ...]] = SPACES
    """The search spaces explored: by default :data:`SPACES`, every dimension type."""

    def starts(self) -> Iterator[tuple[SearchSpace, dict[str, Any], int]]:
        """Seeded ``(space, params, seed)``: sampled params, and params at the bounds."""
        for space in self.spaces:
            for seed in range(self.seeds):
                yield space, _start(space, seed), seed

    def test_round_trips_through_json(self, explore: BaseExplore) -> None:
        _check_round_trip(explore, BaseExplore, BaseExploit)

    def test_every_name_stays_in_its_dimension_with_its_type(self, explore: BaseExplore) -> None:
        for space, params, seed in self.starts():
            out = explore.explore(MappingProxyType(params), space, np.random.default_rng(seed))
            assert isinstance(out, dict) and set(out) == set(space.names), (seed, out)
            for name in space.names:
                plain = space[name].validate(name, out[name])  # raises outside the domain
                assert type(plain) is type(out[name]) and plain == out[name], (seed, name, out)

    def test_explore_is_pure(self, explore: BaseExplore) -> None:
        again = _restored(explore)
        for space, params, seed in self.starts():
            before = copy.deepcopy(params)
            first = explore.explore(params, space, np.random.default_rng(seed))
            assert first is not params
            assert params == before, seed  # the input is not modified
            assert explore.explore(params, space, np.random.default_rng(seed)) == first, seed
            assert again.explore(params, space, np.random.default_rng(seed)) == first, seed

    def test_explore_in_a_population_stays_in_its_dimensions_and_is_pure(
        self, explore: BaseExplore
    ) -> None:
        again = _restored(explore)
        for space in self.spaces:
            for seed in range(max(1, self.seeds // 10)):
                context = history(space, seed)
                params = dict(context.base.params)
                first = explore.explore_in(
                    MappingProxyType(params), space, np.random.default_rng(seed), context
                )
                assert set(first) == set(space.names), (seed, first)
                for name in space.names:
                    plain = space[name].validate(name, first[name])
                    assert type(plain) is type(first[name]) and plain == first[name], (seed, name)
                assert params == dict(context.base.params), seed  # the input is not modified
                for strategy in (explore, again):
                    rng = np.random.default_rng(seed)
                    assert strategy.explore_in(params, space, rng, context) == first, seed


def history(space: SearchSpace, seed: int, members: int = 6, intervals: int = 8) -> ExploreContext:
    """The context of a ready point after ``intervals`` intervals of ``members`` members, some of
    which copied others: seeded ready records whose scores depend on the params."""
    rng = np.random.default_rng(seed)
    interval, step = 4, 4 * intervals
    records, snapshots = [], []
    for member in range(members):
        generation, params = 0, space.sample(rng)
        score = float(rng.normal())
        for k in range(1, intervals + 1):
            if k > 1 and rng.random() < 0.2:
                generation, params = generation + 1, space.sample(rng)
            score += float(rng.normal(0.1, 0.5))
            ref = f"sha256:{member:032x}{k:032x}"
            records.append(ReadyRecord(member, generation, k * interval, score, ref, params))
        start = step - interval * int(rng.integers(0, 3))
        snapshots.append(
            MemberSnapshot(member, generation, params, MemberState.RUNNING, step, start, step)
        )
    snapshot = PopulationSnapshot.build(snapshots, records)
    base = max((r for r in records if r.step == step), key=lambda r: r.score)
    return ExploreContext(snapshot, 0, step, interval, bool(seed % 2), base)


def _start(space: SearchSpace, seed: int) -> dict[str, Any]:
    """Params drawn from the prior, or all at their lower or all at their upper bounds."""
    rng = np.random.default_rng(seed)
    if seed % 3 == 0:
        return space.sample(rng)
    return {name: _bound(space[name], seed % 3 == 1, rng) for name in space.names}


def _bound(dimension: BaseDimension[Any], low: bool, rng: np.random.Generator) -> Any:
    """The lowest (or highest) value of ``dimension``, its first (or last) choice; a value drawn
    from the prior for a dimension type of one's own."""
    if isinstance(dimension, (Uniform, LogUniform, IntUniform)):
        return dimension.low if low else dimension.high
    if isinstance(dimension, Choice):
        return dimension.values[0 if low else -1]
    return dimension.value if isinstance(dimension, Fixed) else dimension.sample(rng)
