"""A Lightning training state as a populace checkpoint, and restoring it into a new trainer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl

from populace.checkpoints import Checkpoint
from populace.errors import ConfigurationError
from populace.torch._rng import rng_state, set_rng_state

__all__ = ["load", "restore", "state"]

# The module's and datamodule's hparams as Lightning saves them. They are left out: the member's
# params are the truth (stored with the population), the parent's would be stale after an
# explore (Ray issue 36660), and hparams may hold objects the safe format refuses.
_HPARAMS_KEYS = (
    pl.LightningModule.CHECKPOINT_HYPER_PARAMS_KEY,
    pl.LightningModule.CHECKPOINT_HYPER_PARAMS_NAME,
    pl.LightningModule.CHECKPOINT_HYPER_PARAMS_TYPE,
)
_PARTS = ("lightning", "params", "rng")


def state(trainer: pl.Trainer, params: Mapping[str, Any], rng: bool) -> dict[str, Any]:
    """Return the trainer's state as a checkpoint: Lightning's own dict, the params, the RNGs.

    ``lightning`` is what ``ModelCheckpoint`` would save (weights, optimizers, LR schedulers,
    loop progress, callbacks' and precision plugin's states, the ``on_save_checkpoint`` hooks'
    additions) without the hparams; ``params`` are the member's, so that a restore knows what
    the optimizers were configured with; ``rng`` holds the global RNG states, or None.
    """
    lightning = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)
    for key in _HPARAMS_KEYS:
        lightning.pop(key, None)
    return {"lightning": lightning, "params": dict(params), "rng": rng_state() if rng else None}


def load(checkpoint: Checkpoint) -> Mapping[str, Any]:
    """Load ``checkpoint`` and check that :func:`state` made it.

    Raises:
        ConfigurationError: the checkpoint was saved by another training function.
        CheckpointError: its blob is missing or corrupted.
    """
    saved = checkpoint.load()
    if not isinstance(saved, Mapping) or any(part not in saved for part in _PARTS):
        holds = ", ".join(map(repr, saved)) if isinstance(saved, Mapping) else type(saved).__name__
        raise ConfigurationError(
            f"checkpoint of member {checkpoint.member} at step {checkpoint.step} was not saved "
            f"by PopulaceCallback (it holds {holds}); every member of a population must train "
            "with the same train function"
        )
    return saved


def restore(trainer: pl.Trainer, saved: Mapping[str, Any], rng: bool) -> None:
    """Restore the module, datamodule and callbacks now; the training state follows in fit.

    Called from ``on_fit_start``: the trainer then restores precision, loops, optimizers and LR
    schedulers from the same dict, as it does for ``fit(ckpt_path=...)``, and frees it.
    """
    if rng and saved["rng"] is not None:
        set_rng_state(saved["rng"])
    connector = trainer._checkpoint_connector
    connector._loaded_checkpoint = dict(saved["lightning"])
    connector.restore_model()
    connector.restore_datamodule()
    connector.restore_callbacks()
