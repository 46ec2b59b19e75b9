"""Re-applying params after a restore, scheduler by scheduler, without a trainer: the schedule
goes on exactly as if the member had trained with its new learning rate from the start."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler as schedulers

from populace.lightning._params import optimizer_targets, reapply

Schedule = Callable[[torch.optim.Optimizer, float], Any]
SCHEDULES: dict[str, Schedule] = {
    "none": lambda optimizer, lr: None,
    "step": lambda optimizer, lr: schedulers.StepLR(optimizer, step_size=2, gamma=0.5),
    "exponential": lambda optimizer, lr: schedulers.ExponentialLR(optimizer, gamma=0.9),
    "cosine": lambda optimizer, lr: schedulers.CosineAnnealingLR(optimizer, T_max=12),
    "lambda": lambda optimizer, lr: schedulers.LambdaLR(optimizer, lambda t: 1 / (1 + t)),
    "onecycle": lambda optimizer, lr: schedulers.OneCycleLR(optimizer, [lr, lr / 10], 12),
    "cyclic": lambda optimizer, lr: schedulers.CyclicLR(optimizer, lr / 5, lr, step_size_up=3),
    "plateau": lambda optimizer, lr: schedulers.ReduceLROnPlateau(optimizer, patience=0),
    "warmup then cosine": lambda optimizer, lr: schedulers.SequentialLR(
        optimizer,
        [
            schedulers.LinearLR(optimizer, 0.1, total_iters=3),
            schedulers.CosineAnnealingLR(optimizer, 9),
        ],
        milestones=[3],
    ),
}


def build(name: str, lr: float) -> tuple[torch.optim.Optimizer, Any]:
    """SGD over two groups, the second at a tenth of ``lr`` and without weight decay."""
    groups = [
        {"params": [torch.zeros(1, requires_grad=True)]},
        {"params": [torch.zeros(1, requires_grad=True)], "lr": lr / 10, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=1e-3)
    return optimizer, SCHEDULES[name](optimizer, lr)


def advance(optimizer: torch.optim.Optimizer, scheduler: Any, steps: int, start: int) -> None:
    for t in range(start, start + steps):
        optimizer.step()
        if isinstance(scheduler, schedulers.ReduceLROnPlateau):
            scheduler.step(1.0 + t % 3)  # improves, then stalls twice: reduces now and then
        elif scheduler is not None:
            scheduler.step()


def in_use(optimizer: torch.optim.Optimizer) -> list[float]:
    """Each group's lr, weight decay and momentum, one after the other."""
    return [g[key] for g in optimizer.param_groups for key in ("lr", "weight_decay", "momentum")]


@pytest.mark.parametrize("name", SCHEDULES)
def test_the_schedule_goes_on_as_if_the_new_params_were_there_from_the_start(name: str) -> None:
    optimizer, scheduler = build(name, 0.1)
    advance(optimizer, scheduler, 5, start=0)
    trainer = SimpleNamespace(
        optimizers=[optimizer],
        lr_scheduler_configs=[] if scheduler is None else [SimpleNamespace(scheduler=scheduler)],
    )
    saved, params = {"lr": 0.1, "weight_decay": 1e-3}, {"lr": 0.03, "weight_decay": 4e-3}
    reapply(trainer, params, saved, optimizer_targets(params, None))  # type: ignore[arg-type]
    reference, reference_scheduler = build(name, 0.03)
    for group in reference.param_groups:
        group["weight_decay"] *= 4
    advance(reference, reference_scheduler, 5, start=0)
    assert in_use(optimizer) == pytest.approx(in_use(reference), rel=1e-12)
    for start in range(5, 11):
        advance(optimizer, scheduler, 1, start)
        advance(reference, reference_scheduler, 1, start)
        assert in_use(optimizer) == pytest.approx(in_use(reference), rel=1e-12), start


def test_a_group_holding_the_param_holds_the_new_value_exactly() -> None:
    optimizer, _ = build("none", 0.1)
    trainer = SimpleNamespace(optimizers=[optimizer], lr_scheduler_configs=[])
    reapply(trainer, {"lr": 0.07}, {"lr": 0.1}, {"lr": "lr"})  # type: ignore[arg-type]
    assert optimizer.param_groups[0]["lr"] == 0.07


def test_other_keys_are_written_and_unscalable_values_too() -> None:
    optimizer, _ = build("none", 0.1)
    trainer = SimpleNamespace(optimizers=[optimizer], lr_scheduler_configs=[])
    params = {"lr": 0.05, "momentum": 0.5, "decay": 0.01}
    targets = optimizer_targets(
        params, {"lr": "lr", "momentum": "momentum", "decay": "weight_decay"}
    )
    reapply(trainer, params, {"lr": 0.0, "momentum": 0.9}, targets)  # type: ignore[arg-type]
    # lr was 0 (and weight decay missing) in the checkpoint: no factor, so written as is.
    assert in_use(optimizer) == [0.05, 0.01, 0.5] * 2


def test_default_targets_are_the_params_named_like_group_keys() -> None:
    params = {"lr": 0.1, "beta1": 0.9, "batch_size": 32, "dropout": 0.1}
    assert optimizer_targets(params, None) == {"lr": "lr", "beta1": "beta1"}
    assert optimizer_targets(params, {}) == {}
