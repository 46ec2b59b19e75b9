"""A population's interactive plot shows in a real Jupyter kernel as a cell's last expression."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from _jupyter import execute, install_kernel

import populace as pop


@pytest.mark.slow
def test_plot_curves_displays_as_the_last_expression_of_a_cell(
    population: pop.Population, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_kernel(tmp_path, monkeypatch)
    url = population.storage.url
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            f"import populace as pop\npopulation = pop.load({url!r}, {population.name!r})"
        ),
        nbformat.v4.new_code_cell("population.plot_curves()"),
    ]
    execute(notebook, tmp_path)
    (output,) = notebook.cells[1].outputs
    assert output.output_type == "display_data"
    shown = output.data.get("application/vnd.plotly.v1+json") or output.data.get("text/html")
    assert shown, f"nothing to show in {sorted(output.data)}"
    assert "member" in json.dumps(shown)
