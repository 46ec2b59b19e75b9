"""Runs the docstring examples of ``populace`` as doctests, beside the tests.

``--doctest-modules`` (pyproject.toml) imports every module of the package. A module whose
examples need an optional package that is not installed is left out, and the report header says
so; any other import error fails the run. Each example runs in a fresh temporary working
directory, so the folders and databases it writes vanish with it.
"""

from __future__ import annotations

import importlib.util

import pytest
from _pytest.doctest import DoctestItem

# Module or package (relative to this folder) -> the optional package its examples need.
NEEDS = {
    "populace/torch": "torch",
    "populace/lightning": "lightning",
    "populace/transformers": "transformers",
    "populace/checkpoints/_fsspec.py": "fsspec",
    "populace/checkpoints/_open.py": "fsspec",
    "populace/executors/_ray.py": "ray",
    "populace/trackers/_tensorboard.py": "tensorboard",
    "populace/dashboard": "starlette",
    "populace/runtime/_batch.py": "torch",
}

_MISSING = {path: need for path, need in NEEDS.items() if importlib.util.find_spec(need) is None}
collect_ignore = list(_MISSING)


def pytest_report_header() -> list[str]:
    return [f"doctests left out: {path} (needs {need})" for path, need in _MISSING.items()]


@pytest.fixture(autouse=True)
def _doctest_in_temporary_folder(request: pytest.FixtureRequest) -> None:
    if isinstance(request.node, DoctestItem):
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
