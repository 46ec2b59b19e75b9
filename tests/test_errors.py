"""The error classes: every one is a PopulaceError, and still the built-in type it replaced."""

from __future__ import annotations

import pytest

from populace import errors
from populace.errors import (
    ConfigurationError,
    DimensionTypeError,
    MemberNotFoundError,
    MissingDependencyError,
    PopulaceError,
    SearchSpaceError,
)


@pytest.mark.parametrize("name", errors.__all__)
def test_every_exported_error_is_a_populace_error(name: str) -> None:
    assert issubclass(getattr(errors, name), PopulaceError)


@pytest.mark.parametrize(
    ("error", "builtins"),
    [
        (ConfigurationError, (ValueError,)),
        (SearchSpaceError, (ValueError,)),
        (DimensionTypeError, (SearchSpaceError, ValueError, TypeError)),
        (MissingDependencyError, (ImportError,)),
        (MemberNotFoundError, (KeyError, LookupError)),
    ],
)
def test_errors_stay_the_built_in_types_callers_catch(
    error: type[PopulaceError], builtins: tuple[type[Exception], ...]
) -> None:
    for builtin in builtins:
        with pytest.raises(builtin):
            raise error("message")


def test_member_not_found_reads_as_a_sentence_not_a_key() -> None:
    assert str(MemberNotFoundError("member 9 is not in the snapshot")) == (
        "member 9 is not in the snapshot"
    )
    assert str(KeyError("member 9")) == "'member 9'"  # what plain KeyError would show
