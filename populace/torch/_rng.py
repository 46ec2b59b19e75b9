"""Global RNG states as checkpoint-safe data, and seeds derived per member and generation."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from populace.errors import ConfigurationError

__all__ = ["member_seed", "rng_state", "seed_everything", "set_rng_state"]

_SEED_BOUND = 2**32  # numpy's global RNG takes no larger seed


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global RNG and torch on the CPU and every CUDA device.

    Raises:
        ConfigurationError: ``seed`` is not in ``[0, 2**32)``.
    """
    if not 0 <= seed < _SEED_BOUND:
        raise ConfigurationError(f"seed must be in [0, 2**32), got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds all CUDA devices, lazily if CUDA is not started yet


def member_seed(member_id: int, generation: int, base: int = 0) -> int:
    """Return a seed in ``[0, 2**32)`` that differs per member and generation, reproducibly.

    After an exploit a member trains from its parent's weights; seeding it with its own id and
    generation (instead of restoring the parent's RNG) keeps the two from drawing the same
    dropout masks and batches. ``base`` is the run's seed, so separate runs differ too.

    Raises:
        ConfigurationError: an argument is negative.
    """
    for name, value in (("member_id", member_id), ("generation", generation), ("base", base)):
        if value < 0:
            raise ConfigurationError(f"{name} must be >= 0, got {value!r}")
    return int(np.random.SeedSequence([base, member_id, generation]).generate_state(1)[0])


def rng_state() -> dict[str, Any]:
    """Return the python, numpy and torch global RNG states, made of checkpoint-safe types only."""
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        # One array, not 625 ints: a checkpoint encodes and decodes it in microseconds.
        "python": [version, np.array(internal, dtype=np.uint32), gauss_next],
        "numpy": np.random.get_state(legacy=False),
        "torch": torch.get_rng_state(),
    }
    # A process that never started CUDA has no CUDA draws to replay; asking would start it.
    if torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the global RNG states saved by :func:`rng_state`.

    CUDA states are restored for the devices this process has, by index.

    Raises:
        ConfigurationError: ``state`` lacks the python, numpy or torch part.
    """
    missing = [part for part in ("python", "numpy", "torch") if part not in state]
    if missing:
        raise ConfigurationError(f"checkpoint 'rng' has no {', '.join(map(repr, missing))} state")
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(int(x) for x in internal), gauss_next))
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        for index, device_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state, index)
