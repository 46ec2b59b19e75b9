"""TARGET resolution in-process: a missing module, file or function is a PopulaceError."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from populace.cli._target import TargetNotFound, TargetType, load_target
from populace.errors import PopulaceError


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("populace_no_such_module:train", "no module named 'populace_no_such_module'"),
        ("json:no_such_function", "'json' has no function 'no_such_function'"),
        ("missing/toy.py:train", "no file 'missing/toy.py'"),
        ("json", "'json' is not module:function"),
        ("json:__doc__", "'json:__doc__' is not a function"),
    ],
)
def test_a_missing_target_is_a_populace_lookup_error_naming_it(target: str, named: str) -> None:
    with pytest.raises(TargetNotFound) as info:
        load_target(target)
    assert isinstance(info.value, PopulaceError) and isinstance(info.value, LookupError)
    assert named in str(info.value)


def test_the_target_parameter_makes_it_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(click.BadParameter, match="no file"):
        TargetType().convert(str(tmp_path / "toy.py") + ":train", None, None)
    assert TargetType().convert("json:dumps", None, None)([1]) == "[1]"
