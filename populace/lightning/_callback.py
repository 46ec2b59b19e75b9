"""The Lightning callback that trains one populace member inside ``trainer.fit``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.trainer.states import TrainerFn

from populace.errors import ConfigurationError
from populace.lightning._params import optimizer_targets, reapply, write_hparams
from populace.lightning._state import load, restore, state
from populace.runtime import Member

__all__ = ["PopulaceCallback"]

_UNITS = ("epoch", "step")


class PopulaceCallback(pl.Callback):
    """Reports a Lightning run to populace and restores it from the member's checkpoint.

    Add it to the ``Trainer`` that ``train(member)`` builds. The callback

    - makes the trainer stop at ``member.budget`` (it sets ``max_epochs``, or ``max_steps``);
    - reports ``trainer.callback_metrics[monitor]`` at the end of every epoch (``unit="epoch"``:
      after that epoch's validation) or after every validation run (``unit="step"``, a step
      being an optimizer step); at ready points ``report`` saves Lightning's own checkpoint
      (weights, optimizers, LR schedulers, loop progress, callbacks; not the hparams, see
      below) and may unwind ``trainer.fit`` to exploit or explore;
    - when the member has a checkpoint, restores all of it at the start of ``fit``, then writes
      the member's params back into the optimizers, LR schedulers and ``module.hparams``, so
      the values PBT just explored are the ones that train, not the restored ones.

    Whether a higher score is better is ``pop.run(direction=...)``'s to say. An unwind passes
    through ``trainer.fit`` (Lightning calls ``on_exception`` hooks and tears the trainer down,
    and loggers record the run as failed); the next ``train`` call builds a new trainer.

    Args:
        member: The member ``train`` was called with.
        monitor: The logged metric to report, e.g. ``"val_acc"`` logged with ``self.log``.
        unit: What a populace step is: ``"epoch"``, or ``"step"`` (then validation must run
            every k optimizer steps, k dividing ``interval`` and ``budget``:
            ``Trainer(val_check_interval=k, check_val_every_n_epoch=None)``; a member resumed
            mid-epoch trains the rest of that epoch on batches drawn afresh, unless its
            dataloader is stateful, as with Lightning's own mid-epoch checkpoints).
        params: ``{param: param-group key}`` written into every param group holding the key
            after a restore. Default: the params named ``lr``, ``momentum``, ``weight_decay``,
            ``dampening``, ``eps``, ``alpha``, ``betas``, ``beta1``/``beta2`` go to that key.
            ``{}`` writes none. ``lr`` and ``weight_decay`` are scaled by new / saved value, so
            a group keeps its own multiple of the param and every LR scheduler goes on from the
            new rate with its own shape (StepLR, CosineAnnealingLR, LambdaLR, OneCycleLR,
            CyclicLR, ReduceLROnPlateau, SequentialLR, ...); the others are written as is.
        hparams: ``{param: hparams key}`` written into ``module.hparams`` when training starts,
            for values the module reads while training. Default: the params whose names are
            keys of ``module.hparams``.
        apply: ``apply(module, params)``, called last when training starts, for anything else
            (a dropout rate, optimizers of their own: ``module.trainer.optimizers``).
        rng: Save the global RNG states, and restore them from the member's own checkpoint,
            so a member resumed at an epoch's end draws what it would have drawn. After an
            exploit the parent's are never restored: seed with ``populace.torch.member_seed``.

    Raises:
        ConfigurationError: ``unit`` is unknown, or a mapping names a param the member lacks;
            when fitting, the monitored metric was not logged by a ready point (nothing is
            reported), the trainer runs several processes, ``fit`` got a ``ckpt_path`` as well
            as a member checkpoint, or with ``unit="step"`` validation does not run at the ready
            points.
    """

    def __init__(
        self,
        member: Member,
        monitor: str,
        *,
        unit: str = "epoch",
        params: Mapping[str, str] | None = None,
        hparams: Mapping[str, str] | None = None,
        apply: Callable[[pl.LightningModule, Mapping[str, Any]], None] | None = None,
        rng: bool = True,
    ) -> None:
        if unit not in _UNITS:
            raise ConfigurationError(f"unit must be 'epoch' or 'step', got {unit!r}")
        for argument, mapping in (("params", params), ("hparams", hparams)):
            unknown = [name for name in mapping or {} if name not in member.params]
            if unknown:
                raise ConfigurationError(
                    f"{argument} maps {', '.join(map(repr, unknown))}, not params of member "
                    f"{member.id} (it has {', '.join(map(repr, member.params))})"
                )
        self.member = member
        self.monitor = monitor
        self.unit = unit
        self.targets = optimizer_targets(member.params, params)
        self.hparams = hparams
        self.apply = apply
        self.rng = rng
        self._saved_params: Mapping[str, Any] | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != TrainerFn.FITTING:
            return
        if trainer.world_size > 1:
            raise ConfigurationError(
                f"PopulaceCallback trains one member in one process, but the trainer runs "
                f"{trainer.world_size}: use a single-device strategy (workers=N in pop.run "
                "trains members in parallel)"
            )
        if self.unit == "epoch":
            trainer.fit_loop.max_epochs = self.member.budget
        else:
            self._check_validation_schedule(trainer)
            trainer.fit_loop.epoch_loop.max_steps = self.member.budget
            trainer.fit_loop.max_epochs = -1

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        checkpoint = self.member.checkpoint
        if checkpoint is None:
            return
        if trainer.ckpt_path:
            raise ConfigurationError(
                f"trainer.fit got ckpt_path={trainer.ckpt_path!r} but member {self.member.id} "
                "restores its own checkpoint: pass ckpt_path only when member.checkpoint is None"
            )
        saved = load(checkpoint)
        restore(trainer, saved, rng=self.rng and checkpoint.member == self.member.id)
        self._saved_params = saved["params"]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Here, not in on_fit_start: the trainer restores optimizers and schedulers after that.
        if self._saved_params is not None:
            reapply(trainer, self.member.params, self._saved_params, self.targets)
        write_hparams(pl_module, self.member.params, self.hparams)
        if self.apply is not None:
            self.apply(pl_module, self.member.params)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.unit == "epoch":
            self._report(trainer, trainer.current_epoch + 1)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        fitting = trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking
        if self.unit == "step" and fitting:
            self._report(trainer, trainer.global_step)

    def _report(self, trainer: pl.Trainer, step: int) -> None:
        """Report the monitored metric at ``step``; it must be there at a ready point."""
        member = self.member
        ready = member.is_ready(step)
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            if ready:
                raise ConfigurationError(self._missing(trainer, step))
            return
        member.report(
            step, float(value), checkpoint=lambda: state(trainer, member.params, self.rng)
        )

    def _missing(self, trainer: pl.Trainer, step: int) -> str:
        logged = ", ".join(map(repr, trainer.callback_metrics)) or "nothing"
        return (
            f"PopulaceCallback monitors {self.monitor!r}, which was not logged by {self.unit} "
            f"{step}, a ready point of member {self.member.id} (logged: {logged}); log it with "
            f"self.log({self.monitor!r}, ...) in the LightningModule, e.g. in validation_step"
        )

    def _check_validation_schedule(self, trainer: pl.Trainer) -> None:
        """With ``unit="step"``, validation must run at every ready point and at the budget."""
        every, accumulate = trainer.val_check_interval, trainer.accumulate_grad_batches
        steps = every // accumulate if isinstance(every, int) and every % accumulate == 0 else 0
        member = self.member
        if (
            trainer.check_val_every_n_epoch is None
            and steps
            and not (member.interval % steps or member.budget % steps)
        ):
            return
        raise ConfigurationError(
            f"unit='step' reports after validation runs, which must come every k optimizer "
            f"steps with k dividing the interval ({member.interval}) and the budget "
            f"({member.budget}): Trainer(val_check_interval=k * accumulate_grad_batches, "
            f"check_val_every_n_epoch=None), got val_check_interval={every!r}, "
            f"check_val_every_n_epoch={trainer.check_val_every_n_epoch!r}, "
            f"accumulate_grad_batches={accumulate}"
        )
