"""A Trainer checkpoint folder as a populace checkpoint: what is stored and how it comes back.

What is loaded, and how (nothing is unpickled beyond ``torch.load(weights_only=True)``):

- ``model.safetensors`` and ``config.json``: by the Trainer (``resume_from_checkpoint``), with
  safetensors and JSON; ``populace best --out`` writes them out for ``from_pretrained``.
- ``optimizer.pt`` and ``scheduler.pt``: taken out of the folder here with
  ``torch.load(weights_only=True)`` and loaded by the callback under the member's
  hyperparameters (:mod:`populace.transformers._optimizer`), not by the Trainer, which would
  bring back the saver's.
- ``trainer_state.json`` (global step, log history): by the Trainer, as JSON.
- ``rng_state.pth`` and ``scaler.pt``: by the Trainer, with ``torch.load(weights_only=True)``.
  The RNG states come back only into the member that saved them; after an exploit the file is
  dropped, so that the member does not draw its parent's batches and dropout masks again.
- ``training_args.bin`` is never stored: it is a full pickle, which the Trainer never reads
  when resuming, and it would carry the saver's hyperparameters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers.trainer import (
    OPTIMIZER_NAME,
    SCHEDULER_NAME,
    TRAINER_STATE_NAME,
    TRAINING_ARGS_NAME,
)

from populace.checkpoints import Checkpoint
from populace.errors import ConfigurationError

__all__ = ["TrainingState", "for_storage", "restore_folder"]

_RNG_NAME = "rng_state.pth"
_REQUIRED = (TRAINER_STATE_NAME, OPTIMIZER_NAME, SCHEDULER_NAME)

TrainingState = tuple[Mapping[str, Any], Mapping[str, Any]]
"""The optimizer's and the LR scheduler's saved state dicts."""


def for_storage(folder: Path) -> Path:
    """Make the Trainer's checkpoint ``folder`` ready to be stored, and return it.

    Raises:
        ConfigurationError: the Trainer saved no trainer state, optimizer or scheduler there.
    """
    missing = _missing(folder)
    if missing:
        raise ConfigurationError(
            f"the Trainer's checkpoint {str(folder)!r} lacks {', '.join(missing)}: populace "
            "needs the optimizer and scheduler states (TrainingArguments(save_only_model=False)"
            ", one process)"
        )
    (folder / TRAINING_ARGS_NAME).unlink(missing_ok=True)
    return folder


def restore_folder(
    checkpoint: Checkpoint, dest: str | os.PathLike[str], own: bool
) -> tuple[Path, TrainingState]:
    """Write ``checkpoint`` into the new folder ``dest`` for ``Trainer.train(resume_from_...)``.

    The optimizer and scheduler states are taken out of the folder and returned, so that the
    Trainer does not load them; the RNG states are left in only when ``own`` (the member
    restores its own checkpoint).

    Raises:
        ConfigurationError: the checkpoint was not saved by ``PopulaceCallback``.
        CheckpointError: it is damaged, or ``dest`` is not a new or empty folder.
    """
    if not checkpoint.is_directory:
        raise _foreign(checkpoint, "an object, not a folder")
    folder = checkpoint.load_directory(dest)
    missing = _missing(folder)
    if missing:
        raise _foreign(checkpoint, f"a folder without {', '.join(missing)}")
    states = tuple(_take(folder / name) for name in (OPTIMIZER_NAME, SCHEDULER_NAME))
    if not own:
        (folder / _RNG_NAME).unlink(missing_ok=True)
    return folder, (states[0], states[1])


def _missing(folder: Path) -> list[str]:
    return [name for name in _REQUIRED if not (folder / name).is_file()]


def _take(path: Path) -> Mapping[str, Any]:
    """Load a saved state dict without unpickling objects, and remove its file."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    path.unlink()
    if not isinstance(state, Mapping):
        raise ConfigurationError(f"{path.name} holds {type(state).__name__}, not a state dict")
    return state


def _foreign(checkpoint: Checkpoint, what: str) -> ConfigurationError:
    return ConfigurationError(
        f"checkpoint of member {checkpoint.member} at step {checkpoint.step} is {what}: it was "
        "not saved by populace.transformers.PopulaceCallback; every member of a population must "
        "train with the same train function"
    )
