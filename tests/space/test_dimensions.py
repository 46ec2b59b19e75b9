"""Tests of the dimensions: construction, validation, sampling, explore steps and JSON form."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from populace.errors import DimensionTypeError, PopulaceError, SearchSpaceError
from populace.space import BaseDimension, Choice, Fixed, IntUniform, LogUniform, Uniform

FACTORS = (0.5, 0.8, 1.2, 2.0)
PLAIN_TYPES = (int, float, str, bool, type(None))

EXAMPLES: list[BaseDimension[Any]] = [
    Uniform(-1.0, 1.0),
    LogUniform(1e-4, 0.1),
    IntUniform(0, 10),
    IntUniform(1, 1024, log=True),
    Choice(["sgd", "adam", "rmsprop"]),
    Choice([32, 64, 128], ordered=True),
    Fixed("adam"),
]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- strategies -----------------------------------------------------------------------------

scalars = st.one_of(
    st.text(max_size=4),
    st.integers(-100, 100),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.booleans(),
    st.none(),
)


def values_in(dim: Uniform | LogUniform | IntUniform) -> st.SearchStrategy[Any]:
    """Values inside a numeric dimension, its bounds drawn often."""
    if isinstance(dim, IntUniform):
        return st.sampled_from([dim.low, dim.high]) | st.integers(dim.low, dim.high)
    return st.sampled_from([dim.low, dim.high]) | st.floats(dim.low, dim.high)


@st.composite
def dimension_and_value(draw: st.DrawFn) -> tuple[BaseDimension[Any], Any]:
    """A random valid dimension and a value inside it, bounds included."""
    kind = draw(st.sampled_from(["Uniform", "LogUniform", "IntUniform", "Choice", "Fixed"]))
    numeric: Uniform | LogUniform | IntUniform
    if kind == "Uniform":
        low = draw(st.floats(-1e6, 1e6))
        numeric = Uniform(low, low + draw(st.floats(1e-3, 1e6)))
    elif kind == "LogUniform":
        low = draw(st.floats(1e-8, 1e3))
        numeric = LogUniform(low, low * draw(st.floats(1.01, 1e6)))
    elif kind == "IntUniform":
        log = draw(st.booleans())
        low_int = draw(st.integers(1 if log else -1000, 1000))
        numeric = IntUniform(low_int, low_int + draw(st.integers(1, 1000)), log=log)
    elif kind == "Choice":
        values = draw(st.lists(scalars, min_size=1, max_size=6, unique_by=lambda v: (type(v), v)))
        return Choice(values, ordered=draw(st.booleans())), draw(st.sampled_from(values))
    else:
        value = draw(scalars)
        return Fixed(value), value
    return numeric, draw(values_in(numeric))


# --- the contract, over one example of each kind --------------------------------------------


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
def test_json_round_trip_gives_an_equal_dimension(dim: BaseDimension[Any]) -> None:
    rebuilt = BaseDimension.from_dict(json.loads(json.dumps(dim.to_dict())))
    assert rebuilt == dim
    assert hash(rebuilt) == hash(dim)
    assert type(rebuilt) is type(dim)


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
def test_dimensions_are_frozen(dim: BaseDimension[Any]) -> None:
    field = sorted(dim.to_dict().keys() - {"type"})[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(dim, field, 3)


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
def test_sample_is_plain_in_domain_and_seeded(dim: BaseDimension[Any]) -> None:
    draws = [dim.sample(rng(7)) for _ in range(2)]
    assert draws[0] == draws[1]
    many = [dim.sample(rng(seed)) for seed in range(50)]
    assert all(type(value) in PLAIN_TYPES and dim.contains(value) for value in many)
    assert [dim.resample(rng(seed)) for seed in range(50)] == many


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
@pytest.mark.parametrize("factor", [0, -1.2, math.nan, math.inf, True, "1.2"])
def test_perturb_rejects_bad_factors(dim: BaseDimension[Any], factor: Any) -> None:
    with pytest.raises(SearchSpaceError, match="perturb factor must be a finite number > 0"):
        dim.perturb(dim.sample(rng()), rng(), factor)


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
@pytest.mark.parametrize("factor", [1, 1.0])
def test_a_factor_of_one_leaves_the_value(dim: BaseDimension[Any], factor: float) -> None:
    value = dim.sample(rng(5))
    assert [dim.perturb(value, rng(seed), factor) for seed in range(10)] == [value] * 10


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
def test_perturb_rejects_a_value_outside_the_domain(dim: BaseDimension[Any]) -> None:
    with pytest.raises(SearchSpaceError, match="value to perturb: 5000"):
        dim.perturb(5000, rng(), 1.2)


@pytest.mark.parametrize("dim", EXAMPLES, ids=repr)
@pytest.mark.parametrize("value", [object(), [1], {"a": 1}, math.nan, 10**400])
def test_foreign_values_are_rejected(dim: BaseDimension[Any], value: object) -> None:
    assert not dim.contains(value)
    with pytest.raises(SearchSpaceError, match=r"^lr: ") as caught:
        dim.validate("lr", value)
    assert repr(dim) in str(caught.value)


def test_from_dict_refuses_unknown_types_and_bad_fields() -> None:
    with pytest.raises(SearchSpaceError, match="unknown dimension type 'Normal'"):
        BaseDimension.from_dict({"type": "Normal", "mean": 0})
    with pytest.raises(SearchSpaceError, match="unknown dimension type None"):
        BaseDimension.from_dict({"low": 0, "high": 1})
    with pytest.raises(SearchSpaceError, match="unknown dimension type"):
        BaseDimension.from_dict([("type", "Uniform")])  # type: ignore[arg-type]
    with pytest.raises(SearchSpaceError, match=r"cannot build Uniform .*'scale'"):
        BaseDimension.from_dict({"type": "Uniform", "low": 0, "high": 1, "scale": 2})
    with pytest.raises(SearchSpaceError, match="cannot build IntUniform"):
        BaseDimension.from_dict({"type": "IntUniform", "low": 0})


def test_a_second_dimension_type_with_a_taken_name_is_refused() -> None:
    with pytest.raises(DimensionTypeError, match="'Uniform' is already registered") as info:
        type("Uniform", (Uniform,), {})
    assert isinstance(info.value, PopulaceError) and isinstance(info.value, TypeError)
    assert "populace.space._continuous.Uniform" in str(info.value)  # the class holding the name
    assert BaseDimension.from_dict(Uniform(0, 1).to_dict()) == Uniform(0, 1)  # still the first


# --- construction errors --------------------------------------------------------------------

INVALID: list[tuple[Callable[..., object], tuple[Any, ...], str]] = [
    (Uniform, (1.0, 1.0), r"Uniform needs finite numbers low < high, got low=1.0, high=1.0"),
    (Uniform, (2, 1), "low=2, high=1"),
    (Uniform, (math.nan, 1), "low=nan"),
    (Uniform, (0, math.inf), "high=inf"),
    (Uniform, (-math.inf, 0), "low=-inf"),
    (Uniform, (True, 2), "low=True"),
    (Uniform, ("0", 1), "low='0'"),
    (Uniform, (-1e308, 1e308), "finite range"),
    (LogUniform, (0.0, 0.1), r"LogUniform needs 0 < low < high, got low=0.0, high=0.1"),
    (LogUniform, (-1, 1), "low=-1"),
    (LogUniform, (0.1, 0.1), "low=0.1, high=0.1"),
    (LogUniform, (1e-3, math.inf), "high=inf"),
    (LogUniform, (1e-3, math.nan), "high=nan"),
    (IntUniform, (1, 1), r"IntUniform needs integers low < high, got low=1, high=1"),
    (IntUniform, (5, 2), "low=5, high=2"),
    (IntUniform, (0.0, 5), "low=0.0"),
    (IntUniform, (0, 5.5), "high=5.5"),
    (IntUniform, (False, 5), "low=False"),
    (IntUniform, (0, 2**60), r"within ±2\*\*53"),
    (IntUniform, (0, 10, True), "log=True needs low >= 1, got low=0"),
    (IntUniform, (-3, 10, True), "got low=-3"),
    (IntUniform, (1, 10, 1), "log must be a bool, got 1"),
    (Choice, ([],), r"non-empty list of values, got \[\]"),
    (Choice, ((),), r"got \(\)"),
    (Choice, ("ab",), "got 'ab'"),
    (Choice, ({1, 2},), r"got \{1, 2\}"),
    (Choice, ([1, 2, 1],), "unique, got 1 twice"),
    (Choice, (["a", "a"],), "unique, got 'a' twice"),
    (Choice, ([0.0, -0.0],), "unique, got -0.0 twice"),
    (Choice, ([[1], 2],), r"Choice value: \[1\] is not a JSON scalar"),
    (Choice, ([{"a": 1}],), "Choice value: {'a': 1}"),
    (Choice, ([math.nan],), "Choice value: nan"),
    (Choice, ([math.inf],), "Choice value: inf"),
    (Choice, ([1, 2], "yes"), "ordered must be a bool, got 'yes'"),
    (Fixed, ([1],), r"Fixed value: \[1\]"),
    (Fixed, (math.nan,), "Fixed value: nan"),
    (Fixed, (object(),), "Fixed value: <object"),
]


@pytest.mark.parametrize(("build", "args", "message"), INVALID)
def test_invalid_declarations_are_refused(
    build: Callable[..., object], args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(SearchSpaceError, match=message):
        build(*args)


def test_search_space_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Uniform(1, 0)


# --- Uniform --------------------------------------------------------------------------------


def test_uniform_normalises_bounds_and_values_to_float() -> None:
    dim = Uniform(0, 1)
    assert (dim.low, dim.high) == (0.0, 1.0)
    assert type(dim.low) is float
    assert dim == Uniform(0.0, 1.0)
    assert repr(dim) == "Uniform(0.0, 1.0)"
    assert dim.to_dict() == {"type": "Uniform", "low": 0.0, "high": 1.0}
    for value in (1, np.float32(0.5), np.int64(0)):
        assert type(dim.validate("m", value)) is float
    assert dim.validate("m", 1) == 1.0
    assert dim.contains(0.0) and dim.contains(1.0) and not dim.contains(1.0000001)


@pytest.mark.parametrize("value", [True, False, "0.5", None, np.bool_(True)])
def test_uniform_refuses_non_numbers(value: object) -> None:
    with pytest.raises(
        SearchSpaceError, match=r"m: expected a finite number for Uniform\(0.0, 1.0\)"
    ):
        Uniform(0, 1).validate("m", value)


def test_uniform_out_of_bounds_message_names_parameter_value_and_domain() -> None:
    with pytest.raises(SearchSpaceError, match=r"^m: 1.5 is outside Uniform\(0.0, 1.0\)$"):
        Uniform(0, 1).validate("m", 1.5)


@pytest.mark.parametrize(
    ("value", "factor", "expected"),
    [
        (0.5, 1.2, 0.6),  # relative step
        (0.5, 0.8, 0.4),
        (0.0, 1.2, 0.02),  # floor of 10 % of the range: 0 moves
        (0.0, 0.8, 0.0),  # at the low bound, moving down: stays at the bound
        (1.0, 1.2, 1.0),  # at the high bound, moving up: stays at the bound
        (1.0, 0.8, 0.8),  # ... and the other factor moves away from it
        (0.9, 1.2, 1.0),  # past the bound: stops at it
        (0.95, 2.0, 1.0),
        (0.1, 0.5, 0.05),
    ],
)
def test_uniform_perturb(value: float, factor: float, expected: float) -> None:
    assert Uniform(0, 1).perturb(value, rng(), factor) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("factor", "expected"), [(0.5, -0.1), (0.8, -0.04), (1.2, 0.04), (2.0, 0.2)]
)
def test_zero_is_not_absorbing(factor: float, expected: float) -> None:
    assert Uniform(-1, 1).perturb(0.0, rng(), factor) == pytest.approx(expected)


@given(st.lists(st.sampled_from(FACTORS), min_size=1, max_size=30), st.integers(0, 2**32))
def test_repeated_perturbation_from_zero_leaves_zero(factors: list[float], seed: int) -> None:
    dim, generator, value = Uniform(-1, 1), rng(seed), 0.0
    visited = []
    for factor in factors:
        value = dim.perturb(value, generator, factor)
        visited.append(value)
    assert visited[0] != 0.0
    assert all(type(v) is float and -1.0 <= v <= 1.0 for v in visited)


# --- LogUniform -----------------------------------------------------------------------------


def test_log_uniform_basics() -> None:
    dim = LogUniform(1e-4, 0.1)
    assert repr(dim) == "LogUniform(0.0001, 0.1)"
    assert dim.to_dict() == {"type": "LogUniform", "low": 0.0001, "high": 0.1}
    assert dim.validate("lr", 0.1) == 0.1
    with pytest.raises(SearchSpaceError, match=r"^lr: 0.2 is outside LogUniform\(0.0001, 0.1\)$"):
        dim.validate("lr", 0.2)
    draws = [dim.sample(rng(seed)) for seed in range(400)]
    below_1e3 = sum(draw < 1e-3 for draw in draws)
    assert 100 < below_1e3 < 170  # a third of the log range


@pytest.mark.parametrize(
    ("value", "factor", "expected"),
    [
        (0.01, 2.0, 0.02),
        (0.01, 0.8, 0.008),
        (0.1, 2.0, 0.1),  # at high, moving up: stays at the bound
        (0.1, 0.5, 0.05),  # ... and the other factor moves away from it
        (1e-4, 0.5, 1e-4),  # at low, moving down: stays
        (0.09, 1.2, 0.1),  # past high: stops at it
        (0.08, 2.0, 0.1),
    ],
)
def test_log_uniform_perturb(value: float, factor: float, expected: float) -> None:
    assert LogUniform(1e-4, 0.1).perturb(value, rng(), factor) == pytest.approx(expected)


# --- IntUniform -----------------------------------------------------------------------------


def test_int_uniform_basics() -> None:
    dim = IntUniform(0, 10)
    assert repr(dim) == "IntUniform(0, 10)"
    assert repr(IntUniform(1, 8, log=True)) == "IntUniform(1, 8, log=True)"
    assert dim.to_dict() == {"type": "IntUniform", "low": 0, "high": 10, "log": False}
    bounds = np.array([0, 10])
    assert IntUniform(bounds[0], bounds[1]) == dim
    assert type(IntUniform(bounds[0], bounds[1]).low) is int
    assert dim.validate("n", np.int64(10)) == 10
    assert type(dim.validate("n", np.int64(10))) is int
    assert {dim.sample(rng(seed)) for seed in range(200)} == set(range(11))  # both ends inclusive


@pytest.mark.parametrize("value", [1.0, 3.5, True, "3", None])
def test_int_uniform_refuses_non_ints(value: object) -> None:
    with pytest.raises(SearchSpaceError, match=r"^n: expected an int for IntUniform\(0, 10\), got"):
        IntUniform(0, 10).validate("n", value)


def test_int_uniform_out_of_bounds_message() -> None:
    with pytest.raises(SearchSpaceError, match=r"^n: 11 is outside IntUniform\(0, 10\)$"):
        IntUniform(0, 10).validate("n", 11)


def test_log_int_uniform_samples_small_values_more_often() -> None:
    dim = IntUniform(1, 1024, log=True)
    draws = [dim.sample(rng(seed)) for seed in range(400)]
    assert min(draws) == 1
    assert 150 < sum(draw < 32 for draw in draws) < 250  # half the log range


@pytest.mark.parametrize(
    ("value", "factor", "expected"),
    [
        (1, 1.2, 2),  # rounds back to 1: steps up
        (2, 0.8, 1),  # rounds back to 2: steps down
        (0, 1.2, 1),  # 0 moves
        (0, 0.8, 1),  # at low: moves inward
        (10, 1.2, 9),  # at high, pushed up: one step inward
        (10, 2.0, 9),
        (5, 1.2, 6),
        (5, 2.0, 10),
        (5, 0.5, 2),  # 2.5 rounds to even
        (9, 1.2, 10),  # 10.8 stops at the bound
    ],
)
def test_int_uniform_perturb(value: int, factor: float, expected: int) -> None:
    assert IntUniform(0, 10).perturb(value, rng(), factor) == expected


@pytest.mark.parametrize(
    ("value", "factor", "expected"),
    [(1, 1.2, 2), (1, 0.5, 2), (2, 0.8, 1), (100, 1.2, 120), (1024, 2.0, 1023), (1024, 0.5, 512)],
)
def test_log_int_uniform_perturb(value: int, factor: float, expected: int) -> None:
    assert IntUniform(1, 1024, log=True).perturb(value, rng(), factor) == expected


def test_negative_int_range_far_from_zero() -> None:
    dim = IntUniform(-100, -99)
    assert dim.perturb(-100, rng(), 2.0) == -99
    assert dim.perturb(-99, rng(), 0.5) == -100


# --- Choice and Fixed -----------------------------------------------------------------------


def test_choice_basics() -> None:
    dim = Choice(["sgd", "adam"])
    assert dim.values == ("sgd", "adam")
    assert dim == Choice(("sgd", "adam"))
    assert dim != Choice(["adam", "sgd"])  # order fixes what a seed draws
    assert dim != Choice(["sgd", "adam"], ordered=True)
    assert repr(dim) == "Choice(['sgd', 'adam'])"
    assert repr(Choice([32, 64], ordered=True)) == "Choice([32, 64], ordered=True)"
    assert dim.to_dict() == {"type": "Choice", "values": ["sgd", "adam"], "ordered": False}
    with pytest.raises(SearchSpaceError, match=r"^opt: 'rmsprop' is not one of Choice\("):
        dim.validate("opt", "rmsprop")


def test_choice_tells_one_one_point_oh_and_true_apart() -> None:
    dim = Choice([1, 1.0, True, None])
    assert [type(dim.validate("x", value)) for value in (1, 1.0, True)] == [int, float, bool]
    assert dim.validate("x", None) is None
    assert type(dim.validate("x", np.int64(1))) is int
    assert not Choice([1, 2]).contains(1.0)
    assert not Choice([1, 2]).contains(True)
    assert not Choice([1.0]).contains(1)
    assert Choice([1]) != Choice([True])
    assert Choice([1]) != Choice([1.0])
    assert len({Choice([1]), Choice([1]), Choice([2])}) == 2


@pytest.mark.parametrize(
    ("value", "factor", "expected"),
    [(32, 1.2, 64), (64, 0.8, 32), (32, 0.5, 64), (128, 2.0, 64), (64, 2.0, 128)],
)
def test_ordered_choice_steps_to_a_neighbour(value: int, factor: float, expected: int) -> None:
    assert Choice([32, 64, 128], ordered=True).perturb(value, rng(), factor) == expected


def test_single_value_ordered_choice_stays() -> None:
    assert Choice(["only"], ordered=True).perturb("only", rng(), 1.2) == "only"


def test_unordered_choice_perturb_resamples() -> None:
    dim = Choice(list(range(10)))
    assert [dim.perturb(3, rng(seed), 1.2) for seed in range(20)] == [
        dim.sample(rng(seed)) for seed in range(20)
    ]
    assert len({dim.perturb(3, rng(seed), 0.8) for seed in range(50)}) > 5


def test_fixed() -> None:
    dim = Fixed(3)
    assert repr(dim) == "Fixed(3)"
    assert dim.to_dict() == {"type": "Fixed", "value": 3}
    assert (dim.sample(rng()), dim.resample(rng()), dim.perturb(3, rng(), 2.0)) == (3, 3, 3)
    assert dim.validate("n", np.int64(3)) == 3
    assert Fixed(3) != Fixed(3.0) and Fixed(1) != Fixed(True)
    for other in (3.0, True, "3", 4):
        with pytest.raises(SearchSpaceError, match=r"^n: .* differs from Fixed\(3\)$"):
            dim.validate("n", other)


# --- properties -----------------------------------------------------------------------------

seeds = st.integers(0, 2**32)
factors = st.sampled_from(FACTORS)


@given(dimension_and_value(), seeds, factors)
def test_explore_stays_in_domain_and_keeps_the_type(
    dim_value: tuple[BaseDimension[Any], Any], seed: int, factor: float
) -> None:
    dim, value = dim_value
    for moved in (dim.perturb(value, rng(seed), factor), dim.resample(rng(seed))):
        assert dim.contains(moved)
        assert type(moved) in PLAIN_TYPES
        if isinstance(dim, (Uniform, LogUniform, IntUniform)):
            assert type(moved) is type(value)
            assert dim.low <= moved <= dim.high


@given(dimension_and_value(), seeds, factors)
def test_numbers_move_in_the_factors_direction_unless_at_that_bound(
    dim_value: tuple[BaseDimension[Any], Any], seed: int, factor: float
) -> None:
    dim, value = dim_value
    if not isinstance(dim, (Uniform, LogUniform, IntUniform)):
        return
    moved = dim.perturb(value, rng(seed), factor)
    at_bound = value == (dim.high if factor > 1 else dim.low)
    if at_bound and not isinstance(dim, IntUniform):
        assert moved == value  # a real value stops at its bound
    else:
        # an integer at the bound it is pushed against steps inward: it always moves
        assert (moved > value) == ((factor > 1) != at_bound)
        assert moved != value


@given(dimension_and_value(), seeds)
def test_every_value_of_a_small_int_range_can_move_both_ways(
    dim_value: tuple[BaseDimension[Any], Any], seed: int
) -> None:
    dim, _ = dim_value
    if not isinstance(dim, IntUniform) or dim.high - dim.low > 50:
        return
    for value in range(dim.low, dim.high + 1):
        reached = {dim.perturb(value, rng(seed), factor) for factor in FACTORS}
        assert value not in reached
        assert any(v > value for v in reached) == (value < dim.high)
        assert any(v < value for v in reached) == (value > dim.low)


@given(dimension_and_value(), seeds)
def test_sample_is_deterministic_for_a_seed(
    dim_value: tuple[BaseDimension[Any], Any], seed: int
) -> None:
    dim, _ = dim_value
    first, second = dim.sample(rng(seed)), dim.sample(rng(seed))
    assert type(first) is type(second)
    assert first == second


@given(dimension_and_value())
def test_random_dimensions_round_trip_through_json(
    dim_value: tuple[BaseDimension[Any], Any],
) -> None:
    dim, value = dim_value
    rebuilt = BaseDimension.from_dict(json.loads(json.dumps(dim.to_dict())))
    assert rebuilt == dim
    assert rebuilt.validate("x", value) == dim.validate("x", value)
