"""Optional dependencies: a missing one is a PopulaceError that is also an ImportError."""

from __future__ import annotations

import pytest

from populace._imports import require
from populace.errors import MissingDependencyError, PopulaceError


def test_require_returns_the_module() -> None:
    assert require("json", "none").dumps([1]) == "[1]"


def test_a_missing_module_names_itself_and_the_extra() -> None:
    with pytest.raises(MissingDependencyError) as info:
        require("populace_no_such_package", "remote")
    error = info.value
    assert isinstance(error, PopulaceError) and isinstance(error, ImportError)
    assert error.name == "populace_no_such_package"
    assert str(error) == (
        "populace_no_such_package is needed for this; "
        "install it with: pip install 'populace[remote]'"
    )
    assert isinstance(error.__cause__, ModuleNotFoundError)
