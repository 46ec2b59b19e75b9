"""Writing a member's hyperparameters into an optimizer and its LR scheduler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from populace.errors import ConfigurationError

__all__ = ["apply_params"]

_DEFAULT_KEYS = ("lr", "momentum", "weight_decay", "dampening", "eps", "alpha", "betas")
_BETA_INDEX = {"beta1": 0, "beta2": 1}


def apply_params(
    optimizer: torch.optim.Optimizer,
    params: Mapping[str, Any],
    mapping: Mapping[str, str] | None = None,
    *,
    scheduler: LRScheduler | None = None,
) -> list[str]:
    """Write hyperparameters from ``params`` into every param group of ``optimizer``.

    Call it after loading a checkpoint so that values PBT just explored win over the restored
    ones. By default the params ``lr``, ``momentum``, ``weight_decay``, ``dampening``, ``eps``,
    ``alpha`` and ``betas`` go to the group key of the same name, and ``beta1``/``beta2`` to
    ``betas[0]``/``betas[1]``. ``mapping`` adds or overrides param -> group key renames; a group
    key may be ``"beta1"``/``"beta2"``. A key is written only into groups that already hold it,
    so other params (``batch_size``) are ignored. Tensor-valued hyperparameters are filled in
    place, since compiled and capturable steps keep a reference to them.

    If ``lr`` is written and ``scheduler`` is given, the new lr also becomes the scheduler's
    base lr, so its next step does not bring back the old one: chainable schedulers (StepLR,
    ExponentialLR, ReduceLROnPlateau) go on from the new lr, closed-form ones (LambdaLR,
    CosineAnnealingLR) apply their factor to it. SequentialLR and ChainedScheduler are rebased
    through their children. OneCycleLR and CyclicLR compute lr from their own bounds: map params
    to their group keys (``max_lr``, ``base_lr``) instead.

    Example:
        >>> import torch
        >>> from populace.torch import apply_params
        >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> apply_params(optimizer, {"learning_rate": 0.01, "momentum": 0.5, "batch_size": 64},
        ...              mapping={"learning_rate": "lr"})
        ['lr', 'momentum']
        >>> optimizer.param_groups[0]["lr"]
        0.01

    Returns:
        The group keys written, in the order of ``params``.

    Raises:
        ConfigurationError: a ``betas`` param has the wrong number of values.
    """
    targets = {key: key for key in (*_DEFAULT_KEYS, *_BETA_INDEX)} | dict(mapping or {})
    written: list[str] = []
    for name, value in params.items():
        target = targets.get(name)
        if target is None:
            continue
        key = "betas" if target in _BETA_INDEX else target
        groups = [group for group in optimizer.param_groups if key in group]
        for group in groups:
            group[key] = _merged(group[key], target, value)
        if groups and key not in written:
            written.append(key)
    if scheduler is not None and "lr" in written:
        _rebase(scheduler, [group["lr"] for group in optimizer.param_groups])
    return written


def _merged(current: Any, target: str, value: Any) -> Any:
    """Return ``current`` updated to ``value``, as a group stores it under ``target``."""
    if target in _BETA_INDEX:
        index = _BETA_INDEX[target]
        value = tuple(value if i == index else beta for i, beta in enumerate(current))
    if not isinstance(current, tuple):
        return _assigned(current, value)
    if len(value) != len(current):
        raise ConfigurationError(f"{target} needs {len(current)} values, got {value!r}")
    return tuple(_assigned(old, new) for old, new in zip(current, value, strict=True))


def _assigned(current: Any, value: Any) -> Any:
    if isinstance(current, torch.Tensor):
        current.fill_(value)
        return current
    return value


def _rebase(scheduler: LRScheduler, lrs: list[Any]) -> None:
    """Make ``lrs`` the base and last lrs of ``scheduler`` and of the schedulers it wraps."""
    if hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs = list(lrs)
    # get_last_lr() is what training loops log; it would show the old lr until the next step.
    if hasattr(scheduler, "_last_lr"):
        scheduler._last_lr = list(lrs)
    for child in getattr(scheduler, "_schedulers", ()):
        _rebase(child, lrs)
