"""PyTorch helpers for ``train(member)``: checkpoint state, restore, mutated params, seeds.

Importing this module imports torch; ``import populace`` alone never does.

Example:
    A population fitting ``y = 2x`` with a linear model, its learning rate explored; each member
    seeds its model before building it, restores its own or its parent's checkpoint, and hands
    ``report`` a lambda, so the state is only built at ready points:

    >>> import torch
    >>> import populace as pop
    >>> import populace.torch as pt
    >>> x = torch.linspace(-1, 1, 16).unsqueeze(1)
    >>> def train(member):
    ...     pt.seed_everything(pt.member_seed(member.id, member.generation))  # before building
    ...     device = pt.device_for(member)
    ...     model, inputs = torch.nn.Linear(1, 1).to(device), x.to(device)
    ...     optimizer = torch.optim.SGD(model.parameters(), lr=member.params["lr"])
    ...     step = 0
    ...     if member.checkpoint is not None:
    ...         own = member.checkpoint.member == member.id  # else it is a parent's
    ...         step = pt.restore(member.checkpoint, model, optimizer,
    ...                           params=member.params, rng=own)
    ...     while step < member.budget:
    ...         loss = torch.nn.functional.mse_loss(model(inputs), 2 * inputs)
    ...         optimizer.zero_grad()
    ...         loss.backward()
    ...         optimizer.step()
    ...         step += 1
    ...         member.report(step, -loss.item(),
    ...                       checkpoint=lambda: pt.state(model, optimizer, step=step))
    >>> result = pop.run(train, pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.5)), population=4,
    ...                  budget=20, interval=5, storage="memory", progress=False)
    >>> result.best.step, result.best.score > -0.5
    (20, True)
"""

from populace._imports import require

# Fail here, with the extra to install, before the submodules import torch themselves.
require("torch", "torch")

from populace.torch._device import device_for  # noqa: E402
from populace.torch._params import apply_params  # noqa: E402
from populace.torch._rng import member_seed, seed_everything  # noqa: E402
from populace.torch._state import restore, state  # noqa: E402

__all__ = ["apply_params", "device_for", "member_seed", "restore", "seed_everything", "state"]
