"""stack_modules: K models run as one, against the models run one by one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from populace.errors import ConfigurationError
from populace.torch import StackedModule, VectorSGD, stack_modules

K = 4


def _assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    # vmap turns each member's matmul into one batched matmul, which may sum in another order
    # than the member's own: outputs agree to float32 rounding, not bit for bit.
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)


def _mlp(seed: int, norm: nn.Module | None = None) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), norm or nn.Identity(), nn.ReLU(), nn.Linear(8, 3))


def _models(norm: Callable[[], nn.Module] | None = None) -> list[nn.Sequential]:
    return [_mlp(seed, norm() if norm else None) for seed in range(K)]


def test_runs_every_member_on_shared_and_per_member_inputs() -> None:
    models = _models()
    stacked = stack_modules(models)
    shared, own = torch.randn(6, 5), torch.randn(K, 6, 5)
    assert len(stacked) == K
    expected_shared = torch.stack([model(shared) for model in models])
    expected_own = torch.stack([model(own[k]) for k, model in enumerate(models)])
    _assert_close(stacked(shared), expected_shared)
    _assert_close(stacked(own, per_member=True), expected_own)


def test_one_backward_gives_each_member_its_own_gradients() -> None:
    models = _models()
    stacked = stack_modules(models)
    inputs, targets = torch.randn(K, 6, 5), torch.randn(K, 6, 3)
    losses = ((stacked(inputs, per_member=True) - targets) ** 2).mean(dim=(1, 2))
    losses.sum().backward()
    for k, model in enumerate(models):
        nn.functional.mse_loss(model(inputs[k]), targets[k]).backward()
        for (name, stacked_param), param in zip(
            stacked.named_parameters(), model.parameters(), strict=True
        ):
            assert stacked_param.grad is not None and param.grad is not None, name
            _assert_close(stacked_param.grad[k], param.grad)


def test_a_stacked_population_trains_like_its_models() -> None:
    models = _models()
    stacked = stack_modules(models)
    rates = [0.3, 0.1, 0.03, 0.0]
    per_member = torch.tensor(rates, dtype=torch.float64)
    vector = VectorSGD(stacked.parameters(), lr=per_member, momentum=0.9)
    loop = [
        torch.optim.SGD(m.parameters(), lr=r, momentum=0.9)
        for m, r in zip(models, rates, strict=True)
    ]
    torch.manual_seed(0)
    for _ in range(10):
        inputs, targets = torch.randn(K, 6, 5), torch.randn(K, 6, 3)
        losses = ((stacked(inputs, per_member=True) - targets) ** 2).mean(dim=(1, 2))
        vector.zero_grad()
        losses.sum().backward()
        vector.step()
        for k, (model, optimizer) in enumerate(zip(models, loop, strict=True)):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(inputs[k]), targets[k]).backward()
            optimizer.step()
    for k, model in enumerate(models):
        for name, value in model.state_dict().items():
            _assert_close(stacked.member_state_dict(k)[name], value)
    assert torch.equal(
        stacked.member_state_dict(3)["0.weight"], _mlp(3).state_dict()["0.weight"]
    )  # lr 0


def test_the_stack_holds_copies_of_the_models() -> None:
    models = _models()
    before = models[0].state_dict()["0.weight"].clone()
    stacked = stack_modules(models)
    with torch.no_grad():
        next(stacked.parameters()).add_(1.0)
    assert torch.equal(models[0].state_dict()["0.weight"], before)


@pytest.mark.parametrize(
    ("other", "difference"),
    [
        (
            nn.Sequential(nn.Linear(5, 8), nn.Identity(), nn.Tanh(), nn.Linear(8, 3)),
            "models[0] has module '2': ReLU (train) where models[2] has module '2': Tanh (train)",
        ),
        (
            nn.Sequential(nn.Linear(5, 8), nn.Identity(), nn.ReLU(), nn.Linear(8, 4)),
            "parameter '3.weight': torch.float32 [3, 8] on cpu, requires_grad where models[2] "
            "has parameter '3.weight': torch.float32 [4, 8]",
        ),
        (
            _mlp(0).double(),
            "parameter '0.weight': torch.float32 [8, 5] on cpu, requires_grad "
            "where models[2] has parameter '0.weight': torch.float64",
        ),
        (
            _mlp(0).eval(),
            "module '': Sequential (train) where models[2] has module '': Sequential (eval)",
        ),
        (
            nn.Sequential(nn.Linear(5, 8), nn.Identity(), nn.ReLU()),
            "models[0] has module '3': Linear (train) where models[2] has nothing",
        ),
        (
            nn.Sequential(nn.Linear(5, 8), nn.Identity(), nn.ReLU(), nn.Linear(8, 3), nn.ReLU()),
            "models[0] has nothing where models[2] has module '4': ReLU (train)",
        ),
        (
            _mlp(0, nn.BatchNorm1d(8)),
            "models[0] has module '1': Identity (train) where models[2] has module '1': "
            "BatchNorm1d (train)",
        ),
    ],
)
def test_refuses_models_of_another_architecture_naming_the_first_difference(
    other: nn.Module, difference: str
) -> None:
    models: list[nn.Module] = [*_models()]
    models[2] = other
    with pytest.raises(ConfigurationError) as caught:
        stack_modules(models)
    assert "models[2] does not share the architecture of models[0]" in str(caught.value)
    assert difference in str(caught.value)


def test_refuses_no_models() -> None:
    with pytest.raises(ConfigurationError, match="at least one model"):
        stack_modules([])


def test_dropout_differs_per_member_in_train_mode_only() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 64), nn.Dropout(0.5))
    stacked = stack_modules([model] * K)  # identical parameters
    inputs = torch.randn(6, 5)
    assert stacked.training
    outputs = stacked(inputs)
    assert all(not torch.equal(outputs[0], outputs[k]) for k in range(1, K))
    assert stacked.eval() is stacked and not stacked.training
    outputs = stacked(inputs)
    assert all(torch.equal(outputs[0], outputs[k]) for k in range(1, K))
    _assert_close(outputs[0], model.eval()(inputs))
    assert stacked.train().training


def test_batch_norm_keeps_running_statistics_per_member() -> None:
    models = _models(lambda: nn.BatchNorm1d(8))
    stacked = stack_modules(models)
    for _ in range(3):
        inputs = torch.randn(K, 6, 5)
        outputs = stacked(inputs, per_member=True)
        for k, model in enumerate(models):
            _assert_close(outputs[k], model(inputs[k]))
    for k, model in enumerate(models):
        state = stacked.member_state_dict(k)
        assert state["1.num_batches_tracked"].item() == 3
        _assert_close(state["1.running_mean"], model.state_dict()["1.running_mean"])
        _assert_close(state["1.running_var"], model.state_dict()["1.running_var"])
    inputs = torch.randn(6, 5)
    expected = torch.stack([model.eval()(inputs) for model in models])
    _assert_close(stacked.eval()(inputs), expected)


def test_refuses_batch_norm_with_a_cumulative_average_naming_the_fixes() -> None:
    with pytest.raises(ConfigurationError) as caught:
        stack_modules(_models(lambda: nn.BatchNorm1d(8, momentum=None)))
    message = str(caught.value)
    assert "module '1' is a BatchNorm with momentum=None" in message
    for fix in ("track_running_stats=False", "replace_all_batch_norm_modules_", "GroupNorm"):
        assert fix in message
    stack_modules(_models(lambda: nn.BatchNorm1d(8, momentum=None, track_running_stats=False)))


def test_member_state_dict_is_an_ordinary_state_dict_and_a_copy() -> None:
    models = _models(lambda: nn.BatchNorm1d(8))
    stacked = stack_modules(models)
    state = stacked.member_state_dict(2)
    assert list(state) == list(models[2].state_dict())
    fresh = _mlp(9, nn.BatchNorm1d(8))
    fresh.load_state_dict(state)
    for name, value in models[2].state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name
    with torch.no_grad():
        next(stacked.parameters()).add_(1.0)
    assert torch.equal(state["0.weight"], models[2].state_dict()["0.weight"])


def test_load_member_state_dict_writes_only_that_member() -> None:
    models = _models()
    stacked = stack_modules(models)
    new = _mlp(9)
    stacked.load_member_state_dict(1, new.state_dict())
    inputs = torch.randn(6, 5)
    outputs = stacked(inputs)
    _assert_close(outputs[1], new(inputs))
    for k in (0, 2, 3):
        _assert_close(outputs[k], models[k](inputs))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda sd: sd.pop("3.bias"), r"missing keys \['3.bias'\], unexpected keys \[\]"),
        (lambda sd: sd.update(extra=torch.zeros(1)), r"unexpected keys \['extra'\]"),
        (
            lambda sd: sd.update({"3.bias": torch.zeros(4)}),
            r"entry '3.bias' has shape \(4,\); the member 1 needs \(3,\)",
        ),
    ],
)
def test_load_member_state_dict_refuses_a_state_dict_that_does_not_fit(
    edit: Callable[[dict[str, torch.Tensor]], object], message: str
) -> None:
    stacked = stack_modules(_models())
    state = _mlp(9).state_dict()
    edit(state)
    before = stacked.state_dict()["0.weight"].clone()
    with pytest.raises(ConfigurationError, match=message):
        stacked.load_member_state_dict(1, state)
    assert torch.equal(stacked.state_dict()["0.weight"], before)
    with pytest.raises(ConfigurationError, match="member 4 is out of range for 4 members"):
        stacked.member_state_dict(K)


def test_state_dict_round_trips_the_whole_stack() -> None:
    source, target = stack_modules(_models()), stack_modules(_models()[::-1])
    state = source.state_dict()
    assert all(tensor.shape[0] == K for tensor in state.values())
    target.load_state_dict(state)
    inputs = torch.randn(6, 5)
    torch.testing.assert_close(target(inputs), source(inputs), rtol=0, atol=0)
    with pytest.raises(ConfigurationError, match="the stack needs"):
        stack_modules(_models()[:2]).load_state_dict(state)


def test_tied_parameters_are_stacked_once_and_listed_under_every_key() -> None:
    def tied(seed: int) -> nn.Sequential:
        model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
        torch.manual_seed(seed)
        model[2].weight = model[0].weight
        return model

    models = [tied(seed) for seed in range(K)]
    stacked = stack_modules(models)
    assert [name for name, _ in stacked.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    state = stacked.member_state_dict(1)
    assert list(state) == list(models[1].state_dict())
    inputs = torch.randn(3, 4)
    _assert_close(stacked(inputs)[1], models[1](inputs))


def test_refuses_per_member_inputs_without_a_member_axis() -> None:
    stacked = stack_modules(_models())
    with pytest.raises(ConfigurationError, match=r"input 0 has shape \(6, 5\); expected a lead"):
        stacked(torch.randn(6, 5), per_member=True)


def test_to_moves_the_tensors_an_optimizer_holds_in_place() -> None:
    stacked: StackedModule = stack_modules(_models(lambda: nn.BatchNorm1d(8)))
    tensors = [*stacked.parameters(), *(b for _, b in stacked.named_buffers())]
    assert stacked.to(torch.device("cpu")) is stacked
    moved = [*stacked.parameters(), *(b for _, b in stacked.named_buffers())]
    assert all(a is b and b.device.type == "cpu" for a, b in zip(tensors, moved, strict=True))


ARCHITECTURES = {
    # an MLP runs as one batched matrix product per layer (no vmap) ...
    "fused": lambda: nn.Sequential(
        nn.Linear(5, 8, bias=False), nn.LeakyReLU(0.2), nn.Linear(8, 8), nn.GELU(),
        nn.Dropout(0.0), nn.Linear(8, 3),
    ),
    # ... and anything else under vmap
    "vmap": lambda: nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3), nn.Softmax(-1)),
}  # fmt: skip


@pytest.mark.parametrize("kind", ARCHITECTURES)
@pytest.mark.parametrize("shape", [(6, 5), (2, 6, 5), (5,)], ids=["batch", "sequence", "one"])
def test_both_forward_paths_match_the_models_with_their_gradients(
    kind: str, shape: tuple[int, ...]
) -> None:
    torch.manual_seed(3)
    models = [ARCHITECTURES[kind]() for _ in range(K)]
    stacked = stack_modules(models)
    assert (stacked._fused is not None) == (kind == "fused")
    own = torch.randn(K, *shape)
    outputs = stacked(own, per_member=True)
    for k, model in enumerate(models):
        _assert_close(outputs[k], model(own[k]))
    outputs.square().sum().backward()
    for k, model in enumerate(models):
        model(own[k]).square().sum().backward()
        for (name, stacked_param), param in zip(
            stacked.named_parameters(), model.parameters(), strict=True
        ):
            assert stacked_param.grad is not None and param.grad is not None, name
            _assert_close(stacked_param.grad[k], param.grad)
    shared = torch.randn(*shape)
    _assert_close(stacked(shared), torch.stack([model(shared) for model in models]))
