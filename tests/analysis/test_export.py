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
    expected = "format must be 'csv' or 'json', got 'xml'"
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
