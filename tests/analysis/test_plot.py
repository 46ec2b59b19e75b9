"""The matplotlib twins (PNG) of a real population: lineage, schedules and curves.

Run with ``.venv/bin/python -m pytest tests/analysis -q``.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

import populace as pop
from populace.analysis._stitched import group_results, stitched_curve
from populace.analysis.matplotlib import plot_curves, plot_lineage, plot_schedule
from populace.errors import ConfigurationError, MissingDependencyError
from tests.analysis.conftest import SPACE, exploits

PNG = b"\x89PNG\r\n\x1a\n"


def loss_curve(population: pop.Population) -> list:
    """The best member's stitched loss curve."""
    grouped = group_results(population.results())
    return stitched_curve(population.lineage(), grouped, population.best.id, "loss")


def by_gid(artists: list, gid: str) -> list:
    return [a for a in artists if a.get_gid() == gid]


def test_plot_lineage_writes_a_png_and_returns_the_figure(
    population: pop.Population, tmp_path: Path
) -> None:
    path = tmp_path / "lineage.png"
    figure = plot_lineage(population, path)
    assert path.read_bytes().startswith(PNG)
    assert figure.axes[0].get_xlabel() == "step"


def test_lineage_has_one_lane_per_member_and_one_line_per_generation(
    population: pop.Population,
) -> None:
    ax = plot_lineage(population).axes[0]
    assert list(ax.get_yticks()) == [m.id for m in population.members()]
    (lines,) = by_gid(ax.collections, "generations")
    segments = lines.get_segments()
    lineage = sorted(population.lineage(), key=lambda s: (s.member, s.generation))
    assert len(segments) == len(lineage)
    for line, segment in zip(segments, lineage, strict=True):
        assert line[0][0] == segment.start_step
        assert line[0][1] == line[1][1] == segment.member


def test_lineage_draws_one_arrow_per_exploit_stored(population: pop.Population) -> None:
    ax = plot_lineage(population).axes[0]
    arrows = by_gid(ax.patches, "exploit")
    assert len(arrows) == len(exploits(population)) > 0


def test_lineage_highlights_the_ancestry_of_the_best_member(population: pop.Population) -> None:
    ax = plot_lineage(population).axes[0]
    (halo,) = by_gid(ax.collections, "ancestry")
    schedule = population.best.schedule
    assert [(s[0][0], s[0][1]) for s in halo.get_segments()] == [
        (e.step, e.member) for e in schedule
    ]
    assert halo.get_segments()[-1][1][0] == population.best.step
    red = [a for a in by_gid(ax.patches, "exploit") if a.get_linewidth() > 1]
    forks = [e for prev, e in itertools.pairwise(schedule) if e.member != prev.member]
    assert len(red) == len(forks)


def test_plot_schedule_draws_each_dimension_and_the_score(
    population: pop.Population, tmp_path: Path
) -> None:
    path = tmp_path / "schedule.png"
    figure = plot_schedule(population, path)
    assert path.read_bytes().startswith(PNG)
    assert [ax.get_ylabel() for ax in figure.axes] == ["lr", "decay", "optimizer", "score"]
    assert [ax.get_yscale() for ax in figure.axes] == ["log", "linear", "linear", "linear"]
    assert [t.get_text() for t in figure.axes[2].get_yticklabels()] == ["'sgd'", "'adam'", "True"]
    for ax in figure.axes:
        assert len(by_gid(ax.lines, "member")) == population.size


def test_the_bold_line_is_the_stitched_schedule_of_the_best_member(
    population: pop.Population,
) -> None:
    figure = plot_schedule(population)
    schedule = population.best.schedule
    for ax, name in zip(figure.axes, ["lr", "decay"], strict=False):
        (line,) = by_gid(ax.lines, "schedule")
        assert list(line.get_xdata()[:-1]) == [e.step for e in schedule]
        assert line.get_xdata()[-1] == population.best.step
        assert np.allclose(line.get_ydata()[:-1], [e.params[name] for e in schedule])


def test_plot_schedule_of_a_chosen_member_and_params(population: pop.Population) -> None:
    member = max(population.members(), key=lambda m: m.generation).id
    figure = plot_schedule(population, member=member, params=["optimizer", "seed"])
    assert [ax.get_ylabel() for ax in figure.axes] == ["optimizer", "seed", "score"]
    (line,) = by_gid(figure.axes[0].lines, "schedule")
    choices = list(SPACE["optimizer"].values)
    assert list(line.get_ydata()[:-1]) == [
        choices.index(e.params["optimizer"]) for e in population.schedule(member)
    ]


def test_plot_schedule_rejects_unknown_params_and_members(population: pop.Population) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown params \['momentum'\]") as info:
        plot_schedule(population, params=["momentum"])
    assert isinstance(info.value, ValueError)
    with pytest.raises(ConfigurationError, match="no member 99") as info:
        plot_schedule(population, member=99)
    assert isinstance(info.value, ValueError)


def test_plot_curves_draws_every_member_and_its_forks(
    population: pop.Population, tmp_path: Path
) -> None:
    path = tmp_path / "curves.png"
    figure = plot_curves(population, path, metric="loss", dpi=60)
    assert path.read_bytes().startswith(PNG)
    ax = figure.axes[0]
    assert ax.get_ylabel() == "loss"
    assert len(by_gid(ax.lines, "curve")) == population.size
    best = by_gid(ax.lines, "curve")[-1]
    assert list(best.get_xdata()) == [p.step for p in loss_curve(population)]
    assert any(len(line.get_xdata()) for line in by_gid(ax.lines, "fork"))


def test_a_population_without_scores_still_plots(empty: pop.Population) -> None:
    assert plot_lineage(empty).axes[0].get_title() == "lineage of 'fail'"
    assert not by_gid(plot_schedule(empty).axes[0].lines, "schedule")


def test_missing_matplotlib_names_the_extra(
    population: pop.Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'populace\[analysis\]'") as info:
        plot_lineage(population)
    assert isinstance(info.value, ImportError) and info.value.name == "matplotlib"
