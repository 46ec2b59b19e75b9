"""Adam and AdamW (decoupled weight decay), one value of each hyperparameter per member."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from populace.torch._optim._base import Coefficients, Hyperparameter, VectorOptimizer, flat

__all__ = ["VectorAdam", "VectorAdamW"]


class VectorAdam(VectorOptimizer):
    """``torch.optim.Adam`` (``AdamW`` if ``decoupled``) for stacked parameters, per-member values.

    Each hyperparameter (``lr``, either of ``betas``, ``eps``, ``weight_decay``) is a float or
    a [K] tensor. The state holds ``step``, a [K] float32 tensor on the CPU like
    ``torch.optim.Adam``'s scalar one, so an exploit can copy a parent's step count with its
    moments ``exp_avg`` and ``exp_avg_sq`` ([K, ...] each).

    Args:
        params: stacked parameters ([K, ...] each) or param groups of them.
        lr, betas, eps, weight_decay: a float for every member, or a [K] tensor (each beta too).
        decoupled: decay the weights directly, as ``AdamW``, instead of through the gradient.

    Raises:
        ConfigurationError: a value is negative, not finite, a beta is not in [0, 1), a tensor
            has another shape than [K], or a parameter has no leading [K] axis.
    """

    _names = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Any],
        lr: Hyperparameter,
        betas: tuple[Hyperparameter, Hyperparameter] = (0.9, 0.999),
        eps: Hyperparameter = 1e-8,
        weight_decay: Hyperparameter = 0.0,
        decoupled: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        hyper = {name: t.tolist() for name, t in flat(group, self._names).items()}
        decay = any(hyper["weight_decay"])
        # Parameters are usually at the same step counts, so their coefficients are shared.
        by_steps: dict[tuple[float, ...], Coefficients] = {}
        for param in group["params"]:
            if param.grad is None:
                continue
            steps = tuple(self._advance(param))
            if steps not in by_steps:
                by_steps[steps] = Coefficients(_adam_values(hyper, steps))
            decoupled = group["decoupled_weight_decay"]
            self._update(param, by_steps[steps](param), decoupled, decay)

    def _advance(self, param: torch.Tensor) -> list[float]:
        """Count one more step for ``param`` (creating its state) and return the step counts."""
        state = self.state[param]
        if not state:
            state["step"] = torch.zeros(param.shape[0], dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state["step"] += 1
        return state["step"].tolist()  # type: ignore[no-any-return]

    def _update(
        self, param: torch.Tensor, c: dict[str, torch.Tensor], decoupled: bool, decay: bool
    ) -> None:
        grad = param.grad
        assert grad is not None
        if decay and decoupled:
            param.mul_(c["decay_factor"])
        elif decay:
            grad = torch.addcmul(grad, param, c["decay"])
        exp_avg, exp_avg_sq = self.state[param]["exp_avg"], self.state[param]["exp_avg_sq"]
        exp_avg.lerp_(grad, c["one_minus_beta1"])
        # Scaling grad first keeps addcmul's order: value * t1 * t2, as Adam's value=1 - beta2.
        exp_avg_sq.mul_(c["beta2"]).addcmul_(grad * c["one_minus_beta2"], grad)
        denom = (exp_avg_sq.sqrt() / c["bias_correction2_sqrt"]).add_(c["eps"])
        param.addcdiv_(exp_avg * c["neg_step_size"], denom)


class VectorAdamW(VectorAdam):
    """``torch.optim.AdamW`` for stacked parameters: :class:`VectorAdam` with decoupled decay."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: Hyperparameter,
        betas: tuple[Hyperparameter, Hyperparameter] = (0.9, 0.999),
        eps: Hyperparameter = 1e-8,
        weight_decay: Hyperparameter = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled=True)


def _adam_values(
    hyper: dict[str, list[float]], steps: tuple[float, ...]
) -> dict[str, torch.Tensor]:
    """Adam's per-member scalars, computed in Python floats as ``torch.optim.Adam`` does."""
    columns: dict[str, list[float]] = {
        "decay_factor": [],
        "one_minus_beta1": [],
        "one_minus_beta2": [],
        "bias_correction2_sqrt": [],
        "neg_step_size": [],
    }
    rows = zip(
        hyper["lr"], hyper["beta1"], hyper["beta2"], hyper["weight_decay"], steps, strict=True
    )
    for lr, beta1, beta2, weight_decay, step in rows:
        columns["decay_factor"].append(1 - lr * weight_decay)
        columns["one_minus_beta1"].append(1 - beta1)
        columns["one_minus_beta2"].append(1 - beta2)
        columns["bias_correction2_sqrt"].append((1 - beta2**step) ** 0.5)
        columns["neg_step_size"].append(-(lr / (1 - beta1**step)))
    given = {"decay": "weight_decay", "beta2": "beta2", "eps": "eps"}
    columns |= {name: hyper[key] for name, key in given.items()}
    return {name: torch.tensor(values, dtype=torch.float64) for name, values in columns.items()}
