"""The digits MLP example: one epoch of SGD stacked equals K epochs alone, and a run finishes
with each executor on a small budget."""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path

import pytest
import torch

import populace.torch as ptorch

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
digits_mlp = importlib.import_module("digits_mlp")


def test_a_stacked_epoch_trains_each_member_as_it_would_train_alone() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(100, 64), torch.randint(0, 10, (100,))
    models = [digits_mlp.model() for _ in range(3)]
    lr, momentum, decay = [0.01, 0.1, 0.3], [0.0, 0.5, 0.9], [1e-5, 1e-3, 0.0]
    orders = torch.stack([torch.randperm(100) for _ in models])
    stacked = ptorch.stack_modules(models)
    as_tensor = functools.partial(torch.tensor, dtype=torch.float64)
    opt = ptorch.VectorSGD(
        stacked.parameters(), as_tensor(lr), as_tensor(momentum), weight_decay=as_tensor(decay)
    )
    digits_mlp.sgd_epoch(lambda b: stacked(b, per_member=True), opt, (x, y), orders)
    for k, net in enumerate(models):
        alone = torch.optim.SGD(net.parameters(), lr[k], momentum[k], weight_decay=decay[k])
        digits_mlp.sgd_epoch(net, alone, (x, y), orders[k])
        for name, value in net.state_dict().items():
            torch.testing.assert_close(stacked.member_state_dict(k)[name], value)


@pytest.mark.parametrize("executor", ["vectorized", "serial"])
def test_the_example_runs(executor: str, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--population", "4", "--budget", "2", "--interval", "1", "--storage", "memory"]
    assert digits_mlp.main(["--executor", executor, *flags]) == 0
    out = capsys.readouterr().out
    assert f"population 4, 2 epochs, {executor} executor: best validation accuracy" in out
    assert "test accuracy of the best" in out
