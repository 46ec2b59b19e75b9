"""The info layer of the views, read from real stored populations: curves, lineage, schedules,
params frames, and the view itself."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

import populace as pop
from populace.analysis import PopulationView
from populace.analysis._views import (
    curves_info,
    lineage_info,
    metric_names,
    params_info,
    schedule_info,
)
from populace.errors import ConfigurationError
from tests.analysis.conftest import exploits
from tests.runtime.test_fire import fire_run


@pytest.fixture(scope="module")
def view(population: pop.Population) -> PopulationView:
    return PopulationView.read(population)


@pytest.fixture(scope="module")
def fire(tmp_path_factory: pytest.TempPathFactory) -> pop.Population:
    """FIRE PBT: members 0-3 in P1, 4-7 in P2, evaluators 8 and 9."""
    return fire_run(f"sqlite:///{tmp_path_factory.mktemp('fire') / 'runs.db'}")


def test_a_view_holds_the_stored_rows_and_can_be_built_from_them(
    population: pop.Population, view: PopulationView
) -> None:
    assert view.results == population.results()
    assert view.segments == population.lineage()
    assert view.decisions == population.decisions()
    assert [m.id for m in view.members] == [m.id for m in population.members()]
    rows = {f.name: getattr(view, f.name) for f in dataclasses.fields(PopulationView)}
    built = PopulationView(**rows)
    assert built.best == view.best == population.best.id
    assert curves_info(built) == curves_info(view)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.name = "other"  # type: ignore[misc]


def test_best_follows_the_population_rule_under_fire(fire: pop.Population) -> None:
    view = PopulationView.read(fire)
    assert view.best == fire.best.id and view.label(view.best).endswith(" P1")
    assert view.population == list(range(8))
    assert [view.label(m) for m in (0, 4, 8)] == ["0 P1", "4 P2", "8 eval"]


def test_every_member_has_a_stitched_curve_ending_at_its_latest_score(
    population: pop.Population, view: PopulationView
) -> None:
    info = curves_info(view)
    assert [c.member for c in info.curves] == [m.id for m in population.members()]
    for curve, member in zip(info.curves, population.members(), strict=True):
        assert curve.points[-1].value == member.score
        assert curve.points[-1].step == member.step
        steps = [p.step for p in curve.points]
        assert steps == sorted(steps) and steps[0] == 1


def test_forks_are_the_stored_exploits_on_each_curve(
    population: pop.Population, view: PopulationView
) -> None:
    stored = {(d.member, d.decision.parent, d.decision.parent_step) for d in exploits(population)}
    info = curves_info(view)
    forks = {(f.member, f.parent, f.step) for c in info.curves for f in c.forks}
    assert forks and forks <= stored
    (best,) = [c for c in info.curves if c.member == population.best.id]
    schedule = population.best.schedule
    assert [(f.member, f.step) for f in best.forks] == [(e.member, e.step) for e in schedule[1:]]
    assert [f.params for f in best.forks] == [e.params for e in schedule[1:]]
    assert all(f.value in [p.value for p in best.points] for f in best.forks)


def test_a_metric_curve_and_the_metric_names(view: PopulationView) -> None:
    assert metric_names(view) == ["loss"]
    info = curves_info(view, "loss")
    assert info.metric == "loss"
    for curve in info.curves:
        assert curve.points[0].step == 3
        assert all(p.value >= 0 for p in curve.points)
    with pytest.raises(ConfigurationError, match=r"no metric 'accuracy'; it has \['loss'\]"):
        curves_info(view, "accuracy")


def test_lineage_spans_links_and_the_path_of_the_best_model(
    population: pop.Population, view: PopulationView
) -> None:
    info = lineage_info(view)
    assert len(info.spans) == len(population.lineage())
    assert len(info.links) == len(exploits(population))
    current = {(m.id, m.generation) for m in population.members()}
    alive = {(s.member, s.generation) for s in info.spans if s.alive}
    assert current <= alive
    assert any(not s.alive for s in info.spans), "PBT drops some branches"
    schedule = population.best.schedule
    assert [(s.member, s.start) for s in info.path] == [(e.member, e.step) for e in schedule]
    assert info.path[-1].end == population.best.step
    forks = [(b.member, b.step) for a, b in itertools.pairwise(schedule) if a.member != b.member]
    assert [(k.member, k.step) for k in info.links if k.highlighted] == forks


def test_schedule_info_of_the_best_and_of_a_chosen_member(
    population: pop.Population, view: PopulationView
) -> None:
    info = schedule_info(view)
    assert [a.name for a in info.axes] == ["lr", "decay", "optimizer"]
    assert [a.scale for a in info.axes] == ["log", "linear", "category"]
    assert info.axes[2].categories == ("sgd", "adam", True)
    assert [(s.start, s.params) for s in info.schedule] == [
        (e.step, e.params) for e in population.best.schedule
    ]
    assert sorted(info.lanes) == [m.id for m in population.members()]
    other = schedule_info(view, member=0, params=["seed"])
    assert other.member == 0 and [a.name for a in other.axes] == ["seed"]
    with pytest.raises(ConfigurationError, match="no member 99"):
        schedule_info(view, member=99)
    with pytest.raises(ConfigurationError, match=r"unknown params \['momentum'\]"):
        schedule_info(view, params=["momentum"])


def test_params_frames_move_from_the_initial_points_to_the_final_ones(
    population: pop.Population, view: PopulationView
) -> None:
    info = params_info(view)
    assert info.x.name == "lr" and info.y is None
    steps = [f.step for f in info.frames]
    assert steps == sorted(set(steps)) and steps[-1] == 40 and 1 < len(steps) <= 40
    assert {p.generation for p in info.frames[0].positions} == {0}
    final = {p.member: (p.score, dict(p.params)) for p in info.frames[-1].positions}
    assert final == {m.id: (m.score, m.params) for m in population.members()}
    assert len(params_info(view, frames=5).frames) == 5
    assert params_info(view, x="optimizer", y="decay").y.name == "decay"
    with pytest.raises(ConfigurationError, match=r"unknown params \['momentum'\]"):
        params_info(view, x="momentum")


def test_fire_evaluators_are_rows_of_the_lineage_but_not_curves_or_frames(
    fire: pop.Population,
) -> None:
    view = PopulationView.read(fire)
    assert [c.member for c in curves_info(view).curves] == list(range(8))
    lineage = lineage_info(view)
    assert lineage.rows == list(range(10)) and lineage.labels[-1] == "9 eval"
    assert all(not (s.member >= 8 and s.generation == 0) for s in lineage.spans)
    assert {p.member for f in params_info(view).frames for p in f.positions} <= set(range(8))
    assert set(schedule_info(view).lanes) == set(range(8))


def test_a_population_without_results_has_empty_views(empty: pop.Population) -> None:
    view = PopulationView.read(empty)
    assert view.best is None
    assert all(not c.points for c in curves_info(view).curves)
    assert params_info(view).frames == []
    assert lineage_info(view).path == [] and schedule_info(view).schedule == []
    assert view.failed == frozenset(range(3))
