"""Round trips and safety of the checkpoint encoding."""

from __future__ import annotations

import io
import math
import os
import pickle
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _subprocess import run
from hypothesis import given, settings
from hypothesis import strategies as st

from populace.checkpoints import decode, encode
from populace.checkpoints._format import _frame
from populace.errors import CheckpointError

ALLOWED = (
    "(allowed: dict, list, tuple, str, int, float, bool, None, bytes, numpy arrays, torch tensors)"
)


def assert_same(actual: Any, expected: Any) -> None:
    """Equality that also checks types, so 1 vs 1.0 vs True and tuple vs list are told apart."""
    assert type(actual) is type(expected), (actual, expected)
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert type(next(k for k in actual if k == key)) is type(key)
            assert_same(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e)
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, torch.Tensor):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        assert actual.device.type == "cpu"
        assert torch.equal(actual, expected)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == expected
        if isinstance(expected, float):
            assert math.copysign(1, actual) == math.copysign(1, expected)


def round_trip(obj: object) -> Any:
    return decode(encode(obj))


def test_nested_json_scalars_round_trip() -> None:
    obj = {
        "lr": 0.001,
        "step": 40,
        "done": False,
        "note": None,
        "name": "mémbre ☃ \udc80",
        "big": 2**100,
        "specials": [math.inf, -math.inf, -0.0, 1e-310],
        "nested": {0: ("a", [1, 2.5, (True,)]), 1.5: {}, True: [], None: ()},
        "blob": b"\x00\xffraw",
    }
    assert_same(round_trip(obj), obj)
    nan = round_trip(math.nan)
    assert isinstance(nan, float) and math.isnan(nan)


def test_subclasses_come_back_as_their_base_type() -> None:
    ordered = OrderedDict([("b", 1), ("a", 2)])
    assert_same(round_trip(ordered), {"b": 1, "a": 2})
    assert list(round_trip(ordered)) == ["b", "a"]


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array(3.5),
        np.zeros((0, 4), dtype=np.int8),
        np.array([True, False]),
        np.array([1 + 2j, -3j], dtype=np.complex128),
        np.array([1, 70000], dtype=">i4"),
        np.asfortranarray(np.arange(12, dtype=np.uint16).reshape(3, 4)),
        np.arange(20, dtype=np.float64)[::3],
        np.array(["ab", "ç"]),
        np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.array([np.nan, np.inf], dtype=np.float16),
    ],
    ids=lambda a: f"{a.dtype}-{a.shape}",
)
def test_numpy_arrays_round_trip(array: np.ndarray) -> None:
    result = round_trip({"a": array})
    assert_same(result, {"a": array})
    assert result["a"].flags.writeable


def test_numpy_scalars_come_back_as_numpy_scalars_of_the_same_dtype() -> None:
    scalars = [np.float32(1.5), np.int64(-7), np.bool_(True), np.float64(math.inf)]
    result = round_trip(scalars)
    assert [type(s) for s in result] == [np.float32, np.int64, np.bool_, np.float64]
    assert result == [1.5, -7, True, math.inf]


@pytest.mark.parametrize(
    "tensor",
    [
        torch.arange(6, dtype=torch.float32).reshape(2, 3),
        torch.tensor([-(2**40), 3], dtype=torch.int64),
        torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16),
        torch.arange(12.0).reshape(3, 4).t(),
        torch.tensor(2.5),
        torch.zeros(0, 3),
    ],
    ids=["float32", "int64", "bfloat16", "transposed-view", "0-d", "empty"],
)
def test_torch_tensors_round_trip(tensor: torch.Tensor) -> None:
    assert_same(round_trip([tensor]), [tensor])


def test_sparse_tensors_round_trip_through_the_weights_only_segment() -> None:
    sparse = torch.sparse_coo_tensor([[0, 2]], [1.5, -2.0], (4,), check_invariants=True)
    result = round_trip({"sparse": sparse, "dense": torch.ones(2)})
    assert result["sparse"].is_sparse
    assert torch.equal(result["sparse"].to_dense(), sparse.to_dense())
    assert torch.equal(result["dense"], torch.ones(2))


def test_dense_tensors_decode_without_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode({"w": torch.randn(3, 4), "n": torch.arange(5)})

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", refuse)
    result = decode(data)
    assert result["w"].shape == (3, 4)
    assert torch.equal(result["n"], torch.arange(5))


def test_a_slice_of_a_big_tensor_is_stored_without_its_storage() -> None:
    big = torch.arange(1_000_000, dtype=torch.float32)
    data = encode({"slice": big[10:20], "strided": big[::250_000]})
    assert len(data) < 4_000  # the whole storage would be 4 MB
    assert_same(decode(data), {"slice": big[10:20], "strided": big[::250_000]})


def test_a_parameter_comes_back_as_a_plain_detached_tensor() -> None:
    parameter = torch.nn.Parameter(torch.ones(3))
    result = round_trip(parameter)
    assert type(result) is torch.Tensor
    assert not result.requires_grad
    assert torch.equal(result, torch.ones(3))


def test_linear_and_sgd_state_dicts_load_into_fresh_objects() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).pow(2).sum().backward()
    optimizer.step()

    loaded = round_trip({"model": model.state_dict(), "opt": optimizer.state_dict(), "step": 1})

    assert isinstance(loaded, dict)
    assert list(loaded["opt"]["state"]) == [0, 1]
    assert loaded["opt"]["param_groups"][0]["params"] == [0, 1]
    fresh = torch.nn.Linear(3, 2)
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.5, momentum=0.0)
    fresh.load_state_dict(loaded["model"])
    fresh_optimizer.load_state_dict(loaded["opt"])
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_optimizer.param_groups[0]["momentum"] == 0.9
    assert fresh_optimizer.param_groups[0]["lr"] == 0.1
    buffer = fresh_optimizer.state[fresh.weight]["momentum_buffer"]
    assert torch.equal(buffer, optimizer.state[model.weight]["momentum_buffer"])


class Foo:
    pass


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"opt": {"state": {0: {"foo": Foo()}}}},
            'checkpoint["opt"]["state"][0]["foo"]: '
            f"cannot store an object of type Foo safely {ALLOWED}",
        ),
        (
            [1, (2, lambda: 3)],
            f"checkpoint[1][1]: cannot store an object of type function safely {ALLOWED}",
        ),
        (
            {"data": np.array([1, "a"], dtype=object)},
            'checkpoint["data"]: '
            f"cannot store an object of type ndarray with dtype object safely {ALLOWED}",
        ),
        ({1.5: {2, 3}}, f"checkpoint[1.5]: cannot store an object of type set safely {ALLOWED}"),
        (
            {"k": {(1, 2): 3}},
            'checkpoint["k"][(1, 2)]: cannot use a dict key of type tuple '
            "(allowed: str, int, float, bool, None)",
        ),
    ],
    ids=["object", "lambda", "object-array", "set", "tuple-key"],
)
def test_unsafe_objects_are_refused_with_their_path(obj: object, message: str) -> None:
    with pytest.raises(CheckpointError) as info:
        encode(obj)
    assert str(info.value) == message


def test_a_structure_containing_itself_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(CheckpointError, match="contains itself"):
        encode(loop)


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"echo pwned > {self.marker}",))


def forged(tree: object, segment: bytes, torch_index: int | None) -> bytes:
    header = {"version": 1, "tree": tree, "segments": [len(segment)], "torch": torch_index}
    return _frame(header, [[segment]])


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("container", ["raw-pickle", "torch-zip"])
def test_a_malicious_torch_segment_is_refused_without_running_it(
    tmp_path: Path, container: str
) -> None:
    marker = tmp_path / "pwned"
    if container == "raw-pickle":
        payload = pickle.dumps([Evil(marker)])
    else:
        buffer = io.BytesIO()
        torch.save([Evil(marker)], buffer)
        payload = buffer.getvalue()
    with pytest.raises(CheckpointError, match="corrupted"):
        decode(forged({"tensor": 0}, payload, 0))
    assert not marker.exists()
    # The payload is live: an unsafe load runs it.
    if container == "raw-pickle":
        pickle.loads(payload)
    else:
        torch.load(io.BytesIO(payload), weights_only=False)
    assert marker.read_text() == "pwned\n"


def test_a_pickled_numpy_segment_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="corrupted"):
        decode(forged({"ndarray": 0}, buffer.getvalue(), None))
    assert not marker.exists()
    buffer.seek(0)
    np.load(buffer, allow_pickle=True)  # the payload is live: an unsafe load runs it
    assert marker.read_text() == "pwned\n"


@pytest.mark.parametrize(
    "tree",
    [
        {"bytes": -1},
        {"bytes": 1},
        {"bytes": True},
        {"tensor": 0},
        {"set": [1]},
        {"a": 1, "b": 2},
        {"raw": [0, "load", [3]]},  # not a dtype: never called
        {"raw": [0, "float32", [5]]},  # more elements than bytes
        {"raw": [0, "uint8", [-3]]},
        {"raw": [0, "uint8"]},
    ],
)
def test_a_forged_header_is_refused(tree: object) -> None:
    with pytest.raises(CheckpointError):
        decode(forged(tree, b"xyz", None))


def sample_checkpoint() -> dict[str, object]:
    return {"w": torch.arange(8.0), "m": np.ones((2, 2)), "b": b"abc", "step": 3, "t": (1, "x")}


def test_truncated_data_is_refused() -> None:
    data = encode(sample_checkpoint())
    for length in [0, 5, 8, 19, 20, 40, len(data) // 2, len(data) - 1]:
        with pytest.raises(CheckpointError):
            decode(data[:length])


def test_bit_flips_anywhere_are_refused() -> None:
    data = encode(sample_checkpoint())
    for position in range(0, len(data), max(1, len(data) // 200)):
        flipped = bytearray(data)
        flipped[position] ^= 0x10
        with pytest.raises(CheckpointError):
            decode(bytes(flipped))


def test_wrong_magic_and_non_checkpoints_are_refused() -> None:
    with pytest.raises(CheckpointError, match="wrong magic"):
        decode(b"POPCKPT9" + encode(1)[8:])
    with pytest.raises(CheckpointError, match="wrong magic"):
        decode(pickle.dumps({"a": 1}))


def test_a_50_mb_state_dict_encodes_and_decodes_fast() -> None:
    state: dict[str, Any] = {f"layer{i}.weight": torch.randn(1_310_720) for i in range(10)}
    state.update({f"layer{i}.bias": np.random.rand(1_310_720).astype(np.float32) for i in range(2)})
    start = time.perf_counter()
    loaded = decode(encode(state))
    elapsed = time.perf_counter() - start
    assert isinstance(loaded, dict)
    assert torch.equal(loaded["layer9.weight"], state["layer9.weight"])
    np.testing.assert_array_equal(loaded["layer1.bias"], state["layer1.bias"])
    assert elapsed < 2.0  # about 0.2 s on a laptop; the margin absorbs slow, shared CI machines


def test_checkpoints_without_tensors_never_import_torch() -> None:
    code = (
        "import sys, numpy as np\n"
        "from populace.checkpoints import decode, encode\n"
        "assert decode(encode({'a': np.ones(2), 'b': [1, (2,)]}))['b'] == [1, (2,)]\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    run([sys.executable, "-c", code], timeout=60, check=True)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text()
    | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(st.integers() | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_like)
def test_json_like_structures_round_trip(obj: object) -> None:
    assert_same(round_trip(obj), obj)
