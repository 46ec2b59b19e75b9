"""K same-architecture models as one: parameters and buffers stacked on a leading member axis.

A vectorised population runs every member in one ``vmap`` over the stack, so one forward and one
backward serve the whole population.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from populace.errors import ConfigurationError
from populace.torch._fused import fused_forward, stacked_weight

__all__ = ["StackedModule", "stack_modules"]


def stack_modules(models: Sequence[nn.Module]) -> StackedModule:
    """Stack ``models``, one per member, into a :class:`StackedModule` (member k is ``models[k]``).

    The stack holds copies: training it does not change ``models``.

    Example:
        >>> import torch
        >>> from populace.torch import stack_modules
        >>> stacked = stack_modules([torch.nn.Linear(3, 2) for _ in range(5)])
        >>> stacked(torch.randn(8, 3)).shape  # one batch shared by every member
        torch.Size([5, 8, 2])
        >>> stacked(torch.randn(5, 8, 3), per_member=True).shape  # a batch each
        torch.Size([5, 8, 2])
        >>> [tuple(p.shape) for p in stacked.parameters()]
        [(5, 2, 3), (5, 2)]

    Raises:
        ConfigurationError: ``models`` is empty, two models do not share one architecture (the
            message names the first difference), or a BatchNorm keeps a cumulative average.
    """
    return StackedModule(models)


class StackedModule:
    """K models of one architecture run as one, each tensor with a leading [K] member axis.

    Built by :func:`stack_modules`. Parameters are leaf tensors of shape [K, ...] for an
    optimizer (see ``VectorSGD``); the forward pass is ``vmap`` over ``functional_call`` on a
    copy of the first model kept on the ``meta`` device, or, for an ``nn.Sequential`` of
    ``nn.Linear`` layers and elementwise activations, one batched matrix product per layer
    (the same result, without ``vmap``'s per-call cost). Dropout draws differ per member
    (``randomness="different"``). BatchNorm running statistics are kept per member and updated
    in train mode like the model's own; a BatchNorm with ``momentum=None`` (a cumulative
    average) is refused, since its update reads the batch count as a Python number, which
    ``vmap`` cannot do.
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        if not models:
            raise ConfigurationError("stack_modules needs at least one model, got none")
        signature = _signature(models[0])
        for index, model in enumerate(models[1:], start=1):
            _check_same(signature, _signature(model), index)
        _check_batch_norm(models[0])
        params, buffers = stack_module_state(list(models))
        self._params: dict[str, torch.Tensor] = params
        self._buffers: dict[str, torch.Tensor] = buffers
        self._keys = _state_keys(models[0])
        self._base = _meta_copy(models[0])
        self._size = len(models)
        self._forwards: dict[tuple[int, bool], Callable[..., torch.Tensor]] = {}
        self._fused = fused_forward(self._base, self._size, stacked_weight(params, self._keys))

    def __len__(self) -> int:
        return self._size

    @property
    def training(self) -> bool:
        """Whether the members run in train mode (dropout on, BatchNorm statistics updated)."""
        return self._base.training

    def train(self, mode: bool = True) -> StackedModule:
        """Put every member in train mode (or eval mode when ``mode`` is false)."""
        self._base.train(mode)
        return self

    def eval(self) -> StackedModule:
        """Put every member in eval mode."""
        return self.train(False)

    def __call__(self, *inputs: torch.Tensor, per_member: bool = False) -> torch.Tensor:
        """Run every member on ``inputs`` and return the outputs stacked as [K, ...].

        Args:
            inputs: the model's positional inputs, shared by all members ([B, ...]) or, with
                ``per_member=True``, one slice per member ([K, B, ...]).
            per_member: whether each input has a leading [K] axis to split among the members.

        Raises:
            ConfigurationError: ``per_member`` is true and an input's leading size is not K.
        """
        if per_member:
            for position, value in enumerate(inputs):
                if value.dim() == 0 or value.shape[0] != self._size:
                    raise ConfigurationError(
                        f"per-member input {position} has shape {tuple(value.shape)}; "
                        f"expected a leading axis of {self._size} members"
                    )
        if self._fused is not None and len(inputs) == 1:
            return self._fused(inputs[0], per_member)
        key = (len(inputs), per_member)
        if key not in self._forwards:
            in_dims = (0, 0, *([0 if per_member else None] * len(inputs)))
            self._forwards[key] = vmap(self._member_forward, in_dims, randomness="different")
        return self._forwards[key](self._params, self._buffers, *inputs)

    def _member_forward(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], *inputs: Any
    ) -> torch.Tensor:
        return functional_call(self._base, (params, buffers), inputs)  # type: ignore[no-any-return]

    def parameters(self) -> Iterator[torch.Tensor]:
        """The stacked parameters, [K, ...] leaf tensors, for an optimizer."""
        return iter(self._params.values())

    def named_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        """The stacked parameters by the model's parameter names."""
        return iter(self._params.items())

    def named_buffers(self) -> Iterator[tuple[str, torch.Tensor]]:
        """The stacked buffers (BatchNorm statistics and the like) by the model's buffer names."""
        return iter(self._buffers.items())

    def to(self, device: torch.device | str) -> StackedModule:
        """Move the stack to ``device`` in place, keeping the tensor objects an optimizer holds.

        As with ``nn.Module.to``, an optimizer's state does not move: move before the first step.
        """
        with torch.no_grad():
            for tensor in itertools.chain(self._params.values(), self._buffers.values()):
                tensor.data = tensor.data.to(device)
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The model's state dict keys, each mapped to the live stacked tensor [K, ...]."""
        return {key: self._tensor(name).detach() for key, name in self._keys.items()}

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy a stack's state dict (every tensor [K, ...]) into this stack in place.

        Raises:
            ConfigurationError: a key is missing or unexpected, or a shape differs.
        """
        self._load(state_dict, lambda tensor: tensor, "stack")

    def member_state_dict(self, member: int) -> dict[str, torch.Tensor]:
        """Member ``member``'s state dict, as ``nn.Module.state_dict`` of its own model gives it.

        The tensors are copies, so saving one stores only this member (a view would save the
        whole stack) and further training does not change it.
        """
        self._check_member(member)
        return {
            key: self._tensor(name)[member].detach().clone() for key, name in self._keys.items()
        }

    def load_member_state_dict(self, member: int, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy an ordinary model state dict into member ``member``'s slice, in place.

        Raises:
            ConfigurationError: ``member`` is out of range, a key is missing or unexpected, or
                a shape differs from the model's.
        """
        self._check_member(member)
        self._load(state_dict, lambda tensor: tensor[member], f"member {member}")

    def _tensor(self, name: str) -> torch.Tensor:
        return self._params[name] if name in self._params else self._buffers[name]

    def _check_member(self, member: int) -> None:
        if not 0 <= member < self._size:
            raise ConfigurationError(f"member {member} is out of range for {self._size} members")

    def _load(
        self,
        state_dict: Mapping[str, torch.Tensor],
        target: Callable[[torch.Tensor], torch.Tensor],
        what: str,
    ) -> None:
        missing = [key for key in self._keys if key not in state_dict]
        unexpected = [key for key in state_dict if key not in self._keys]
        if missing or unexpected:
            raise ConfigurationError(
                f"state dict does not fit the {what}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        pairs = [(target(self._tensor(self._keys[key])), state_dict[key]) for key in self._keys]
        for key, (slot, value) in zip(self._keys, pairs, strict=True):
            if slot.shape != value.shape:
                raise ConfigurationError(
                    f"state dict entry {key!r} has shape {tuple(value.shape)}; "
                    f"the {what} needs {tuple(slot.shape)}"
                )
        with torch.no_grad():
            for slot, value in pairs:
                slot.copy_(value)


def _signature(model: nn.Module) -> list[list[tuple[str, str]]]:
    """What two models must share to be stacked: their modules, parameters and buffers, each
    section a list of (thing, description) in the model's order."""
    modules = [
        (f"module {name!r}", f"{type(module).__qualname__} ({_mode(module)})")
        for name, module in model.named_modules()
    ]
    params = [(f"parameter {name!r}", _tensor_kind(p)) for name, p in model.named_parameters()]
    buffers = [(f"buffer {name!r}", _tensor_kind(b)) for name, b in model.named_buffers()]
    return [modules, params, buffers]


def _tensor_kind(tensor: torch.Tensor) -> str:
    grad = ", requires_grad" if tensor.requires_grad else ""
    return f"{tensor.dtype} {list(tensor.shape)} on {tensor.device}{grad}"


def _mode(module: nn.Module) -> str:
    return "train" if module.training else "eval"


def _check_same(
    first: list[list[tuple[str, str]]], other: list[list[tuple[str, str]]], index: int
) -> None:
    for ours_section, theirs_section in zip(first, other, strict=True):
        for ours, theirs in itertools.zip_longest(ours_section, theirs_section):
            if ours != theirs:
                raise ConfigurationError(
                    f"models[{index}] does not share the architecture of models[0]: models[0] "
                    f"has {_described(ours)} where models[{index}] has {_described(theirs)}"
                )


def _described(entry: tuple[str, str] | None) -> str:
    return "nothing" if entry is None else f"{entry[0]}: {entry[1]}"


def _check_batch_norm(model: nn.Module) -> None:
    for name, module in model.named_modules():
        norm = isinstance(module, nn.modules.batchnorm._BatchNorm)
        if norm and module.track_running_stats and module.momentum is None:
            raise ConfigurationError(
                f"module {name!r} is a BatchNorm with momentum=None (a cumulative average), "
                "which cannot be updated under vmap; give it a momentum (0.1 is the default), "
                "set track_running_stats=False, call "
                "torch.func.replace_all_batch_norm_modules_ on the models, or use GroupNorm"
            )


def _meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with its tensors on the ``meta`` device and its tied tensors still tied
    (``model.to("meta")`` would untie them, and an untied copy computes garbage)."""
    memo: dict[int, Any] = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        meta = tensor.detach().to("meta")
        if isinstance(tensor, nn.Parameter):
            meta = nn.Parameter(meta, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = meta
    return copy.deepcopy(model, memo)


def _state_keys(model: nn.Module) -> dict[str, str]:
    """Each key of ``model.state_dict()`` and the name its tensor is stacked under (tied
    parameters appear under several keys but are stacked once)."""
    names = {
        id(tensor): name
        for name, tensor in itertools.chain(model.named_parameters(), model.named_buffers())
    }
    return {key: names[id(t)] for key, t in model.state_dict(keep_vars=True).items()}
