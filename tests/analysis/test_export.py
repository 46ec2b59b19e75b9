"""Tables of a population as rows, pandas frames, CSV and JSON: what they refuse.

Run with ``.venv/bin/python -m pytest tests/analysis -q``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import populace as pop
from populace.analysis._export import table_rows, to_pandas
from populace.errors import ConfigurationError, MissingDependencyError, PopulaceError


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        member.report(step, member.params["x"] * step, checkpoint={"step": step})


@pytest.fixture(scope="module")
def population() -> pop.Population:
    return pop.run(
        _train,
        pop.SearchSpace(x=pop.Uniform(0.0, 1.0)),
        population=2,
        budget=4,
        interval=2,
        storage="memory",
        progress=False,
    )


def test_an_unknown_table_is_a_configuration_error_naming_it(population: pop.Population) -> None:
    for call in (table_rows, to_pandas):
        with pytest.raises(ConfigurationError, match="unknown table 'scores'; choose from") as info:
            call(population, "scores")
        assert isinstance(info.value, ValueError)


def test_an_unknown_format_is_a_configuration_error_naming_it(
    population: pop.Population, tmp_path: Path
) -> None:
    expected = "format must be 'csv', 'json' or 'tensorboard', got 'xml'"
    with pytest.raises(ConfigurationError, match=expected) as info:
        population.export(str(tmp_path / "out"), "xml")
    assert isinstance(info.value, ValueError)
    assert not (tmp_path / "out").exists()


def test_to_pandas_without_pandas_names_the_extra(
    population: pop.Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'populace\[analysis\]'") as info:
        to_pandas(population)
    assert isinstance(info.value, PopulaceError) and isinstance(info.value, ImportError)
    assert info.value.name == "pandas"


def _scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = EventAccumulator(str(folder))
    runs.Reload()
    return [(e.step, e.value) for e in runs.Scalars(tag)]


def test_tensorboard_export_writes_each_member_s_stitched_curve(
    population: pop.Population, tmp_path: Path
) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard export needs 'populace[tensorboard]'")
    from populace.analysis._stitched import group_results, stitched_curve

    folders = population.export(str(tmp_path), "tensorboard")
    assert folders == [tmp_path / population.name / f"member-{m}" for m in (0, 1)]
    grouped = group_results(population.results())
    for member, folder in enumerate(folders):
        curve = stitched_curve(population.lineage(), grouped, member)
        assert curve and _scalars(folder, "score") == [
            (p.step, pytest.approx(p.value, rel=1e-6)) for p in curve
        ]


def test_tensorboard_export_from_the_command_line_prints_the_run_folders(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard export needs 'populace[tensorboard]'")
    from click.testing import CliRunner

    from populace.cli import cli

    stored = pop.run(
        _train,
        pop.SearchSpace(x=pop.Uniform(0.0, 1.0)),
        population=2,
        budget=4,
        interval=2,
        storage=f"sqlite:///{tmp_path / 'runs.db'}",
        name="exported",
        progress=False,
    )
    url, out = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "tb"
    args = ["export", "--storage", url, "exported", "--format", "tensorboard", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / "exported" / f"member-{m}") for m in (0, 1)]
    best = stored.best
    assert _scalars(out / "exported" / f"member-{best.id}", "score")[-1][1] == pytest.approx(
        best.score, rel=1e-6
    )


def test_tensorboard_export_without_tensorboard_names_the_extra(
    population: pop.Population, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(MissingDependencyError, match=r"populace\[tensorboard\]"):
        population.export(str(tmp_path / "tb"), "tensorboard")
    assert not (tmp_path / "tb").exists()


def test_extra_metrics_get_a_column_each_blank_where_not_reported(tmp_path: Path) -> None:
    def train(member: pop.Member) -> None:
        for step in range(member.step + 1, member.budget + 1):
            metrics = {"loss": 1.0 / step} if step % 2 == 0 else {}
            member.report(step, float(step), checkpoint={"step": step}, metrics=metrics)

    population = pop.run(
        train, pop.SearchSpace(x=pop.Uniform(0.0, 1.0)), population=2, budget=4, interval=2,
        storage="memory", progress=False,
    )  # fmt: skip
    frame = population.to_pandas("results")
    assert "metrics" not in frame.columns
    even = frame["step"] % 2 == 0
    assert (frame.loc[even, "metric_loss"] == 1.0 / frame.loc[even, "step"]).all()
    assert frame.loc[~even, "metric_loss"].isna().all()
    assert list(population.to_pandas("members")["metric_loss"]) == [0.25, 0.25]
    (results,) = [p for p in population.export(str(tmp_path)) if p.name.endswith("results.csv")]
    header, *rows = [line.split(",") for line in results.read_text().splitlines()]
    column = header.index("metric_loss")
    assert [row[column] for row in rows if row[header.index("step")] == "1"] == ["", ""]
