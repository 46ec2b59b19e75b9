"""populace.torch: checkpoint state round trips, mutated params, seeds, devices."""

from __future__ import annotations

import pickle
import random
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
import torch
from _subprocess import run
from torch import nn

from populace import Member
from populace.checkpoints import Checkpoint, LocalCheckpointStore, decode, encode
from populace.errors import ConfigurationError
from populace.torch import apply_params, device_for, member_seed, restore, seed_everything, state

Optimizers = Callable[[nn.Module], torch.optim.Optimizer]


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> None:
    """Train on batches drawn from all three global RNGs, so each one must be restored."""
    for _ in range(steps):
        inputs = torch.randn(8, 4)
        targets = torch.from_numpy(np.random.rand(8, 1).astype(np.float32)) + random.random()
        optimizer.zero_grad()
        nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        scheduler.step()


def _two_groups(model: nn.Module, optimizer: Callable[..., Any], **kwargs: Any) -> Any:
    first, last = model[0], model[-1]  # type: ignore[index]
    groups = [{"params": first.parameters()}, {"params": last.parameters(), "lr": 0.5}]
    return optimizer(groups, lr=0.1, **kwargs)


OPTIMIZERS: dict[str, Optimizers] = {
    "sgd-momentum": lambda m: _two_groups(m, torch.optim.SGD, momentum=0.9, weight_decay=1e-4),
    "adam": lambda m: _two_groups(m, torch.optim.Adam, betas=(0.8, 0.95)),
}


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_restored_training_continues_bitwise_equal(make_optimizer: Optimizers) -> None:
    seed_everything(0)
    model = _model()
    optimizer = make_optimizer(model)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    _train(model, optimizer, scheduler, 3)
    blob = encode(state(model, optimizer, scheduler, step=3))
    _train(model, optimizer, scheduler, 3)

    seed_everything(1)
    fresh = _model()
    fresh_optimizer = make_optimizer(fresh)
    fresh_scheduler = torch.optim.lr_scheduler.StepLR(fresh_optimizer, step_size=2, gamma=0.5)
    assert restore(decode(blob), fresh, fresh_optimizer, fresh_scheduler) == 3
    _train(fresh, fresh_optimizer, fresh_scheduler, 3)

    for expected, got in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(expected, got)
    assert fresh_optimizer.param_groups[1]["lr"] == optimizer.param_groups[1]["lr"]


def test_restore_loads_a_checkpoint_handle_and_keeps_extra(tmp_path: Any) -> None:
    model = _model()
    store = LocalCheckpointStore(tmp_path)
    ref = store.put(state(model, step=7, extra={"epoch": 2, "best": 0.5}))
    handle = Checkpoint(ref, member=0, step=7, store=store)
    fresh = _model()
    assert restore(handle, fresh) == 7
    assert all(map(torch.equal, model.state_dict().values(), fresh.state_dict().values()))
    assert cast(dict, handle.load())["extra"] == {"epoch": 2, "best": 0.5}


def test_restore_without_rng_leaves_the_global_rngs_alone() -> None:
    model = _model()
    saved = decode(encode(state(model, step=1, rng=False)))
    assert cast(dict, saved)["rng"] is None
    seed_everything(5)
    expected = torch.rand(3)
    seed_everything(5)
    restore(saved, model)  # rng=True, but there is nothing to restore
    assert torch.equal(torch.rand(3), expected)


def test_params_win_over_restored_values_in_every_group() -> None:
    model = _model()
    optimizer = OPTIMIZERS["sgd-momentum"](model)
    saved = decode(encode(state(model, optimizer, step=2)))
    fresh = _model()
    fresh_optimizer = OPTIMIZERS["sgd-momentum"](fresh)
    params = {"lr": 0.03, "momentum": 0.5, "weight_decay": 0.01, "batch_size": 64}
    restore(saved, fresh, fresh_optimizer, params=params)
    for group in fresh_optimizer.param_groups:
        assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.03, 0.5, 0.01)
        assert "batch_size" not in group


def test_apply_params_writes_betas_whole_and_by_index() -> None:
    optimizer = OPTIMIZERS["adam"](_model())
    written = apply_params(optimizer, {"lr": 0.2, "betas": (0.7, 0.9), "momentum": 0.3})
    assert written == ["lr", "betas"]
    assert all(g["betas"] == (0.7, 0.9) and g["lr"] == 0.2 for g in optimizer.param_groups)
    assert apply_params(optimizer, {"beta2": 0.99}) == ["betas"]
    assert all(g["betas"] == (0.7, 0.99) for g in optimizer.param_groups)
    assert "momentum" not in optimizer.param_groups[0]
    with pytest.raises(ValueError, match="betas needs 2 values"):
        apply_params(optimizer, {"betas": (0.9,)})


def test_apply_params_mapping_renames_params() -> None:
    optimizer = OPTIMIZERS["adam"](_model())
    mapping = {"learning_rate": "lr", "adam_b1": "beta1"}
    written = apply_params(optimizer, {"learning_rate": 0.004, "adam_b1": 0.6}, mapping)
    assert written == ["lr", "betas"]
    assert all(g["lr"] == 0.004 and g["betas"] == (0.6, 0.95) for g in optimizer.param_groups)


def test_apply_params_ignores_keys_the_groups_lack() -> None:
    optimizer = OPTIMIZERS["sgd-momentum"](_model())
    before = [dict(group) for group in optimizer.param_groups]
    assert apply_params(optimizer, {"beta1": 0.5, "eps": 1e-3, "batch_size": 32}) == []
    assert [dict(group) for group in optimizer.param_groups] == before


def test_apply_params_fills_tensor_lr_in_place() -> None:
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.1))
    lr = optimizer.param_groups[0]["lr"]
    apply_params(optimizer, {"lr": 0.02})
    assert optimizer.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.02)


def test_apply_params_rebases_the_scheduler() -> None:
    optimizer = OPTIMIZERS["sgd-momentum"](_model())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    apply_params(optimizer, {"lr": 0.3}, scheduler=scheduler)
    assert scheduler.base_lrs == [0.3, 0.3] and scheduler.get_last_lr() == [0.3, 0.3]
    optimizer.step()
    scheduler.step()  # epoch 4: StepLR halves the new lr, not the old one
    assert [g["lr"] for g in optimizer.param_groups] == [0.15, 0.15]


def test_apply_params_through_restore_rebases_a_closed_form_scheduler() -> None:
    def make() -> tuple[nn.Module, Any, Any]:
        model = _model()
        optimizer = OPTIMIZERS["sgd-momentum"](model)
        return model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 0.9**e)

    model, optimizer, scheduler = make()
    optimizer.step()
    scheduler.step()
    saved = decode(encode(state(model, optimizer, scheduler, step=1)))
    fresh, fresh_optimizer, fresh_scheduler = make()
    restore(saved, fresh, fresh_optimizer, fresh_scheduler, params={"lr": 0.2})
    assert fresh_scheduler.base_lrs == [0.2, 0.2]
    fresh_optimizer.step()
    fresh_scheduler.step()
    assert [g["lr"] for g in fresh_optimizer.param_groups] == pytest.approx([0.2 * 0.81] * 2)


@pytest.mark.parametrize(
    ("saved", "message"),
    [
        ([1, 2], "must be a dict"),
        ({"model": {}, "rng": None}, "no 'step'"),
        ({"step": 1, "rng": None}, "no 'model'"),
        ({"model": {}, "step": 1}, "no 'rng'"),
        ({"model": {}, "step": -1, "rng": None}, "'step' must be an int"),
    ],
)
def test_restore_rejects_malformed_checkpoints(saved: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        restore(saved, _model())


def test_restore_names_a_part_saved_as_none() -> None:
    model = _model()
    saved = state(model, step=1)
    with pytest.raises(ValueError, match="without optimizer"):
        restore(saved, model, torch.optim.SGD(model.parameters(), lr=0.1))


MISUSES: dict[str, tuple[Callable[[], object], str]] = {
    "betas": (
        lambda: apply_params(OPTIMIZERS["adam"](_model()), {"betas": (0.9,)}),
        r"betas needs 2 values, got \(0.9,\)",
    ),
    "not a dict": (lambda: restore([1, 2], _model()), r"made by state\(\), got list"),
    "no step": (lambda: restore({"model": {}, "rng": None}, _model()), "no 'step'"),
    "bad step": (
        lambda: restore({"model": {}, "step": "1", "rng": None}, _model()),
        "'step' must be an int >= 0, got '1'",
    ),
    "no optimizer": (
        lambda: restore(state(_model(), step=1), _model(), OPTIMIZERS["adam"](_model())),
        "saved without optimizer state",
    ),
    "rng parts": (
        lambda: restore({**state(_model(), step=1), "rng": {"python": None}}, _model()),
        "'rng' has no 'numpy', 'torch' state",
    ),
    "seed": (lambda: seed_everything(2**32), r"seed must be in \[0, 2\*\*32\), got 4294967296"),
    "generation": (lambda: member_seed(0, -1), "generation must be >= 0, got -1"),
}


@pytest.mark.parametrize(("misuse", "message"), MISUSES.values(), ids=MISUSES.keys())
def test_misuse_is_a_configuration_error_naming_the_value(
    misuse: Callable[[], object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        misuse()
    assert isinstance(info.value, ValueError)  # what these raised before


def test_state_holds_only_types_decoded_without_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model()
    optimizer = OPTIMIZERS["adam"](model)
    _train(model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 1), 1)
    blob = encode(state(model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 2), step=1))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle was used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    saved = cast(dict, decode(blob))
    assert _leaf_types(saved) <= {bool, int, float, str, type(None), np.ndarray, torch.Tensor}
    assert isinstance(saved["rng"]["torch"], torch.Tensor)


def _leaf_types(node: object) -> set[type]:
    if isinstance(node, dict):
        return set().union(*map(_leaf_types, node.values()), *map(_leaf_types, node))
    if isinstance(node, (list, tuple)):
        return set().union(*map(_leaf_types, node))
    return {type(node)}


def test_seed_everything_makes_every_rng_reproducible() -> None:
    def draw() -> tuple[Any, ...]:
        return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first
    with pytest.raises(ValueError, match="seed must be"):
        seed_everything(2**32)


def test_member_seed_is_distinct_and_stable() -> None:
    seeds = {member_seed(m, g) for m in range(16) for g in range(16)}
    assert len(seeds) == 256 and all(0 <= s < 2**32 for s in seeds)
    assert member_seed(3, 5) == member_seed(3, 5) != member_seed(3, 5, base=1)
    assert member_seed(0, 0) == 2968811710  # pinned: runs must reseed alike across versions
    with pytest.raises(ValueError, match="generation"):
        member_seed(0, -1)


def test_device_for_defaults_to_cpu() -> None:
    assert device_for(cast(Member, SimpleNamespace(device=None))) == torch.device("cpu")
    assert device_for(cast(Member, SimpleNamespace(device="cuda:1"))) == torch.device("cuda:1")


def test_import_populace_alone_does_not_import_torch() -> None:
    code = "import sys, populace; assert 'torch' not in sys.modules"
    run([sys.executable, "-c", code], timeout=60, check=True)


def test_missing_torch_names_the_extra() -> None:
    code = "import sys; sys.modules['torch'] = None; import populace.torch"
    result = run([sys.executable, "-c", code], timeout=60)
    assert result.returncode != 0 and "pip install 'populace[torch]'" in result.stderr
