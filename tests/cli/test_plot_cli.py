"""``populace plot`` for real: a subprocess reading a SQLite file that ``pop.run`` trained."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import populace as pop
from populace.cli._common import CommandError
from populace.cli._plot import write_plots
from tests.cli.test_cli import ok, populace
from tests.runtime.workloads import SPACE, climb

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Population ``climb`` (4 members, exploits included) in a SQLite file."""
    folder = tmp_path_factory.mktemp("plot-cli")
    storage = f"sqlite:///{folder / 'runs.db'}"
    trained = pop.run(
        climb, SPACE, population=4, budget=20, interval=5, storage=storage, progress=False
    )
    assert any(d.decision.kind == "exploit" for d in trained.decisions())
    return storage


def test_plot_writes_every_png_and_prints_their_paths(url: str, tmp_path: Path) -> None:
    out = ok(populace("plot", "--storage", url, "climb", "--out", "plots", cwd=tmp_path))
    expected = [Path(f"plots/climb-{kind}.png") for kind in ("curves", "lineage", "schedule")]
    assert [Path(line) for line in out.splitlines()] == expected
    for path in expected:
        assert (tmp_path / path).read_bytes().startswith(PNG)


def test_plot_html_writes_the_four_interactive_views(url: str, tmp_path: Path) -> None:
    out = ok(populace("plot", "--storage", url, "climb", "--html", "--out", "views", cwd=tmp_path))
    kinds = ("curves", "lineage", "schedule", "params")
    expected = [Path(f"views/climb-{kind}.html") for kind in kinds]
    assert [Path(line) for line in out.splitlines()] == expected
    for path in expected:
        html = (tmp_path / path).read_text()
        assert "Plotly.newPlot" in html and len(html) > 3_000_000


def test_plot_params_needs_html(url: str, tmp_path: Path) -> None:
    done = populace("plot", "--storage", url, "climb", "--kind", "params", cwd=tmp_path)
    assert done.returncode == 1
    assert "params is interactive only: add --html" in done.stderr
    assert not list(tmp_path.iterdir())
    out = ok(
        populace("plot", "--storage", url, "climb", "--kind", "params", "--html", cwd=tmp_path)
    )
    assert out.splitlines() == ["climb-params.html"]


def test_plot_is_listed_in_the_help(tmp_path: Path) -> None:
    assert "  plot " in ok(populace("--help", cwd=tmp_path))


def test_plot_one_kind(url: str, tmp_path: Path) -> None:
    out = ok(populace("plot", "--storage", url, "climb", "--kind", "lineage", cwd=tmp_path))
    assert out.splitlines() == ["climb-lineage.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["climb-lineage.png"]


def test_plot_an_unknown_population_is_an_error(url: str, tmp_path: Path) -> None:
    done = populace("plot", "--storage", url, "nope", cwd=tmp_path)
    assert done.returncode == 1
    assert "error: no population named 'nope'" in done.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("library", "html"), [("matplotlib", False), ("plotly", True)])
def test_plot_without_its_library_names_the_extra(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str, html: bool
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == library else find_spec(name)
    )
    with pytest.raises(CommandError, match=rf"need {library}: pip install 'populace\[analysis\]'"):
        write_plots(pop.load(url, "climb"), tmp_path, ["lineage"], html)
    assert not list(tmp_path.iterdir())
