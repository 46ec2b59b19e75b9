"""A training state as a checkpoint, and restoring it into fresh objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from populace.checkpoints import Checkpoint
from populace.errors import ConfigurationError
from populace.torch._params import apply_params
from populace.torch._rng import rng_state, set_rng_state

__all__ = ["restore", "state"]


def state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    *,
    step: int,
    extra: dict[str, Any] | None = None,
    rng: bool = True,
) -> dict[str, Any]:
    """Return the checkpoint of a training state, for ``member.report(..., checkpoint=...)``.

    The dict holds ``model``, ``optimizer``, ``scheduler`` (their state dicts, or None),
    ``step``, ``rng`` (python, numpy and torch global RNG states, or None when ``rng`` is false)
    and ``extra`` (anything else to keep: dicts, lists, JSON scalars, arrays, tensors). Tensors
    are the live ones, not copies: ``report`` encodes them at once, so hand the dict, or a
    lambda building it, straight to ``report``.
    """
    return {
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "step": step,
        "rng": rng_state() if rng else None,
        "extra": extra,
    }


def restore(
    checkpoint: object,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: LRScheduler | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    rng: bool = True,
) -> int:
    """Load a checkpoint made by :func:`state` into ``model``, ``optimizer`` and ``scheduler``.

    Model and optimizer tensors go to the device of the model's parameters. Restoring the RNG
    states makes training resumed from a member's own checkpoint draw what it would have drawn
    without the interruption. After an exploit the checkpoint is the parent's: pass
    ``rng=False`` and seed with :func:`member_seed` so that the two do not draw alike.

    Args:
        checkpoint: A :class:`~populace.Checkpoint` handle or the dict it loads to (typed
            ``object`` as ``load()`` returns it; checked here). Load it yourself to read
            ``extra``.
        params: Written last with :func:`apply_params` (``scheduler`` included), so explored
            values win over restored ones. To rename params, call :func:`apply_params` yourself.
        rng: Restore the global RNG states, if the checkpoint holds them.

    Example:
        >>> import torch
        >>> from populace.checkpoints import decode, encode
        >>> from populace.torch import restore, state
        >>> model = torch.nn.Linear(2, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> saved = decode(encode(state(model, optimizer, step=40)))
        >>> restore(saved, model, optimizer, params={"lr": 0.05})
        40
        >>> optimizer.param_groups[0]["lr"]
        0.05

    Returns:
        The step stored in the checkpoint.

    Raises:
        ConfigurationError: the checkpoint is not a dict, lacks a part that was asked for, or
            its step is not an int >= 0.
        CheckpointError: ``checkpoint`` is a handle whose blob is missing or corrupted.
    """
    wanted = {"optimizer": optimizer is not None, "scheduler": scheduler is not None, "rng": rng}
    saved = _checked(
        checkpoint.load() if isinstance(checkpoint, Checkpoint) else checkpoint,
        ["model", *(part for part, asked in wanted.items() if asked)],
    )
    model.load_state_dict(saved["model"])
    if optimizer is not None:
        optimizer.load_state_dict(saved["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(saved["scheduler"])
    if rng and saved["rng"] is not None:
        set_rng_state(saved["rng"])
    if params is not None and optimizer is not None:
        apply_params(optimizer, params, scheduler=scheduler)
    step: int = saved["step"]
    return step


def _checked(saved: object, parts: list[str]) -> Mapping[str, Any]:
    """Return ``saved`` if it is a state dict holding ``parts`` and a valid step."""
    if not isinstance(saved, Mapping):
        raise ConfigurationError(
            f"checkpoint must be a dict made by state(), got {type(saved).__name__}"
        )
    missing = [part for part in ("step", *parts) if part not in saved]
    if missing:
        raise ConfigurationError(
            f"checkpoint has no {', '.join(map(repr, missing))} (it holds "
            f"{', '.join(map(repr, saved))}); make it with populace.torch.state()"
        )
    empty = [part for part in parts if part != "rng" and saved[part] is None]
    if empty:
        raise ConfigurationError(f"checkpoint was saved without {' or '.join(empty)} state")
    step = saved["step"]
    if type(step) is not int or step < 0:
        raise ConfigurationError(f"checkpoint 'step' must be an int >= 0, got {step!r}")
    return saved
