"""The public interactive plots: plotly Figures, self-contained HTML files, clear errors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest

import populace as pop
from populace.analysis import (
    PopulationView,
    plot_curves,
    plot_lineage,
    plot_params,
    plot_schedule,
)
from populace.errors import ConfigurationError, MissingDependencyError

PLOTS = [plot_curves, plot_lineage, plot_schedule, plot_params]


@pytest.mark.parametrize("plot", PLOTS, ids=lambda p: p.__name__)
def test_each_plot_writes_one_self_contained_html_file(
    plot: object, population: pop.Population, tmp_path: Path
) -> None:
    path = tmp_path / "view.html"
    figure = plot(population, path)  # type: ignore[operator]
    assert isinstance(figure, go.Figure) and figure.data
    html = path.read_text()
    assert len(html) > 3_000_000, "plotly.js is inlined"
    assert "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]*\bsrc=[\"']?(https?:)?//", html, re.IGNORECASE)
    assert repr(population.name) in figure.layout.title.text


def test_population_methods_give_the_interactive_figures(
    population: pop.Population, tmp_path: Path
) -> None:
    assert population.plot_curves(metric="loss").layout.yaxis.title.text == "loss"
    assert population.plot_lineage(collapse=False).layout.yaxis.ticktext == tuple(
        str(m.id) for m in population.members()
    )
    schedule = population.plot_schedule(member=0, params=["decay"])
    assert [t.yaxis for t in schedule.data][:2] == ["y2", "y2"]
    animated = population.plot_params(str(tmp_path / "params.html"), x="decay")
    assert animated.frames and animated.layout.xaxis.title.text == "decay"
    assert (tmp_path / "params.html").stat().st_size > 3_000_000


def test_a_view_can_be_plotted_directly(population: pop.Population) -> None:
    view = PopulationView.read(population)
    assert plot_curves(view).to_dict()["data"] == plot_curves(population).to_dict()["data"]


@pytest.mark.parametrize("plot", PLOTS, ids=lambda p: p.__name__)
def test_a_path_that_is_not_html_points_to_the_matplotlib_twin(
    plot: object, population: pop.Population, tmp_path: Path
) -> None:
    kind = plot.__name__.removeprefix("plot_")  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match=r"ending in \.html") as info:
        plot(population, tmp_path / "view.png")  # type: ignore[operator]
    assert f"populace.analysis.matplotlib.plot_{kind} for a PNG" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not list(tmp_path.iterdir())


def test_bad_options_are_configuration_errors(population: pop.Population) -> None:
    with pytest.raises(ConfigurationError, match="no member 99"):
        plot_lineage(population, member=99)
    with pytest.raises(ConfigurationError, match="no metric 'accuracy'"):
        plot_curves(population, metric="accuracy")
    with pytest.raises(ConfigurationError, match=r"unknown params \['momentum'\]"):
        plot_params(population, x="momentum")


def test_missing_plotly_names_the_extra(
    population: pop.Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'populace\[analysis\]'") as info:
        plot_curves(population)
    assert isinstance(info.value, ImportError) and info.value.name == "plotly.graph_objects"
