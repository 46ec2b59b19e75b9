"""Restoring a saved optimizer and LR scheduler under the member's hyperparameters.

A checkpoint's optimizer state carries the saver's param groups (its learning rate, weight decay,
betas...) and its scheduler state the saver's base learning rates, so loading them as they are
silently trains an explored member with its parent's hyperparameters (Ray issue 36660). Here the
optimizer and scheduler the Trainer has just built from the member's ``TrainingArguments`` are
the reference: their hyperparameters are read first, the saved states loaded, and those
hyperparameters written back, keeping only what the checkpoint must bring: the optimizer's
moments and the scheduler's position in its schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from populace.torch._rescale import as_number, is_factor, rescaled

__all__ = ["restore_under"]

# Param-group keys that are not hyperparameters to write back.
_NOT_HYPERPARAMETERS = ("params", "param_names")


def _configured(
    optimizer: torch.optim.Optimizer, scheduler: Any
) -> tuple[list[dict[str, Any]], list[Any]]:
    """The hyperparameters of a newly built ``optimizer``, group by group, and the rate each
    group's schedule starts from: the scheduler's ``base_lrs`` where it keeps them (every
    schedule of ``get_scheduler`` but ``reduce_lr_on_plateau``), else the group's rate."""
    groups = [
        {key: value for key, value in group.items() if key not in _NOT_HYPERPARAMETERS}
        for group in optimizer.param_groups
    ]
    base_lrs = getattr(scheduler, "base_lrs", None)
    if not isinstance(base_lrs, list) or len(base_lrs) != len(groups):
        base_lrs = [group["lr"] for group in groups]
    return groups, list(base_lrs)


def restore_under(
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    optimizer_state: Mapping[str, Any],
    scheduler_state: Mapping[str, Any],
) -> None:
    """Load the saved states, then give back every hyperparameter the Trainer configured.

    Each group's learning rate becomes the saved one times new base / saved base, so the
    schedule goes on from the step it had reached, now scaled to the member's learning rate
    (with the default linear schedule: ``lr(t) = new base * (1 - t / max_steps)``); a schedule
    without base rates (``reduce_lr_on_plateau``) starts again from the member's rate. Every
    other key (weight decay, betas, eps...) is set to the configured value. The saved moments
    and the scheduler's step count are kept.
    """
    fresh_groups, fresh_bases = _configured(optimizer, scheduler)
    optimizer.load_state_dict(optimizer_state)  # type: ignore[arg-type]
    scheduler.load_state_dict(scheduler_state)
    saved_bases = getattr(scheduler, "base_lrs", None)
    for index, group in enumerate(optimizer.param_groups):
        values, new = fresh_groups[index], fresh_bases[index]
        old = saved_bases[index] if isinstance(saved_bases, list) else None
        lr = rescaled(group["lr"], old, new) if is_factor(old, new) else values["lr"]
        for key, value in values.items():
            group[key] = _assigned(group.get(key), lr if key == "lr" else value)
    if isinstance(saved_bases, list):
        scheduler.base_lrs = fresh_bases
    # get_last_lr() is what the Trainer logs as learning_rate; it would show the saved rate.
    if isinstance(getattr(scheduler, "_last_lr", None), list):
        scheduler._last_lr = [as_number(group["lr"]) for group in optimizer.param_groups]


def _assigned(current: Any, value: Any) -> Any:
    """``value`` as the group stores it: tensors are filled in place, since compiled and
    capturable optimizer steps keep a reference to them."""
    if isinstance(current, torch.Tensor):
        with torch.no_grad():
            current.copy_(torch.as_tensor(value, dtype=current.dtype))
        return current
    if isinstance(current, tuple) and isinstance(value, tuple) and len(current) == len(value):
        return tuple(_assigned(old, new) for old, new in zip(current, value, strict=True))
    return value
