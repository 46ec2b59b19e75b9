"""Tiny Lightning workloads for the integration tests, importable by worker processes.

A linear classifier on 64 generated points, 4 batches an epoch. Its ``closeness`` metric
depends only on the member's learning rate, so the ranking, and hence who exploits whom, is
known in advance. A recording callback notes, at every training batch, the learning rate the
optimizer really uses.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from typing import Any

import lightning.pytorch as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import populace as pop
import populace.torch as ptorch
from populace.lightning import PopulaceCallback

SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.5))
BEST_LR = 0.03
BATCHES = 4  # per epoch

_generator = torch.Generator().manual_seed(0)
_x = torch.randn(64, 4, generator=_generator)
DATA = TensorDataset(_x, (_x.sum(1) > 0).long())

RECORDS: list[dict[str, Any]] = []
"""What the recording callback saw, batch by batch, in this process."""


def lr_factor(scheduler: str, epoch: int, step: int, total_steps: int) -> float:
    """The factor ``scheduler`` applies to the base learning rate at ``epoch`` / ``step``."""
    if scheduler == "none":
        return 1.0
    if scheduler == "step":  # StepLR(step_size=1, gamma=0.5) stepped every epoch
        return float(0.5**epoch)
    reference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = _scheduler(scheduler, reference, 1.0, total_steps)
    for _ in range(step):
        reference.step()
        schedule.step()
    return float(reference.param_groups[0]["lr"])


def _scheduler(name: str, optimizer: torch.optim.Optimizer, lr: float, total_steps: int) -> Any:
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=total_steps)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


class Tiny(L.LightningModule):
    """Logs ``val_acc`` and ``closeness`` (the higher, the closer lr is to :data:`BEST_LR`)."""

    def __init__(self, lr: float, scheduler: str = "none", total_steps: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = nn.Linear(4, 2)

    def training_step(self, batch: list[torch.Tensor], index: int) -> torch.Tensor:
        return nn.functional.cross_entropy(self.layer(batch[0]), batch[1])

    def validation_step(self, batch: list[torch.Tensor], index: int) -> None:
        self.log("val_acc", (self.layer(batch[0]).argmax(1) == batch[1]).float().mean())
        self.log("closeness", -abs(math.log(self.hparams.lr / BEST_LR)))

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.5)
        if self.hparams.scheduler == "none":
            return optimizer
        name, lr, total = self.hparams.scheduler, self.hparams.lr, self.hparams.total_steps
        interval = "epoch" if name == "step" else "step"
        scheduler = {"scheduler": _scheduler(name, optimizer, lr, total), "interval": interval}
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


class Recorder(L.Callback):
    """Appends the learning rate in use at every training batch to :data:`RECORDS`."""

    def __init__(self, member: pop.Member) -> None:
        self.member = member

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, *_: Any) -> None:
        checkpoint = self.member.checkpoint
        RECORDS.append(
            {
                "member": self.member.id,
                "generation": self.member.generation,
                "param_lr": self.member.params["lr"],
                "lr": trainer.optimizers[0].param_groups[0]["lr"],
                "hparams": dict(module.hparams),
                "epoch": trainer.current_epoch,
                "global_step": trainer.global_step,
                "parent": None if checkpoint is None else checkpoint.member,
                "parent_lr": None if checkpoint is None else checkpoint.load()["params"]["lr"],
            }
        )


def quiet() -> None:
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")


def make_train(
    scheduler: str = "none",
    monitor: str = "closeness",
    unit: str = "epoch",
    stop: Callable[[pop.Member, int], bool] | None = None,
    **options: Any,
) -> Callable[[pop.Member], None]:
    """A ``train(member)`` fitting :class:`Tiny` with a :class:`PopulaceCallback`.

    ``unit="step"`` validates every 2 optimizer steps. ``stop(member, epoch)`` true at an
    epoch's end exits the process's run there (``SystemExit(3)``), like a crash. ``options``
    go to the :class:`PopulaceCallback`.
    """

    def train(member: pop.Member) -> None:
        quiet()
        ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))
        total = member.budget * (BATCHES if unit == "epoch" else 1)
        callbacks: list[L.Callback] = [
            PopulaceCallback(member, monitor=monitor, unit=unit, **options),
            Recorder(member),
        ]
        if stop is not None:
            callbacks.append(_Stop(member, stop))
        validation: dict[str, Any] = {}
        if unit == "step":
            validation = {"val_check_interval": 2, "check_val_every_n_epoch": None}
        trainer = L.Trainer(
            max_epochs=1,  # the callback makes the trainer stop at the budget all the same
            callbacks=callbacks,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            **validation,
        )
        loader = DataLoader(DATA, batch_size=len(DATA) // BATCHES, shuffle=True)
        try:
            trainer.fit(Tiny(member.params["lr"], scheduler, total), loader, loader)
        except pop.Unwind:
            RECORDS.append({"member": member.id, "unwound": trainer.state.status})
            raise

    return train


class _Stop(L.Callback):
    def __init__(self, member: pop.Member, stop: Callable[[pop.Member, int], bool]) -> None:
        self.member, self.stop = member, stop

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.stop(self.member, trainer.current_epoch + 1):
            raise SystemExit(3)


train = make_train()
"""The default workload, by name for worker processes."""
