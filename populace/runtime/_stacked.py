"""Stacked training state: nested mappings and lists whose tensors hold one member per row.

A vectorised shard keeps K members' parameters, optimizer state and buffers in tensors with a
leading [K] axis, inside the structures training code already has (a model's ``state_dict``, an
optimizer's, with its int keys and its ``param_groups`` list). Plain values among them (an
epoch count, a flag) are the same for every member. This module slices one member out as an
ordinary checkpoint, stacks members' checkpoints back into one state, and copies parents'
slices over children's in place at an exploit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from populace._imports import require
from populace.errors import ConfigurationError, ReportError

__all__ = ["check_state", "copy_slots", "leaves", "member_slice", "stack"]

Path = tuple[Any, ...]
_PLAIN = (type(None), bool, int, float, str)
"""Values that are not per member: stored as they are in every member's checkpoint."""


def _where(path: Path) -> str:
    return "state" + "".join(f"[{key!r}]" for key in path)


def leaves(state: object, size: int, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every tensor of ``state`` with its key path, each checked to hold ``size`` members.

    Raises:
        ReportError: ``state`` holds a tensor without a leading axis of ``size`` members, or
            something that is neither a mapping, a list, a tensor nor a plain value.
    """
    torch = require("torch", "torch")
    if not path and not isinstance(state, Mapping):
        raise ReportError(
            f"state must be a mapping of tensors (nested mappings and lists allowed), got "
            f"{type(state).__name__}"
        )
    if isinstance(state, Mapping):
        for key, value in state.items():
            if not isinstance(key, _PLAIN):
                raise ReportError(f"{_where(path)} has a key {key!r}: keys must be plain values")
            yield from leaves(value, size, (*path, key))
    elif isinstance(state, list | tuple):
        for index, value in enumerate(state):
            yield from leaves(value, size, (*path, index))
    elif isinstance(state, torch.Tensor):
        if state.dim() == 0 or state.shape[0] != size:
            raise ReportError(
                f"{_where(path)} must be a tensor with a leading axis of the shard's {size} "
                f"members, got shape {list(state.shape)}"
            )
        yield path, state
    elif not isinstance(state, _PLAIN):
        raise ReportError(
            f"{_where(path)} is a {type(state).__name__}: state holds tensors with a leading "
            "member axis, mappings, lists and plain values (numbers, strings, None)"
        )


def check_state(state: object, size: int) -> None:
    """Raise ReportError unless ``state`` holds only tensors of ``size`` members (see
    :func:`leaves`)."""
    for _ in leaves(state, size):
        pass


def member_slice(state: Any, slot: int) -> Any:
    """Member ``slot``'s own state: each tensor's slice, copied to the CPU (a compact copy, so
    the checkpoint holds that member's values and nothing of the others'); plain values as
    they are."""
    if isinstance(state, Mapping):
        return {key: member_slice(value, slot) for key, value in state.items()}
    if isinstance(state, list | tuple):
        return [member_slice(value, slot) for value in state]
    if isinstance(state, _PLAIN):
        return state
    return state[slot].detach().cpu().clone()


def stack(states: Sequence[Any], device: Any, path: Path = ()) -> Any:
    """Members' checkpoints stacked on a new leading axis, on ``device``.

    Raises:
        ConfigurationError: the checkpoints differ in shape: other keys, list lengths, or plain
            values (which are the same for every member of a stacked state).
    """
    torch = require("torch", "torch")
    first = states[0]
    if isinstance(first, Mapping):
        if not all(isinstance(s, Mapping) and s.keys() == first.keys() for s in states):
            raise _unstackable(path, "mappings with other keys")
        return {key: stack([s[key] for s in states], device, (*path, key)) for key in first}
    if isinstance(first, list | tuple):
        if not all(isinstance(s, list | tuple) and len(s) == len(first) for s in states):
            raise _unstackable(path, "lists of other lengths")
        return [stack([s[i] for s in states], device, (*path, i)) for i in range(len(first))]
    if isinstance(first, _PLAIN):
        if any(s != first for s in states):
            raise _unstackable(path, f"different plain values ({first!r} and others)")
        return first
    return torch.stack([torch.as_tensor(s) for s in states]).to(device)


def _unstackable(path: Path, what: str) -> ConfigurationError:
    return ConfigurationError(
        f"the vectorized executor stacks the members' checkpoints, but at {_where(path)} they "
        f"hold {what}: the state reported at ready points must keep one layout through the run"
    )


def copy_slots(
    state: Mapping[str, Any],
    size: int,
    sources: Mapping[int, int],
    loaded: Mapping[int, object],
) -> None:
    """Copy, in place, slot ``sources[k]``'s state into slot ``k``, and ``loaded[k]`` (a
    member's checkpoint) into slot ``k``, in a state of ``size`` members.

    The copies read the state as it was before any of them, so chains (A copies B while B
    copies C) take the values every member had at the decision.
    """
    torch = require("torch", "torch")
    tensors = list(leaves(state, size))
    with torch.no_grad():
        for path, tensor in tensors:
            if sources:
                index = torch.arange(tensor.shape[0], device=tensor.device)
                for slot, source in sources.items():
                    index[slot] = source
                tensor.copy_(tensor[index])
            for slot, checkpoint in loaded.items():
                tensor[slot].copy_(_at(checkpoint, path))


def _at(checkpoint: object, path: Path) -> Any:
    """The tensor at ``path`` of a member's checkpoint."""
    value: Any = checkpoint
    for key in path:
        present = (
            key in value
            if isinstance(value, Mapping)
            else (isinstance(value, list | tuple) and isinstance(key, int) and key < len(value))
        )
        if not present:
            raise ConfigurationError(
                f"a parent's checkpoint has no {_where(path)}: the state reported at ready "
                "points must keep one layout through the run"
            )
        value = value[key]
    return value
