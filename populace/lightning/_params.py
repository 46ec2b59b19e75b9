"""Writing a member's params into a restored trainer: optimizers, LR schedulers and hparams.

A restore brings back the saver's param groups and scheduler states, so without this step the
params PBT just explored would be silently replaced by the parent's (Ray issue 36660).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch

from populace.torch import apply_params
from populace.torch._rescale import is_factor, rescaled

__all__ = ["optimizer_targets", "reapply", "write_hparams"]

# Params written into param groups by default, by name (apply_params's defaults).
_DEFAULT_KEYS = (
    "lr",
    "momentum",
    "weight_decay",
    "dampening",
    "eps",
    "alpha",
    "betas",
    "beta1",
    "beta2",
)
# Group keys that groups often hold as a multiple of the param (a backbone at lr / 10, biases
# without weight decay): they are scaled by new / saved, so each group keeps its multiple.
_SCALED = ("lr", "weight_decay")
# Where schedulers keep a group's learning rates besides "lr": OneCycleLR's cycle ends in the
# group, base and CyclicLR's upper rates on the scheduler, and the last lr it reports.
_GROUP_LRS = ("lr", "initial_lr", "max_lr", "min_lr")
_SCHEDULER_LRS = ("base_lrs", "max_lrs", "_last_lr")


def optimizer_targets(
    params: Mapping[str, Any], mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """``{param: group key}`` to write: ``mapping``, or the params named like group keys."""
    if mapping is not None:
        return dict(mapping)
    return {name: name for name in params if name in _DEFAULT_KEYS}


def reapply(
    trainer: pl.Trainer,
    params: Mapping[str, Any],
    saved: Mapping[str, Any],
    targets: Mapping[str, str],
) -> None:
    """Make the trainer's optimizers and LR schedulers train with ``params`` after a restore.

    ``saved`` are the params the checkpoint was trained with. ``lr`` and ``weight_decay`` are
    scaled by new / saved in every group, so a group holding the param holds the new value
    exactly and other groups keep their multiple of it; for ``lr`` the schedulers' rates are
    scaled too, so every scheduler goes on with its own shape from the new rate (StepLR,
    CosineAnnealingLR, LambdaLR, OneCycleLR, CyclicLR, ReduceLROnPlateau, SequentialLR...).
    Other keys, and those two when the saved value is zero or missing, are written as they are
    with :func:`populace.torch.apply_params`.
    """
    for optimizer in trainer.optimizers:
        schedulers: list[Any] = [
            config.scheduler
            for config in trainer.lr_scheduler_configs
            if getattr(config.scheduler, "optimizer", None) is optimizer
        ]
        for name, key in targets.items():
            old, new = saved.get(name), params[name]
            if key in _SCALED and is_factor(old, new):
                _scale(optimizer, schedulers, key, old, new)
                continue
            for scheduler in schedulers or [None]:
                apply_params(optimizer, {name: new}, {name: key}, scheduler=scheduler)


def write_hparams(
    module: pl.LightningModule, params: Mapping[str, Any], mapping: Mapping[str, str] | None
) -> None:
    """Write params into ``module.hparams``: ``{param: hparams key}``, or the same names there."""
    if mapping is None:
        mapping = {name: name for name in params if name in module.hparams}
    for name, key in mapping.items():
        module.hparams[key] = params[name]


def _scale(
    optimizer: torch.optim.Optimizer, schedulers: list[Any], key: str, old: Any, new: Any
) -> None:
    if old == new:
        return
    keys = _GROUP_LRS if key == "lr" else (key,)
    for group in optimizer.param_groups:
        for name in keys:
            if name in group:
                group[name] = _scaled(group[name], old, new)
    if key == "lr":
        for scheduler in schedulers:
            _scale_scheduler(scheduler, old, new)


def _scale_scheduler(scheduler: Any, old: Any, new: Any) -> None:
    for name in _SCHEDULER_LRS:
        values = getattr(scheduler, name, None)
        if isinstance(values, list):
            setattr(scheduler, name, [_scaled(value, old, new) for value in values])
    for child in getattr(scheduler, "_schedulers", ()):  # SequentialLR, ChainedScheduler
        _scale_scheduler(child, old, new)


def _scaled(value: Any, old: Any, new: Any) -> Any:
    """``value * new / old``; tensors in place, since compiled and capturable steps keep a
    reference to them."""
    if isinstance(value, torch.Tensor):
        return value.mul_(new / old)
    return rescaled(value, old, new)
