"""Tests of SearchSpace: construction, mapping behaviour, sampling, validation, JSON and diff."""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from populace.errors import SearchSpaceError
from populace.space import (
    BaseDimension,
    Choice,
    Fixed,
    IntUniform,
    LogUniform,
    SearchSpace,
    Uniform,
)


def make_space() -> SearchSpace:
    return SearchSpace(
        lr=LogUniform(1e-4, 1e-1),
        momentum=Uniform(0.0, 0.99),
        batch_size=Choice([32, 64, 128, 256], ordered=True),
        layers=IntUniform(1, 4),
        optimizer=Fixed("sgd"),
    )


# --- construction ---------------------------------------------------------------------------


def test_an_empty_space_is_refused() -> None:
    with pytest.raises(SearchSpaceError, match="at least one dimension"):
        SearchSpace()
    with pytest.raises(SearchSpaceError, match="at least one dimension"):
        SearchSpace.from_mapping({})


@pytest.mark.parametrize("value", [0.1, (1e-4, 0.1), "LogUniform", LogUniform])
def test_a_non_dimension_is_refused_naming_the_key(value: Any) -> None:
    with pytest.raises(SearchSpaceError, match=r"^lr: expected a dimension such as"):
        SearchSpace(momentum=Uniform(0, 1), lr=value)


def test_names_must_be_non_empty_strings() -> None:
    with pytest.raises(SearchSpaceError, match="non-empty strings, got ''"):
        SearchSpace.from_mapping({"": Uniform(0, 1)})
    with pytest.raises(SearchSpaceError, match="non-empty strings, got 3"):
        SearchSpace.from_mapping({3: Uniform(0, 1)})  # type: ignore[dict-item]


def test_any_string_can_name_a_parameter() -> None:
    space = SearchSpace.from_mapping({"self": Uniform(0, 1), "model.lr": LogUniform(1e-3, 1)})
    assert space.names == ("self", "model.lr")


def test_from_mapping_keeps_the_order() -> None:
    space = SearchSpace.from_mapping({"b": Uniform(0, 1), "a": Fixed(1)})
    assert space.names == ("b", "a")
    assert space == SearchSpace(b=Uniform(0, 1), a=Fixed(1))


# --- mapping behaviour ----------------------------------------------------------------------


def test_the_space_is_a_read_only_ordered_mapping() -> None:
    space = make_space()
    assert isinstance(space, Mapping)
    assert space.names == ("lr", "momentum", "batch_size", "layers", "optimizer")
    assert list(space) == list(space.names)
    assert len(space) == 5
    assert space["layers"] == IntUniform(1, 4)
    assert list(space.items())[:1] == [("lr", LogUniform(1e-4, 1e-1))]
    assert "lr" in space and "dropout" not in space
    with pytest.raises(KeyError):
        space["dropout"]
    with pytest.raises(TypeError):
        space["lr"] = Uniform(0, 1)  # type: ignore[index]


def test_equality_and_hash_depend_on_dimensions_and_order() -> None:
    assert make_space() == make_space()
    assert hash(make_space()) == hash(make_space())
    assert SearchSpace(a=Fixed(1), b=Fixed(2)) != SearchSpace(b=Fixed(2), a=Fixed(1))
    assert SearchSpace(a=Fixed(1)) != SearchSpace(a=Fixed(1.0))
    assert SearchSpace(a=Fixed(1)) != {"a": Fixed(1)}


def test_a_space_survives_pickling_into_a_worker_process() -> None:
    space = make_space()
    assert pickle.loads(pickle.dumps(space)) == space


def test_repr_is_short_and_readable() -> None:
    assert repr(SearchSpace(lr=LogUniform(1e-4, 0.1), n=IntUniform(1, 8, log=True))) == (
        "SearchSpace(lr=LogUniform(0.0001, 0.1), n=IntUniform(1, 8, log=True))"
    )


# --- sample and validate --------------------------------------------------------------------


def test_sample_draws_every_parameter_in_order_and_is_seeded() -> None:
    space = make_space()
    params = space.sample(np.random.default_rng(3))
    assert list(params) == list(space.names)
    assert params == space.sample(np.random.default_rng(3))
    assert params != space.sample(np.random.default_rng(4))
    assert params["optimizer"] == "sgd"
    assert [type(params[name]) for name in space] == [float, float, int, int, str]
    assert space.validate(params) == params


def test_validate_normalises_to_plain_values_in_space_order() -> None:
    space = make_space()
    given_params = {
        "optimizer": "sgd",
        "layers": np.int64(2),
        "batch_size": 64,
        "momentum": 0,
        "lr": np.float64(0.01),
    }
    params = space.validate(given_params)
    assert params == {
        "lr": 0.01,
        "momentum": 0.0,
        "batch_size": 64,
        "layers": 2,
        "optimizer": "sgd",
    }
    assert list(params) == list(space.names)
    assert [type(value) for value in params.values()] == [float, float, int, int, str]
    assert given_params["layers"] is not params["layers"]


def test_validate_refuses_unknown_names_listing_the_known_ones() -> None:
    space = SearchSpace(lr=LogUniform(1e-4, 0.1), momentum=Uniform(0, 1))
    with pytest.raises(SearchSpaceError) as caught:
        space.validate({"lr": 0.01, "momentum": 0.9, "dropout": 0.1, "wd": 0.0})
    assert str(caught.value) == (
        "unknown parameters ['dropout', 'wd']; the space has ['lr', 'momentum']"
    )


def test_validate_refuses_missing_names() -> None:
    space = SearchSpace(lr=LogUniform(1e-4, 0.1), momentum=Uniform(0, 1))
    with pytest.raises(SearchSpaceError) as caught:
        space.validate({"lr": 0.01})
    assert str(caught.value) == "missing parameters ['momentum']; the space has ['lr', 'momentum']"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("lr", 0.5, r"^lr: 0.5 is outside LogUniform\(0.0001, 0.1\)$"),
        ("lr", "0.01", r"^lr: expected a finite number"),
        ("momentum", True, r"^momentum: expected a finite number .* got True$"),
        ("batch_size", 48, r"^batch_size: 48 is not one of Choice\(\[32, 64, 128, 256\]"),
        ("batch_size", 64.0, r"^batch_size: 64.0 is not one of"),
        ("layers", 2.0, r"^layers: expected an int for IntUniform\(1, 4\), got 2.0$"),
        ("optimizer", "adam", r"^optimizer: 'adam' differs from Fixed\('sgd'\)$"),
    ],
)
def test_validate_refuses_a_bad_value_naming_the_parameter(
    name: str, value: object, message: str
) -> None:
    params: dict[str, object] = {
        "lr": 0.01,
        "momentum": 0.9,
        "batch_size": 64,
        "layers": 2,
        "optimizer": "sgd",
    }
    params[name] = value
    with pytest.raises(SearchSpaceError, match=message):
        make_space().validate(params)


def test_validate_needs_a_mapping() -> None:
    with pytest.raises(SearchSpaceError, match="params must be a mapping"):
        make_space().validate([("lr", 0.01)])  # type: ignore[arg-type]


# --- JSON -----------------------------------------------------------------------------------


def test_to_dict_and_to_json_are_exact_and_ordered() -> None:
    space = SearchSpace(lr=LogUniform(1e-4, 0.1), batch_size=Choice([32, 64], ordered=True))
    assert space.to_dict() == {
        "lr": {"type": "LogUniform", "low": 0.0001, "high": 0.1},
        "batch_size": {"type": "Choice", "values": [32, 64], "ordered": True},
    }
    assert space.to_json() == (
        '{"lr": {"type": "LogUniform", "low": 0.0001, "high": 0.1}, '
        '"batch_size": {"type": "Choice", "values": [32, 64], "ordered": true}}'
    )
    assert SearchSpace.from_json(space.to_json()) == space
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_from_dict_names_the_parameter_with_a_bad_declaration() -> None:
    with pytest.raises(SearchSpaceError) as caught:
        SearchSpace.from_dict({"lr": {"type": "LogUniform", "low": 0.0, "high": 0.1}})
    assert str(caught.value) == "lr: LogUniform needs 0 < low < high, got low=0.0, high=0.1"
    with pytest.raises(SearchSpaceError, match=r"^wd: unknown dimension type 'Normal'"):
        SearchSpace.from_dict({"wd": {"type": "Normal"}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "must be JSON"),
        ("[1, 2]", "must be a mapping"),
        ("{}", "at least one dimension"),
        ('{"lr": 0.1}', "^lr: unknown dimension type None"),
    ],
)
def test_from_json_refuses_bad_text(text: str, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace.from_json(text)


# --- diff -----------------------------------------------------------------------------------


def test_diff_is_empty_for_equal_spaces() -> None:
    assert make_space().diff(make_space()) == []


def test_diff_describes_each_difference() -> None:
    here = SearchSpace(lr=LogUniform(1e-4, 0.1), momentum=Uniform(0, 0.99), n=IntUniform(1, 4))
    stored = SearchSpace(lr=LogUniform(1e-3, 0.1), n=IntUniform(1, 4), wd=LogUniform(1e-6, 1e-2))
    assert here.diff(stored) == [
        "lr: LogUniform(0.0001, 0.1) here, LogUniform(0.001, 0.1) stored",
        "momentum: missing in stored space",
        "wd: LogUniform(1e-06, 0.01) stored, missing here",
    ]


def test_diff_reports_a_changed_order() -> None:
    here, stored = SearchSpace(a=Fixed(1), b=Fixed(2)), SearchSpace(b=Fixed(2), a=Fixed(1))
    assert here.diff(stored) == ["parameter order: ['a', 'b'] here, ['b', 'a'] stored"]


# --- properties -----------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6)
scalars = st.one_of(st.text(max_size=4), st.integers(-100, 100), finite, st.booleans(), st.none())


@st.composite
def dimensions(draw: st.DrawFn) -> BaseDimension[Any]:
    """A random valid dimension of any kind."""
    kind = draw(st.sampled_from(["Uniform", "LogUniform", "IntUniform", "Choice", "Fixed"]))
    if kind == "Uniform":
        low = draw(finite)
        return Uniform(low, low + draw(st.floats(1e-3, 1e6)))
    if kind == "LogUniform":
        low = draw(st.floats(1e-8, 1e3))
        return LogUniform(low, low * draw(st.floats(1.01, 1e6)))
    if kind == "IntUniform":
        low = draw(st.integers(1, 100))
        return IntUniform(low, low + draw(st.integers(1, 100)), log=draw(st.booleans()))
    if kind == "Choice":
        values = draw(st.lists(scalars, min_size=1, max_size=5, unique_by=lambda v: (type(v), v)))
        return Choice(values, ordered=draw(st.booleans()))
    return Fixed(draw(scalars))


spaces = st.dictionaries(st.text(min_size=1, max_size=8), dimensions(), min_size=1, max_size=6).map(
    SearchSpace.from_mapping
)


@given(spaces)
def test_random_spaces_round_trip_through_json(space: SearchSpace) -> None:
    rebuilt = SearchSpace.from_json(space.to_json())
    assert rebuilt == space
    assert rebuilt.names == space.names
    assert rebuilt.diff(space) == []
    assert json.loads(rebuilt.to_json()) == json.loads(space.to_json())


@given(spaces, st.integers(0, 2**32))
def test_sample_is_deterministic_and_valid(space: SearchSpace, seed: int) -> None:
    params = space.sample(np.random.default_rng(seed))
    again = space.sample(np.random.default_rng(seed))
    assert json.dumps(params) == json.dumps(again)
    assert json.dumps(space.validate(params)) == json.dumps(params)
