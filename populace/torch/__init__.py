"""PyTorch helpers: checkpoint state, restore, mutated params, seeds, and stacked populations.

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

    A population in one process: four linear models stacked on a leading member axis and
    trained at once, one learning rate per member. One backward over the sum of the members'
    losses gives each member its own gradients; ``member_state_dict`` gives a member back as an
    ordinary model state dict:

    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> stacked = pt.stack_modules([torch.nn.Linear(1, 1) for _ in range(4)])
    >>> rates = torch.tensor([0.0, 0.003, 0.01, 0.1], dtype=torch.float64)  # one per member
    >>> optimizer = pt.VectorSGD(stacked.parameters(), lr=rates, momentum=0.9)
    >>> for _ in range(40):
    ...     losses = ((stacked(x) - 2 * x) ** 2).mean(dim=(1, 2))  # shared x; [4], one per member
    ...     optimizer.zero_grad()
    ...     losses.sum().backward()
    ...     optimizer.step()
    >>> losses.tolist() == sorted(losses.tolist(), reverse=True)  # the higher rates got further
    True
    >>> model = torch.nn.Linear(1, 1)
    >>> model.load_state_dict(stacked.member_state_dict(3))
    <All keys matched successfully>
    >>> round(model.weight.item(), 1)
    2.0

    The optimizer reads its [K] hyperparameter tensors at every step, so an explored value
    takes effect at the next one:

    >>> optimizer.set_member_params(0, {"lr": 0.05, "batch_size": 16})
    ['lr']
    >>> optimizer.param_groups[0]["lr"]
    tensor([0.0500, 0.0030, 0.0100, 0.1000], dtype=torch.float64)
"""

from populace._imports import require

# Fail here, with the extra to install, before the submodules import torch themselves.
require("torch", "torch")

from populace.torch._device import device_for  # noqa: E402
from populace.torch._optim import VectorAdam, VectorAdamW, VectorSGD  # noqa: E402
from populace.torch._params import apply_params  # noqa: E402
from populace.torch._rng import member_seed, seed_everything  # noqa: E402
from populace.torch._stack import StackedModule, stack_modules  # noqa: E402
from populace.torch._state import restore, state  # noqa: E402

__all__ = [
    "StackedModule",
    "VectorAdam",
    "VectorAdamW",
    "VectorSGD",
    "apply_params",
    "device_for",
    "member_seed",
    "restore",
    "seed_everything",
    "stack_modules",
    "state",
]
