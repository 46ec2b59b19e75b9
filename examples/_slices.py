"""Loading a member's slice of a ``train_batch`` state into ordinary ``torch.optim`` objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


def load_optimizer(opt: torch.optim.Optimizer, saved: Mapping[str, Any]) -> None:
    """Load a saved optimizer state into ``opt``, keeping ``opt``'s own hyperparameters.

    ``saved`` is a ``torch.optim`` state dict or a member's slice of a vector optimizer's (a
    ``VectorAdam`` slice has Adam's per-parameter ``step``, ``exp_avg`` and ``exp_avg_sq``, in
    the same parameter order); the slice's hyperparameters are 0-d tensors, which ``torch.optim``
    would not take, and the member's own params win over saved ones anyway.
    """
    groups = zip(opt.param_groups, saved["param_groups"], strict=True)
    opt.load_state_dict(
        {
            "state": saved["state"],
            "param_groups": [{**ours, "params": theirs["params"]} for ours, theirs in groups],
        }
    )
