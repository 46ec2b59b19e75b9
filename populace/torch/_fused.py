"""A stack of MLPs run without ``vmap``: each ``nn.Linear`` as one batched matrix product.

For an ``nn.Sequential`` of linear layers and elementwise activations (the policies, critics,
GAN players and tabular models a vectorised population mostly trains), ``torch.baddbmm`` over
the stacked weights computes what ``vmap(functional_call)`` computes, without re-binding the
module's parameters on every call (``benchmarks/vectorized.py`` measures both against a loop
over the models).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

__all__ = ["fused_forward", "stacked_weight"]

# Modules that act on each element alone, so a leading member axis changes nothing for them.
_ELEMENTWISE = (
    nn.Identity,
    nn.Dropout,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
)

Forward = Callable[[torch.Tensor, bool], torch.Tensor]


def fused_forward(
    model: nn.Module, size: int, weight: Callable[[str], torch.Tensor | None]
) -> Forward | None:
    """The batched forward of ``size`` stacked copies of ``model``, or None unless ``model`` is
    an ``nn.Sequential`` of ``nn.Linear`` layers and elementwise activations only.

    ``weight(key)`` returns the stacked [K, ...] tensor of a state-dict key (None if absent,
    as a bias may be). The forward takes one input, shared ([..., in]) or per member
    ([K, ..., in]), and returns [K, ..., out]; the elementwise modules are ``model``'s own, so
    they follow its train or eval mode (dropout draws differ per member and per element).
    """
    if not isinstance(model, nn.Sequential) or any(True for _ in model.buffers()):
        return None
    layers: list[tuple[nn.Module, str]] = list(
        (module, name) for name, module in model.named_children()
    )
    if not all(isinstance(m, (nn.Linear, *_ELEMENTWISE)) for m, _ in layers):
        return None
    plan = [(m, f"{name}.weight", f"{name}.bias") for m, name in layers]

    def forward(inputs: torch.Tensor, per_member: bool) -> torch.Tensor:
        h = inputs if per_member else inputs.expand(size, *inputs.shape)
        for module, weight_key, bias_key in plan:
            if isinstance(module, nn.Linear):
                h = _linear(h, _tensor(weight, weight_key), weight(bias_key))
            else:
                h = module(h)
        return h

    return forward


def _tensor(weight: Callable[[str], torch.Tensor | None], key: str) -> torch.Tensor:
    tensor = weight(key)
    assert tensor is not None, key  # a Linear always has a weight
    return tensor


def _linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """``x @ w.T + b`` for each member: h [K, ..., in], w [K, out, in], b [K, out]."""
    shape = h.shape
    flat = h.reshape(shape[0], -1, shape[-1])
    if b is None:
        out = torch.bmm(flat, w.transpose(1, 2))
    else:
        out = torch.baddbmm(b.unsqueeze(1), flat, w.transpose(1, 2))
    return out.reshape(*shape[:-1], w.shape[1])


def stacked_weight(
    params: Mapping[str, torch.Tensor], keys: Mapping[str, str]
) -> Callable[[str], torch.Tensor | None]:
    """``weight(key)`` over a stack's parameters by state-dict key."""
    return lambda key: params.get(keys[key]) if key in keys else None
