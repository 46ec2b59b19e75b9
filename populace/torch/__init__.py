"""PyTorch helpers for ``train(member)``: checkpoint state, restore, mutated params, seeds.

Importing this module imports torch; ``import populace`` alone never does.

Example:
    >>> import populace.torch as pt
    >>> def train(member):
    ...     pt.seed_everything(pt.member_seed(member.id, member.generation))  # before building
    ...     model, optimizer = build_model(), build_optimizer(member.params)
    ...     model.to(pt.device_for(member))
    ...     step = 0
    ...     if member.checkpoint is not None:
    ...         own = member.checkpoint.member == member.id  # else it is a parent's
    ...         step = pt.restore(member.checkpoint, model, optimizer,
    ...                           params=member.params, rng=own)
    ...     while step < member.budget:
    ...         step = train_some(model, optimizer, step, member.interval)
    ...         member.report(step, evaluate(model),
    ...                       checkpoint=lambda: pt.state(model, optimizer, step=step))
"""

from populace._imports import require

# Fail here, with the extra to install, before the submodules import torch themselves.
require("torch", "torch")

from populace.torch._device import device_for  # noqa: E402
from populace.torch._params import apply_params  # noqa: E402
from populace.torch._rng import member_seed, seed_everything  # noqa: E402
from populace.torch._state import restore, state  # noqa: E402

__all__ = ["apply_params", "device_for", "member_seed", "restore", "seed_everything", "state"]
