"""SGD with momentum, dampening, Nesterov and weight decay, one value of each per member."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from populace.errors import ConfigurationError
from populace.torch._optim._base import Coefficients, Hyperparameter, VectorOptimizer

__all__ = ["VectorSGD"]


class VectorSGD(VectorOptimizer):
    """``torch.optim.SGD`` for stacked parameters, each hyperparameter a float or a [K] tensor.

    Member k's update is exactly that of ``torch.optim.SGD`` with member k's values. The
    momentum buffer (``state[p]["momentum_buffer"]``, [K, ...]) exists once any member has a
    non-zero momentum; a member with momentum 0 ignores it and its dampening, as SGD does.

    Args:
        params: stacked parameters ([K, ...] each, ``StackedModule.parameters()``) or param
            groups of them, as for ``torch.optim.SGD``.
        lr, momentum, dampening, weight_decay: a float for every member, or a [K] tensor.
        nesterov: Nesterov momentum; every member then needs momentum > 0 and dampening 0.

    Raises:
        ConfigurationError: a value is negative where SGD needs it non-negative, not finite,
            or a tensor of another shape than [K]; a parameter has no leading [K] axis.

    Example:
        >>> import torch
        >>> from populace.torch import VectorSGD
        >>> weight = torch.zeros(3, 2, requires_grad=True)  # 3 members, 2 weights each
        >>> rates = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
        >>> optimizer = VectorSGD([weight], lr=rates)
        >>> weight.sum().backward()
        >>> optimizer.step()
        >>> weight[:, 0]
        tensor([-0.1000, -0.2000, -0.3000], grad_fn=<SelectBackward0>)
    """

    _names = ("lr", "momentum", "dampening", "weight_decay")

    def __init__(
        self,
        params: Iterable[Any],
        lr: Hyperparameter,
        momentum: Hyperparameter = 0.0,
        dampening: Hyperparameter = 0.0,
        weight_decay: Hyperparameter = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        if not group["nesterov"]:
            return
        bad = (group["momentum"] <= 0) | (group["dampening"] != 0)
        if bool(bad.any()):
            member = int(bad.nonzero()[0])
            raise ConfigurationError(
                "nesterov needs momentum > 0 and dampening 0 for every member; member "
                f"{member} has momentum {float(group['momentum'][member])} and dampening "
                f"{float(group['dampening'][member])}"
            )

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        decay, moving = bool(group["weight_decay"].any()), bool(momentum.any())
        coefficients = Coefficients(
            {
                "decay": group["weight_decay"],
                "momentum": momentum,
                "grad_share": torch.where(momentum != 0, 1 - dampening, 1.0),
                "neg_lr": -lr,
            }
        )
        for param in group["params"]:
            if param.grad is None:
                continue
            c = coefficients(param)
            # addcmul with a [K, 1, ...] factor is the kernel of add(..., alpha=scalar) per member.
            grad = torch.addcmul(param.grad, param, c["decay"]) if decay else param.grad
            if moving:
                state = self.state[param]
                buffer = state.get("momentum_buffer")
                if buffer is None:
                    buffer = state["momentum_buffer"] = grad.detach().clone()
                else:
                    buffer.mul_(c["momentum"]).addcmul_(grad, c["grad_share"])
                nesterov = group["nesterov"]
                grad = torch.addcmul(grad, buffer, c["momentum"]) if nesterov else buffer
            param.addcmul_(grad, c["neg_lr"])
