"""PB2: the space as numbers, the time-varying GP, and choices that follow the improvements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import populace as pop
from populace.controller import (
    ExploreContext,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    ReadyRecord,
)
from populace.controller.explore._encoding import SpaceEncoding
from populace.controller.explore._gp import TimeVaryingGP

MIXED = pop.SearchSpace(
    lr=pop.LogUniform(1e-4, 1.0),
    momentum=pop.Uniform(0.0, 0.9),
    layers=pop.IntUniform(1, 9),
    batch=pop.Choice([16, 32, 64], ordered=True),
    optimizer=pop.Choice(["sgd", "adam", "rms"]),
    seed=pop.Fixed(3),
)


def test_the_encoding_maps_each_dimension_to_its_scale_and_back() -> None:
    encoding = SpaceEncoding.of(MIXED)
    assert encoding.numeric == ("lr", "momentum", "layers", "batch")
    assert encoding.categorical == ("optimizer",) and encoding.width == 4 + 3
    params = {"lr": 1e-2, "momentum": 0.45, "layers": 5, "batch": 64, "optimizer": "rms", "seed": 3}
    point = encoding.encode(params)
    assert np.allclose(point, [0.5, 0.5, 0.5, 1.0, 0.0, 0.0, 1.0])  # lr in log scale
    decoded = encoding.decode(point[:4], {"optimizer": 2}, params)
    assert decoded == {**params, "lr": pytest.approx(1e-2)}
    rounded = encoding.decode(np.array([0.0, 1.0, 0.56, 0.3]), {"optimizer": 0}, params)
    assert rounded["layers"] == 5 and rounded["batch"] == 32 and rounded["optimizer"] == "sgd"
    assert rounded["lr"] == pytest.approx(1e-4) and rounded["momentum"] == pytest.approx(0.9)


def test_a_space_with_nothing_to_model_is_refused_before_anything_is_stored(
    tmp_path: Path,
) -> None:
    database = tmp_path / "runs.db"
    with pytest.raises(pop.ConfigurationError, match="nothing to model"):
        pop.run(
            lambda member: None,
            pop.SearchSpace(seed=pop.Fixed(1)),
            budget=8,
            interval=4,
            storage=f"sqlite:///{database}",
            explore=pop.PB2Explore(),
        )
    assert not database.exists()
    with pytest.raises(pop.ConfigurationError, match="window must be an integer >= 1"):
        pop.PB2Explore(window=0)
    with pytest.raises(pop.ConfigurationError, match="c1 must be a number > 0"):
        pop.PB2Explore(c1=-1.0)


def test_the_gp_fits_its_data_and_is_uncertain_away_from_it() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((40, 2))
    y = np.sin(3 * x[:, 0]) - x[:, 1]
    y = (y - y.mean()) / y.std()
    t = np.zeros(40)
    gp = TimeVaryingGP.fit(t, x, y)
    assert np.corrcoef(gp.mean(t, x), y)[0, 1] > 0.95
    near, far = gp.variance(t[:1], x[:1]), gp.variance(t[:1], np.array([[5.0, 5.0]]))
    assert near[0] < 0.1 and far[0] > 0.9
    pending = gp.with_points(np.zeros(1), np.array([[5.0, 5.0]]))
    assert pending.variance(t[:1], np.array([[5.0, 5.0]]))[0] < 0.1


def test_old_observations_fade() -> None:
    x = np.zeros((20, 1))
    t = np.repeat([0.0, 10.0], 10)  # the same point, first good, then bad
    y = np.repeat([1.0, -1.0], 10)
    gp = TimeVaryingGP.fit(t, x, y)
    assert gp.mean(np.array([10.0]), np.zeros((1, 1)))[0] < -0.5


def _context(space: pop.SearchSpace, improvement, seed: int, members: int = 6) -> ExploreContext:
    """Eight intervals of ``members`` members with random params, each improving by
    ``improvement(params)`` per interval."""
    rng = np.random.default_rng(seed)
    records, snapshots = [], []
    for member in range(members):
        params, score = space.sample(rng), 0.0
        for k in range(1, 9):
            score += improvement(params) + float(rng.normal(0, 0.01))
            records.append(ReadyRecord(member, 0, 4 * k, score, f"sha256:{member}{k}", params))
        snapshots.append(MemberSnapshot(member, 0, params, MemberState.RUNNING, 32, 0, 32))
    base = max((r for r in records if r.step == 32), key=lambda r: r.score)
    return ExploreContext(PopulationSnapshot.build(snapshots, records), 0, 32, 4, True, base)


def test_pb2_takes_the_params_that_improved_most() -> None:
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0), noise=pop.Uniform(0.0, 1.0))
    explore = pop.PB2Explore()
    chosen = [
        explore.explore_in(
            {"lr": 0.5, "noise": 0.5},
            space,
            np.random.default_rng(seed),
            _context(space, lambda p: p["lr"], seed),
        )["lr"]
        for seed in range(20)
    ]
    assert np.median(chosen) > 0.75  # random search would give 0.5


def test_pb2_mix_picks_the_category_that_improved_most() -> None:
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0), optimizer=pop.Choice(["sgd", "adam", "rms"]))
    gains = {"sgd": 0.0, "adam": 1.0, "rms": -1.0}
    explore = pop.PB2Explore()
    chosen = [
        explore.explore_in(
            {"lr": 0.5, "optimizer": "sgd"},
            space,
            np.random.default_rng(seed),
            _context(space, lambda p: gains[p["optimizer"]], seed, members=8),
        )["optimizer"]
        for seed in range(30)
    ]
    assert chosen.count("adam") > chosen.count("sgd") > chosen.count("rms")


def test_too_little_history_explores_as_pbt_does() -> None:
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    context = _context(space, lambda p: p["lr"], 0, members=1)
    explore = pop.PB2Explore(min_rows=20)  # one member gives 7 intervals
    out = explore.explore_in({"lr": 0.5}, space, np.random.default_rng(3), context)
    pbt = pop.PerturbOrResampleExplore().explore({"lr": 0.5}, space, np.random.default_rng(3))
    assert out == pbt


def _climb(member: pop.Member) -> None:
    x = member.checkpoint.load()["x"] if member.checkpoint else 0.0
    gain = {"sgd": 0.5, "adam": 1.0, "rms": 0.2}[member.params["optimizer"]]
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"] * gain * np.sign(1.0 - x)
        member.report(step, -abs(1.0 - x), checkpoint={"x": x})


def test_a_run_with_pb2_on_a_mixed_space_is_seeded_and_stays_in_bounds(tmp_path: Path) -> None:
    space = pop.SearchSpace(
        lr=pop.LogUniform(1e-3, 0.2), optimizer=pop.Choice(["sgd", "adam", "rms"])
    )
    settings = dict(population=4, budget=40, interval=4, seed=5, progress=False)
    runs = [
        pop.run(
            _climb,
            space,
            storage=f"sqlite:///{tmp_path / f'{i}.db'}",
            explore=pop.PB2Explore(),
            **settings,
        )
        for i in range(2)
    ]
    decisions = [[(d.member, d.step, d.decision) for d in r.decisions()] for r in runs]
    assert decisions[0] == decisions[1]
    explored = [d.decision.params for d in runs[0].decisions() if d.decision.kind == "exploit"]
    assert explored, "no member copied another"
    for params in explored:
        assert space.validate(params) == params
    assert all(m.state == "finished" and m.step == 40 for m in runs[0].members())
