"""The plotly JSON of every view, built from real stored populations: traces, hover texts,
highlights, frames, and the sizes and times the dashboard serves at 64 members."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest

import populace as pop
from populace.analysis import PopulationView
from populace.analysis._plotly import curves_figure, lineage_figure, params_figure, schedule_figure
from populace.analysis._plotly._common import BEST
from populace.analysis._views import curves_info, lineage_info, params_info
from tests.analysis.conftest import SPACE, exploits
from tests.runtime.test_fire import fire_run
from tests.runtime.workloads import fragile

FIGURES = [curves_figure, lineage_figure, schedule_figure, params_figure]


@pytest.fixture(scope="module")
def view(population: pop.Population) -> PopulationView:
    return PopulationView.read(population)


def named(figure: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [t for t in figure["data"] if t.get("name") == name]


def pieces(trace: dict[str, Any]) -> list[list[Any]]:
    """The polylines of a trace whose lines are broken by None."""
    runs = itertools.groupby(zip(trace["x"], trace["y"], strict=True), lambda p: p[0] is None)
    return [list(points) for gap, points in runs if not gap]


def test_curves_have_one_legend_entry_per_member_and_the_best_in_red(
    population: pop.Population, view: PopulationView
) -> None:
    figure = curves_figure(view)
    lines = [t for t in figure["data"] if t["mode"] == "lines"]
    assert all(t["type"] == "scatter" for t in figure["data"])  # the dashboard's bundle draws it
    assert len(lines) == len(figure["data"]) / 2 == population.size
    assert [t.get("showlegend", True) for t in figure["data"]].count(True) == population.size
    best = population.best.id
    (red,) = [t for t in lines if t["line"]["color"] == BEST]
    assert red["name"] == f"member {best} (best)" and red is lines[-1]
    assert red["line"]["width"] > max(t["line"]["width"] for t in lines[:-1])
    assert red["y"][-1] == population.best.score
    assert f"best member {best}" in figure["layout"]["title"]["text"]


def test_curve_markers_sit_where_the_stored_exploits_happened(
    population: pop.Population, view: PopulationView
) -> None:
    figure = curves_figure(view)
    stored = {(d.member, d.decision.parent, d.decision.parent_step) for d in exploits(population)}
    markers = [t for t in figure["data"] if t["mode"] == "markers"]
    texts = [text for t in markers for text in t["hovertext"]]
    assert texts
    for text in texts:
        words = text.split("<br>")[0].split()  # member 5 copied member 2 at step 400
        assert (int(words[1]), int(words[4]), int(words[7])) in stored
        assert "lr = " in text and "optimizer = " in text and "seed = 7" in text
    forks = {c.member: len(c.forks) for c in curves_info(view).curves}
    assert [len(t["x"]) for t in markers] == [forks[int(t["legendgroup"])] for t in markers]


def test_a_metric_curve_is_labelled_with_its_name(view: PopulationView) -> None:
    figure = curves_figure(view, "loss")
    assert figure["layout"]["yaxis"]["title"]["text"] == "loss"
    assert figure["layout"]["title"]["text"].startswith("loss of 'climb_with_loss'")
    assert "loss %{y" in figure["data"][0]["hovertemplate"]


def test_lineage_draws_every_generation_and_every_exploit_unless_collapsed(
    population: pop.Population, view: PopulationView
) -> None:
    full = lineage_figure(view, collapse=False)
    generations = pieces(named(full, "generation")[0])
    assert len(generations) == len(population.lineage())
    brackets = [b for t in named(full, "exploit") for b in pieces(t)]
    assert len(brackets) == len(exploits(population))
    collapsed = lineage_figure(view)
    alive = [k for k in lineage_info(view).links if k.alive]
    assert sum(len(pieces(t)) for t in named(collapsed, "exploit")) == len(alive) < len(brackets)
    assert len(pieces(named(collapsed, "no descendant")[0])) > 0
    assert "no descendant" in collapsed["layout"]["title"]["text"]


def test_lineage_highlights_the_ancestry_of_the_best_or_a_chosen_member(
    population: pop.Population, view: PopulationView
) -> None:
    figure = lineage_figure(view)
    rows = figure["layout"]["yaxis"]["ticktext"]
    schedule = population.best.schedule
    (halo,) = named(figure, "ancestry")
    assert [(p[0][0], rows[p[0][1]]) for p in pieces(halo)] == [
        (e.step, str(e.member)) for e in schedule
    ]
    red = [t for t in named(figure, "exploit") if t["line"]["color"] == BEST]
    copies = [b for a, b in itertools.pairwise(schedule) if a.member != b.member]
    assert len(pieces(red[0])) == len(copies)
    other = max(population.members(), key=lambda m: m.generation).id
    chosen = lineage_figure(view, member=other)
    assert f"member {other}" in chosen["layout"]["title"]["text"]
    assert len(pieces(named(chosen, "ancestry")[0])) == len(population.schedule(other))


def test_lineage_hover_shows_params_and_scores_and_nothing_leaves_the_axes(
    view: PopulationView,
) -> None:
    figure = lineage_figure(view, collapse=False)
    ends = [t for t in figure["data"] if t["name"] == "generation ends"]
    texts = [text for t in ends for text in t["hovertext"]]
    assert all("lr = " in t and "generation" in t for t in texts)
    assert any("last score" in t for t in texts)
    last = max(s.end for s in lineage_info(view).spans)
    rows = len(figure["layout"]["yaxis"]["ticktext"])
    for trace in figure["data"]:
        assert all(0 <= x <= last for x in trace["x"] if x is not None)
        assert all(0 <= y <= rows - 1 for y in trace["y"] if y is not None)


def test_schedule_has_a_subplot_per_dimension_and_the_score(
    population: pop.Population, view: PopulationView
) -> None:
    figure = schedule_figure(view)
    layout = figure["layout"]
    axes = [layout[f"yaxis{i}"] for i in (2, 3, 4)] + [layout["yaxis"]]
    assert [a["title"]["text"] for a in axes] == ["lr", "decay", "optimizer", "score"]
    assert [a.get("type") for a in axes] == ["log", "linear", None, None]
    assert axes[2]["ticktext"] == ["sgd", "adam", "True"]
    bold = [t for t in figure["data"] if t["line"]["color"] == BEST]
    assert [t.get("yaxis", "y") for t in bold] == ["y2", "y3", "y4", "y"]
    schedule = population.best.schedule
    assert bold[0]["x"][:-1] == [e.step for e in schedule]
    assert bold[0]["y"][:-1] == [e.params["lr"] for e in schedule]
    choices = list(SPACE["optimizer"].values)
    assert bold[2]["y"][:-1] == [choices.index(e.params["optimizer"]) for e in schedule]
    faint = [t for t in figure["data"] if t["name"] == "members" and t.get("yaxis") == "y4"]
    assert all(abs(y - round(y)) <= 0.25 for y in faint[0]["y"] if y is not None)


def test_params_frames_slider_and_play_button(
    population: pop.Population, view: PopulationView
) -> None:
    figure = params_figure(view)
    frames = figure["frames"]
    assert len(frames) == len(params_info(view).frames) <= 40
    (slider,) = figure["layout"]["sliders"]
    assert [s["args"][0] for s in slider["steps"]] == [[f["name"]] for f in frames]
    assert len({f["name"] for f in frames}) == len(frames)
    (buttons,) = figure["layout"]["updatemenus"]
    assert [b["method"] for b in buttons["buttons"]] == ["animate", "animate"]
    final = frames[-1]["data"][0]
    assert final["ids"] == [str(m.id) for m in population.members()]
    assert final["y"] == [m.score for m in population.members()]
    assert all("lr = " in t and "score" in t for t in final["hovertext"])
    assert figure["data"] == frames[0]["data"]
    assert figure["layout"]["xaxis"]["type"] == "log"
    against = params_figure(view, x="optimizer", y="decay")
    assert against["layout"]["xaxis"]["ticktext"] == ["sgd", "adam", "True"]
    assert against["layout"]["yaxis"]["title"]["text"] == "decay"


def test_a_population_without_results_gives_valid_empty_figures(empty: pop.Population) -> None:
    view = PopulationView.read(empty)
    for build in FIGURES:
        figure = build(view)
        assert figure["data"] == []
        assert figure["layout"]["title"]["text"].endswith("no results yet")


def test_a_failed_member_is_named_and_dotted(tmp_path: Any) -> None:
    broken = pop.run(
        fragile,
        SPACE,
        population=4,
        budget=20,
        interval=5,
        name="at-9",
        storage=f"sqlite:///{tmp_path / 'runs.db'}",
        retries=0,
        progress=False,
    )
    figure = curves_figure(PopulationView.read(broken))
    (failed,) = [t for t in figure["data"] if t["name"].endswith("failed")]
    assert failed["name"] == "member 0 failed" and failed["line"]["dash"] == "dot"
    assert failed["x"][-1] < 20


def test_fire_views_leave_the_evaluators_out_of_curves(tmp_path: Any) -> None:
    view = PopulationView.read(fire_run(f"sqlite:///{tmp_path / 'runs.db'}"))
    names = [t["name"] for t in curves_figure(view)["data"] if t["mode"] == "lines"]
    assert len(names) == 8 and not any("eval" in n for n in names)
    assert lineage_figure(view)["layout"]["yaxis"]["ticktext"][-2:] == ["8 eval", "9 eval"]
    for build in FIGURES:
        json.dumps(build(view), allow_nan=False)


def test_64_members_build_fast_and_stay_small(large: pop.Population) -> None:
    rows = PopulationView.read(large)
    for build in FIGURES:
        view = PopulationView(
            rows.name,
            rows.maximize,
            rows.space,
            rows.fire,
            rows.members,
            rows.segments,
            rows.results,
            rows.decisions,
        )
        start = time.perf_counter()
        figure = build(view)
        elapsed = time.perf_counter() - start
        text = json.dumps(figure, allow_nan=False)
        assert elapsed < 1.0, f"{build.__name__} took {elapsed:.2f} s"
        assert len(text) < 2_000_000, f"{build.__name__} is {len(text)} bytes"
    lineage = lineage_figure(rows)
    assert len(lineage["layout"]["yaxis"]["ticktext"]) == 64
    assert lineage["layout"]["height"] >= 64 * 15
    assert len(curves_figure(rows)["data"]) == 128
