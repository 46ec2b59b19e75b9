"""What the vector optimizers share: [K] hyperparameters per param group, checked and written
per member, and each member's slice of the optimizer state."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from populace.errors import ConfigurationError

__all__ = ["Coefficients", "Hyperparameter", "VectorOptimizer", "flat"]

Hyperparameter = float | torch.Tensor

# name -> (lowest allowed, whether the highest is 1 excluded); every value must also be finite.
_BOUNDS: dict[str, tuple[float | None, bool]] = {
    "lr": (0.0, False),
    "momentum": (0.0, False),
    "dampening": (None, False),
    "weight_decay": (0.0, False),
    "eps": (0.0, False),
    "beta1": (0.0, True),
    "beta2": (0.0, True),
}


class VectorOptimizer(torch.optim.Optimizer):
    """Param groups whose hyperparameters are [K] float64 tensors, read at every step.

    The tensors stay the same objects for the optimizer's life, so writing
    ``optimizer.param_groups[g]["lr"][k] = 0.01`` changes member k's rate from the next step.
    Such a write is not validated; :meth:`set_member_params` is. A float64 [K] tensor given as
    a hyperparameter (such as the vectorised runtime's ``batch.params["lr"]``) is the caller's:
    the optimizer reads it as it is, and ``load_state_dict`` leaves it alone, so the caller's
    values win over saved ones, as a member's mutated params must after a restore. Other
    values are copied into tensors of the optimizer's own, which ``load_state_dict`` restores.
    Give float64: a float32 0.9 is 0.8999999762, and ``1 - beta`` would no longer match
    ``torch.optim``'s.
    """

    _names: tuple[str, ...]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self._size: int | None = None
        self._callers: set[int] = set()  # ids of the hyperparameter tensors the caller owns
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Update every member's parameters once; ``closure`` re-evaluates the loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        """Update the parameters of one param group."""
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of stacked parameters, its hyperparameters given as floats or [K] tensors.

        Raises:
            ConfigurationError: a parameter has no leading member axis of the optimizer's size,
                or a hyperparameter is out of range, not finite, or of the wrong shape.
        """
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for param in group["params"]:
            self._check_param(param)
        for name in self._names:
            group[name] = self._member_values(name, group[name])
        self._check_group(group)

    def set_member_params(self, member: int, params: Mapping[str, Any]) -> list[str]:
        """Write member ``member``'s hyperparameters from ``params`` into every param group.

        ``params`` is a member's params dict; names this optimizer does not use
        (``batch_size``) are ignored. Adam takes ``betas`` (a pair), or ``beta1``/``beta2``.

        Returns:
            The names written, in the order of ``params``.

        Raises:
            ConfigurationError: ``member`` is out of range or a value is invalid; nothing is
                written then.
        """
        self._check_member(member)
        updates = self._updates(params)
        self._write(member, [updates] * len(self.param_groups))
        return [name for name, _ in updates]

    def member_state_dict(self, member: int) -> dict[str, Any]:
        """Member ``member``'s state dict, as its own ``torch.optim`` optimizer would give it.

        It loads into ``torch.optim.SGD`` / ``Adam`` built over the member's own model (its
        parameters in the model's order); the tensors are copies.
        """
        self._check_member(member)
        packed = self.state_dict()
        state = {
            index: {name: value[member].clone() for name, value in entries.items()}
            for index, entries in packed["state"].items()
        }
        groups = []
        for group in packed["param_groups"]:
            values: dict[str, Any] = {
                name: float(t[member]) for name, t in flat(group, self._names).items()
            }
            if "betas" in self._names:
                values["betas"] = (values.pop("beta1"), values.pop("beta2"))
            groups.append({**group, **values})
        return {"state": state, "param_groups": groups}

    def load_member_state_dict(self, member: int, state_dict: Mapping[str, Any]) -> None:
        """Copy a ``torch.optim`` state dict (one member's) into member ``member``'s slices.

        Members that had no state yet get zeros: a fresh state for Adam; for SGD with
        dampening, a momentum buffer that starts from zero instead of from the first gradient.

        Raises:
            ConfigurationError: ``member`` is out of range, the param groups do not hold as many
                parameters as this optimizer's, or a hyperparameter is invalid.
        """
        self._check_member(member)
        groups = state_dict["param_groups"]
        theirs, ours = (
            [len(g["params"]) for g in groups],
            [len(g["params"]) for g in self.param_groups],
        )
        if theirs != ours:
            raise ConfigurationError(
                f"state dict has param groups of {theirs} parameters; this optimizer has {ours}"
            )
        self._write(member, [self._updates(group) for group in groups])
        indices = [index for group in groups for index in group["params"]]
        params = [param for group in self.param_groups for param in group["params"]]
        for index, param in zip(indices, params, strict=True):
            state = self.state[param]
            for name, value in state_dict["state"].get(index, {}).items():
                if name not in state:
                    device = "cpu" if name == "step" else param.device  # as torch.optim keeps it
                    state[name] = value.new_zeros((param.shape[0], *value.shape), device=device)
                state[name][member].copy_(value)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict, copying its hyperparameters into the optimizer's own [K] tensors
        (not into the caller's: see the class).

        Raises:
            ConfigurationError: a saved hyperparameter does not fit this optimizer.
        """
        saved = [
            {name: self._member_values(name, group[name], given=False) for name in self._names}
            for group in state_dict["param_groups"]
        ]
        live = [{name: group[name] for name in self._names} for group in self.param_groups]
        super().load_state_dict(state_dict)
        for group, values, tensors in zip(self.param_groups, saved, live, strict=True):
            flat_tensors, flat_values = flat(tensors, self._names), flat(values, self._names)
            for name, tensor in flat_tensors.items():
                if id(tensor) not in self._callers:
                    tensor.copy_(flat_values[name])
            group.update(tensors)

    def _check_member(self, member: int) -> None:
        size = self._size or 0
        if not 0 <= member < size:
            raise ConfigurationError(f"member {member} is out of range for {size} members")

    def _updates(self, values: Mapping[str, Any]) -> list[tuple[str, float]]:
        """The hyperparameters among ``values``, ``betas`` split into ``beta1`` and ``beta2``."""
        values = dict(values)
        if "betas" in values and "betas" in self._names:
            values["beta1"], values["beta2"] = values.pop("betas")
        settable = flat(self.param_groups[0], self._names)
        return [(name, float(value)) for name, value in values.items() if name in settable]

    def _write(self, member: int, updates: list[list[tuple[str, float]]]) -> None:
        """Write one list of updates into each param group, all of them or, if one is invalid,
        none."""
        for name, value in (update for group in updates for update in group):
            _check_values(name, torch.tensor([value], dtype=torch.float64), first=member)
        flats = [flat(group, self._names) for group in self.param_groups]
        previous = [{name: float(t[member]) for name, t in tensors.items()} for tensors in flats]
        try:
            for tensors, group_updates in zip(flats, updates, strict=True):
                for name, value in group_updates:
                    tensors[name][member] = value
            for group in self.param_groups:
                self._check_group(group)
        except ConfigurationError:
            for tensors, values in zip(flats, previous, strict=True):
                for name, value in values.items():
                    tensors[name][member] = value
            raise

    def _check_param(self, param: torch.Tensor) -> None:
        if self._size is None and param.dim() > 0:
            self._size = param.shape[0]
        if param.dim() == 0 or param.shape[0] != self._size:
            raise ConfigurationError(
                f"parameter of shape {tuple(param.shape)} has no leading axis of "
                f"{self._size} members; pass the parameters of one StackedModule"
            )

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ConfigurationError if the group's values do not work together."""

    def _member_values(self, name: str, value: Any, given: bool = True) -> Any:
        """``value`` as checked [K] tensors; a tensor kept as it is is the caller's if
        ``given`` (a constructor argument, not a saved state)."""
        if name == "betas":
            if not isinstance(value, tuple | list) or len(value) != 2:
                raise ConfigurationError(f"betas must be a pair (beta1, beta2), got {value!r}")
            return tuple(self._member_values(f"beta{i + 1}", v, given) for i, v in enumerate(value))
        values = _as_member_tensor(name, value, self._size or 0)
        _check_values(name, values)
        if given and values is value:
            self._callers.add(id(values))
        return values


class Coefficients:
    """One step's per-member scalars as [K, 1, ...] tensors of each parameter's dtype and device.

    ``values`` are [K] float64 tensors, cast once per kind of parameter, as ``torch.optim``
    casts its Python scalars inside each kernel.
    """

    def __init__(self, values: dict[str, torch.Tensor]) -> None:
        self._values = values
        self._cast: dict[tuple[torch.device, torch.dtype, int], dict[str, torch.Tensor]] = {}

    def __call__(self, param: torch.Tensor) -> dict[str, torch.Tensor]:
        key = (param.device, param.dtype, param.dim())
        if key not in self._cast:
            shape = (-1,) + (1,) * (param.dim() - 1)
            self._cast[key] = {
                name: value.to(param.device, param.dtype).view(shape)
                for name, value in self._values.items()
            }
        return self._cast[key]


def flat(group: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The group's [K] tensors by name, ``betas`` split into ``beta1`` and ``beta2``."""
    values = {name: group[name] for name in names if name != "betas"}
    if "betas" in names:
        values["beta1"], values["beta2"] = group["betas"]
    return values


def _as_member_tensor(name: str, value: Any, size: int) -> torch.Tensor:
    """``value`` (a number or a [K] tensor) as a [K] float64 tensor.

    A float64 [K] tensor is kept as it is, on its device, so writes into it (the vectorised
    runtime's explored values in ``batch.params``) take effect at the next step; anything else
    is copied into a new CPU tensor.
    """
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        if value.shape != (size,):
            raise ConfigurationError(
                f"{name} has shape {tuple(value.shape)}; expected a float or a tensor of shape "
                f"({size},), one value per member"
            )
        if value.dtype == torch.float64 and not value.requires_grad:
            return value
        return value.detach().to("cpu", torch.float64, copy=True)
    if isinstance(value, bool) or not isinstance(value, int | float | torch.Tensor):
        raise ConfigurationError(f"{name} must be a float or a [K] tensor, got {value!r}")
    return torch.full((size,), float(value), dtype=torch.float64)


def _check_values(name: str, values: torch.Tensor, first: int = 0) -> None:
    """Raise ConfigurationError naming the first member whose ``name`` is out of range."""
    low, below_one = _BOUNDS[name]
    for offset, value in enumerate(values.tolist()):
        if not math.isfinite(value):
            problem = "must be finite"
        elif low is not None and value < low:
            problem = f"must be >= {low}"
        elif below_one and value >= 1:
            problem = "must be below 1"
        else:
            continue
        raise ConfigurationError(f"{name} {problem}, got {value} for member {first + offset}")
