"""VectorSGD / VectorAdam / VectorAdamW against one torch.optim optimizer per member."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import torch

from populace.errors import ConfigurationError
from populace.torch import VectorAdam, VectorAdamW, VectorSGD

K = 4
# Odd sizes, so the kernels' vectorised bodies and scalar tails are both compared.
SHAPES = [(3, 5), (7,), (2, 3, 3)]
STEPS = 20

Factory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]

SGD_CASES: dict[str, dict[str, Any]] = {
    "lr": {"lr": [0.1, 0.05, 0.2, 0.01]},
    "momentum-dampening-decay": {
        "lr": [0.1, 0.05, 0.2, 0.01],
        "momentum": [0.9, 0.0, 0.5, 0.99],
        "dampening": [0.0, 0.3, 0.5, 0.1],
        "weight_decay": [0.0, 1e-2, 1e-3, 0.1],
    },
    "nesterov": {
        "lr": [0.1, 0.05, 0.2, 0.01],
        "momentum": [0.9, 0.1, 0.5, 0.99],
        "weight_decay": [1e-4, 0.0, 1e-3, 0.1],
        "nesterov": True,
    },
}
ADAM_CASES: dict[str, dict[str, Any]] = {
    "adam": {
        "lr": [1e-3, 1e-2, 3e-2, 0.1],
        "betas": ([0.9, 0.8, 0.0, 0.95], [0.999, 0.99, 0.9, 0.5]),
        "eps": [1e-8, 1e-6, 1e-3, 0.1],
    },
    "adam-decay": {
        "lr": [1e-3, 1e-2, 3e-2, 0.1],
        "betas": ([0.9, 0.8, 0.5, 0.95], [0.999, 0.99, 0.9, 0.5]),
        "weight_decay": [0.0, 1e-2, 0.1, 1.0],
    },
    "adamw": {
        "lr": [1e-3, 1e-2, 3e-2, 0.1],
        "betas": ([0.9, 0.8, 0.5, 0.95], [0.999, 0.99, 0.9, 0.5]),
        "weight_decay": [0.0, 1e-2, 0.1, 1.0],
        "decoupled": True,
    },
}


def _member(values: dict[str, Any], k: int) -> dict[str, Any]:
    """Member k's values of per-member lists, as a torch.optim optimizer takes them."""
    picked = {name: v[k] if isinstance(v, list) else v for name, v in values.items()}
    if "betas" in values:
        picked["betas"] = (values["betas"][0][k], values["betas"][1][k])
    return picked


def _stacked(values: dict[str, Any]) -> dict[str, Any]:
    """The same values as [K] float64 tensors: float32 would round 0.9 before ``1 - beta``."""
    stacked = {name: _float64(v) if isinstance(v, list) else v for name, v in values.items()}
    if "betas" in values:
        stacked["betas"] = tuple(_float64(beta) for beta in values["betas"])
    return stacked


def _float64(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _reference(name: str, params: list[torch.Tensor], values: dict[str, Any]) -> Any:
    if name in SGD_CASES:
        return torch.optim.SGD(params, foreach=False, **values)
    decoupled = values.pop("decoupled", False)
    optimizer = torch.optim.AdamW if decoupled else torch.optim.Adam
    return optimizer(params, foreach=False, **values)


def _vector(name: str, params: list[torch.Tensor], values: dict[str, Any]) -> Any:
    return (VectorSGD if name in SGD_CASES else VectorAdam)(params, **values)


def _set_grads(stacked: list[torch.Tensor], members: list[list[torch.Tensor]]) -> None:
    """Give both sides the same gradients, a function of the parameters plus noise."""
    for index, param in enumerate(stacked):
        with torch.no_grad():
            grad = 0.5 * param + torch.randn_like(param)
        param.grad = grad
        for k in range(K):
            members[k][index].grad = grad[k].clone()


def _parameters() -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    stacked = [torch.randn(K, *shape, requires_grad=True) for shape in SHAPES]
    members = [[p[k].detach().clone().requires_grad_() for p in stacked] for k in range(K)]
    return stacked, members


def _assert_same(stacked: list[torch.Tensor], members: list[list[torch.Tensor]]) -> None:
    # Exact: both sides run the same CPU kernels in the same order, with a [K, 1, ...] tensor
    # where torch.optim passes a Python scalar, so every element is rounded identically.
    for index, param in enumerate(stacked):
        expected = torch.stack([member[index].detach() for member in members])
        torch.testing.assert_close(param.detach(), expected, rtol=0, atol=0)


@pytest.mark.parametrize("case", [*SGD_CASES, *ADAM_CASES])
def test_matches_one_torch_optimizer_per_member(case: str) -> None:
    torch.manual_seed(0)
    values = {**SGD_CASES, **ADAM_CASES}[case]
    stacked, members = _parameters()
    vector = _vector(case, stacked, _stacked(values))
    references = [_reference(case, members[k], _member(values, k)) for k in range(K)]
    for step in range(STEPS):
        if step == STEPS // 2:  # a member's rate changed by writing into the live [K] tensor
            vector.param_groups[0]["lr"][2] = 0.003
            references[2].param_groups[0]["lr"] = 0.003
        _set_grads(stacked, members)
        vector.step()
        for reference in references:
            reference.step()
        _assert_same(stacked, members)


def _step_both(
    stacked: list[torch.Tensor],
    members: list[list[torch.Tensor]],
    vector: Any,
    references: list[Any],
    steps: int,
) -> None:
    for _ in range(steps):
        _set_grads(stacked, members)
        vector.step()
        for reference in references:
            reference.step()


@pytest.mark.parametrize("case", [*SGD_CASES, *ADAM_CASES])
def test_a_members_state_dict_continues_in_its_own_torch_optimizer(case: str) -> None:
    torch.manual_seed(0)
    values = {**SGD_CASES, **ADAM_CASES}[case]
    stacked, members = _parameters()
    vector = _vector(case, stacked, _stacked(values))
    _step_both(stacked, members, vector, [], 5)
    members = [[p[k].detach().clone().requires_grad_() for p in stacked] for k in range(K)]
    references = [_reference(case, members[k], {**_member(values, k), "lr": 9.0}) for k in range(K)]
    for k, reference in enumerate(references):
        reference.load_state_dict(vector.member_state_dict(k))
    _step_both(stacked, members, vector, references, 5)
    _assert_same(stacked, members)


@pytest.mark.parametrize("case", [*SGD_CASES, *ADAM_CASES])
def test_load_member_state_dict_takes_each_members_torch_optimizer_state(case: str) -> None:
    torch.manual_seed(0)
    values = {**SGD_CASES, **ADAM_CASES}[case]
    stacked, members = _parameters()
    references = [_reference(case, members[k], _member(values, k)) for k in range(K)]
    _step_both(stacked, members, _vector(case, stacked, _stacked(values)), references, 5)
    with torch.no_grad():
        for index, param in enumerate(stacked):
            param.copy_(torch.stack([member[index] for member in members]))
    nesterov = {"momentum": 0.5} if values.get("nesterov") else {}
    vector = _vector(case, stacked, {**_stacked(values), "lr": 9.0, **nesterov})
    for k, reference in enumerate(references):
        vector.load_member_state_dict(k, reference.state_dict())
    _step_both(stacked, members, vector, references, 5)
    _assert_same(stacked, members)


def test_load_member_state_dict_refuses_other_param_groups() -> None:
    stacked, _ = _parameters()
    vector = VectorSGD(stacked, lr=0.1)
    other = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ConfigurationError, match=r"groups of \[1\] parameters; .* has \[3\]"):
        vector.load_member_state_dict(0, other.state_dict())


def test_adamw_is_decoupled_adam() -> None:
    torch.manual_seed(0)
    stacked, members = _parameters()
    rates = [1e-3, 1e-2, 3e-2, 0.1]
    vector = VectorAdamW(stacked, lr=_float64(rates), weight_decay=0.1)
    references = [
        torch.optim.AdamW(params, lr=rate, weight_decay=0.1, foreach=False)
        for params, rate in zip(members, rates, strict=True)
    ]
    for _ in range(5):
        _set_grads(stacked, members)
        vector.step()
        for reference in references:
            reference.step()
    _assert_same(stacked, members)


@pytest.mark.parametrize("case", ["momentum-dampening-decay", "adam"])
def test_state_is_live_and_stacked_and_round_trips(case: str) -> None:
    torch.manual_seed(0)
    values = _stacked({**SGD_CASES, **ADAM_CASES}[case])
    stacked, _ = _parameters()
    optimizer = _vector(case, stacked, values)
    stacked[0].grad = torch.ones_like(stacked[0])  # the other parameters get no state
    optimizer.step()
    saved = optimizer.state_dict()
    for name, tensor in saved["state"][0].items():
        assert tensor is optimizer.state[stacked[0]][name]
        assert tensor.shape[0] == K
    if case == "adam":
        assert saved["state"][0]["step"].shape == (K,)

    restored_params = [p.detach().clone().requires_grad_() for p in stacked]
    restored = _vector(case, restored_params, {**values, "lr": 0.5})
    restored.load_state_dict(copy.deepcopy(saved))  # a live state dict would share its tensors
    for optimizer_, params in ((optimizer, stacked), (restored, restored_params)):
        params[0].grad = torch.full_like(params[0], 0.5)
        optimizer_.step()
    torch.testing.assert_close(restored_params[0], stacked[0], rtol=0, atol=0)


def test_load_state_dict_keeps_the_live_hyperparameter_tensors() -> None:
    stacked, _ = _parameters()
    optimizer = VectorAdam(stacked, lr=0.1)
    live = optimizer.param_groups[0]["lr"], *optimizer.param_groups[0]["betas"]
    saved = VectorAdam([p.detach().clone() for p in stacked], lr=0.5, betas=(0.5, 0.6))
    optimizer.load_state_dict(saved.state_dict())
    now = optimizer.param_groups[0]["lr"], *optimizer.param_groups[0]["betas"]
    assert all(a is b for a, b in zip(live, now, strict=True))
    assert [t[0].item() for t in now] == [0.5, 0.5, 0.6]


def test_a_float64_hyperparameter_tensor_is_read_by_reference() -> None:
    """The vectorised runtime writes explored values into ``batch.params``: the optimizer given
    those tensors must use them from the next step, without being told."""
    stacked, _ = _parameters()
    lr = torch.full((len(stacked[0]),), 0.1, dtype=torch.float64)
    optimizer = VectorSGD(stacked, lr=lr)
    assert optimizer.param_groups[0]["lr"] is lr
    lr[1] = 0.5  # what an explore of member 1 does
    before = [p.detach().clone() for p in stacked]
    for param in stacked:
        param.grad = torch.ones_like(param)
    optimizer.step()
    for param, old in zip(stacked, before, strict=True):
        torch.testing.assert_close(param[1], old[1] - 0.5)
        torch.testing.assert_close(param[0], old[0] - 0.1)
    copied = VectorSGD(stacked, lr=lr.float())  # another dtype is copied: writes do not reach it
    assert copied.param_groups[0]["lr"] is not lr


def test_load_state_dict_leaves_the_callers_hyperparameter_tensors_alone() -> None:
    """After a restore, a member's mutated params (the caller's tensors) win over saved ones."""
    stacked, _ = _parameters()
    lr = torch.full((len(stacked[0]),), 0.1, dtype=torch.float64)
    optimizer = VectorSGD(stacked, lr=lr, momentum=0.5)
    saved = VectorSGD([p.detach().clone() for p in stacked], lr=0.3, momentum=0.9)
    optimizer.load_state_dict(saved.state_dict())
    assert optimizer.param_groups[0]["lr"] is lr and lr.tolist() == [0.1] * len(lr)
    assert optimizer.param_groups[0]["momentum"].tolist() == [0.9] * len(lr)  # its own


def test_a_member_given_its_parents_slices_follows_the_parent() -> None:
    """What an exploit does: copy parameters, every state tensor and the hyperparameters."""
    torch.manual_seed(0)
    stacked, _ = _parameters()
    optimizer = VectorAdam(stacked, lr=torch.tensor([1e-2, 1e-1, 3e-2, 1e-3]))
    for _ in range(3):
        for param in stacked:
            param.grad = torch.randn_like(param)
        optimizer.step()
    with torch.no_grad():
        for param in stacked:
            param[3] = param[0]
            for tensor in optimizer.state[param].values():
                tensor[3] = tensor[0]
    optimizer.set_member_params(3, {"lr": 1e-2})
    for _ in range(3):
        for param in stacked:
            grad = torch.randn_like(param)
            grad[3] = grad[0]
            param.grad = grad
        optimizer.step()
    for param in stacked:
        torch.testing.assert_close(param[3], param[0], rtol=0, atol=0)


def test_set_member_params_writes_every_group_and_ignores_other_names() -> None:
    first, second = torch.zeros(K, 2, requires_grad=True), torch.zeros(K, requires_grad=True)
    optimizer = VectorAdam([{"params": [first]}, {"params": [second], "lr": 0.5}], lr=0.1)
    written = optimizer.set_member_params(1, {"lr": 0.01, "batch_size": 64, "beta2": 0.9})
    assert written == ["lr", "beta2"]
    assert optimizer.set_member_params(3, {"betas": (0.5, 0.6)}) == ["beta1", "beta2"]
    for group in optimizer.param_groups:
        assert group["lr"][1].item() == 0.01
        assert group["betas"][0].tolist() == [0.9, 0.9, 0.9, 0.5]
        assert group["betas"][1].tolist() == [0.999, 0.9, 0.999, 0.6]
    assert optimizer.param_groups[1]["lr"].tolist() == [0.5, 0.01, 0.5, 0.5]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: VectorSGD(p, lr=-0.1), r"lr must be >= 0.0, got -0.1 for member 0"),
        (
            lambda p: VectorSGD(p, lr=torch.tensor([0.1, 0.1, float("nan"), 0.1])),
            r"lr must be finite, got nan for member 2",
        ),
        (lambda p: VectorSGD(p, lr=torch.ones(3)), r"lr has shape \(3,\); expected .* \(4,\)"),
        (
            lambda p: VectorSGD(p, lr="0.1"),  # type: ignore[arg-type]
            r"lr must be a float or a \[K\] tensor, got '0.1'",
        ),
        (lambda p: VectorAdam(p, lr=0.1, betas=(1.0, 0.9)), r"beta1 must be below 1, got 1.0"),
        (
            lambda p: VectorAdam(p, lr=0.1, betas=(0.9,)),  # type: ignore[arg-type]
            r"betas must be a pair",
        ),
        (lambda p: VectorAdam(p, lr=0.1, eps=float("inf")), r"eps must be finite, got inf"),
        (lambda p: VectorSGD(p, lr=0.1, weight_decay=-1), r"weight_decay must be >= 0.0"),
        (
            lambda p: VectorSGD(
                p, lr=0.1, momentum=torch.tensor([0.9, 0.0, 0.9, 0.9]), nesterov=True
            ),
            r"nesterov needs momentum > 0 .* member 1 has momentum 0.0",
        ),
        (
            lambda p: VectorSGD([*p, torch.zeros(3, 2, requires_grad=True)], lr=0.1),
            r"shape \(3, 2\) has no leading axis of 4 members",
        ),
    ],
)
def test_refuses_bad_hyperparameters(make: Factory, message: str) -> None:
    stacked, _ = _parameters()
    with pytest.raises(ConfigurationError, match=message):
        make(stacked)


def test_set_member_params_refuses_and_writes_nothing() -> None:
    stacked, _ = _parameters()
    optimizer = VectorSGD(stacked, lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(ConfigurationError, match=r"lr must be >= 0\.0, got -1\.0 for member 2"):
        optimizer.set_member_params(2, {"momentum": 0.5, "lr": -1.0})
    with pytest.raises(ConfigurationError, match="nesterov needs momentum > 0"):
        optimizer.set_member_params(2, {"lr": 0.2, "momentum": 0.0})
    with pytest.raises(ConfigurationError, match="member 4 is out of range for 4 members"):
        optimizer.set_member_params(4, {"lr": 0.2})
    group = optimizer.param_groups[0]
    assert group["lr"].tolist() == [0.1] * K
    assert group["momentum"].tolist() == [0.9] * K
