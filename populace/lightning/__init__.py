"""PyTorch Lightning integration: a callback that trains a populace member inside ``trainer.fit``.

Importing this module imports ``lightning`` (``pip install 'populace[lightning]'``); ``import
populace`` alone never does.

``train(member)`` builds the LightningModule from ``member.params`` and a ``Trainer`` with a
:class:`PopulaceCallback`, and calls ``fit``. The callback stops the trainer at the budget,
reports the monitored metric, saves Lightning's checkpoint at ready points (in populace's safe
format, never a pickle), restores it when the member has one, and then writes the member's
params back into the optimizers and LR schedulers, so an explored learning rate is the one that
trains.

Example:
    A population fitting ``y = 2x`` with a linear module, its learning rate explored; one
    populace step is one epoch:

    >>> import torch
    >>> import lightning.pytorch as L
    >>> import populace as pop
    >>> import populace.torch as pt
    >>> from populace.lightning import PopulaceCallback
    >>> x = torch.linspace(-1, 1, 32).unsqueeze(1)
    >>> data = torch.utils.data.TensorDataset(x, 2 * x)
    >>> class Line(L.LightningModule):
    ...     def __init__(self, lr):
    ...         super().__init__()
    ...         self.save_hyperparameters()
    ...         self.layer = torch.nn.Linear(1, 1)
    ...     def training_step(self, batch, index):
    ...         return torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
    ...     def validation_step(self, batch, index):
    ...         self.log("val_loss", torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1]))
    ...     def configure_optimizers(self):
    ...         return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
    >>> def train(member):
    ...     pt.seed_everything(pt.member_seed(member.id, member.generation))
    ...     trainer = L.Trainer(max_epochs=member.budget, logger=False,
    ...                         callbacks=[PopulaceCallback(member, monitor="val_loss")],
    ...                         enable_checkpointing=False, enable_progress_bar=False,
    ...                         enable_model_summary=False)
    ...     loader = torch.utils.data.DataLoader(data, batch_size=8)
    ...     trainer.fit(Line(member.params["lr"]), loader, loader)
    >>> result = pop.run(train, pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.5)), population=2,
    ...                  budget=4, interval=2, direction="minimize", storage="memory",
    ...                  progress=False)
    >>> result.best.step
    4
"""

from populace._imports import require

# Fail here, with the extra to install, before the submodules import lightning themselves.
require("lightning", "lightning")

from populace.lightning._callback import PopulaceCallback  # noqa: E402

__all__ = ["PopulaceCallback"]
