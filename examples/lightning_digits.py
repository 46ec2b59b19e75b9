"""PBT on a PyTorch Lightning MLP classifying scikit-learn's bundled digits.

The LightningModule is built from ``member.params``; ``PopulaceCallback`` reports validation
accuracy every epoch, saves and restores Lightning's checkpoint through populace, and writes the
explored learning rate, momentum and weight decay back into the optimizer after a restore. The
data are digits.py's splits (train 1000 / validation 400 / test 397 images).

    python examples/lightning_digits.py                  # population 4, 2 workers, ~30 s
    python examples/lightning_digits.py --population 8 --budget 30 --workers 1
"""

from __future__ import annotations

import logging
import sys
import warnings

import _cli
import lightning.pytorch as L
import torch
from digits import splits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import populace as pop
import populace.torch as ptorch
from populace.lightning import PopulaceCallback

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-3, 1.0),
    momentum=pop.Uniform(0.0, 0.99),
    weight_decay=pop.LogUniform(1e-6, 1e-2),
    dropout=pop.Uniform(0.0, 0.6),
)
DIRECTION = "maximize"
SETTINGS = {"population": 4, "budget": 20, "interval": 2}  # one step = one epoch
QUICK = {"population": 4, "budget": 4, "interval": 2}
BATCH_SIZE = 32


def exploit() -> pop.TruncationExploit:
    """The paper's supervised-learning choice: the bottom 25 % copy the top 25 %."""
    return pop.TruncationExploit()


class DigitsMLP(L.LightningModule):
    """A 64-256-10 MLP; ``hparams.dropout`` is read at every forward pass."""

    def __init__(self, lr: float, momentum: float, weight_decay: float, dropout: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.hidden = nn.Linear(64, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = nn.functional.dropout(
            torch.relu(self.hidden(x)), p=self.hparams.dropout, training=self.training
        )
        return self.out(hidden)  # type: ignore[no-any-return]

    def training_step(self, batch: list[torch.Tensor], index: int) -> torch.Tensor:
        return nn.functional.cross_entropy(self(batch[0]), batch[1])

    def validation_step(self, batch: list[torch.Tensor], index: int) -> None:
        self.log("val_acc", accuracy(self, batch))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(
            self.parameters(),
            lr=self.hparams.lr,
            momentum=self.hparams.momentum,
            weight_decay=self.hparams.weight_decay,
        )


def accuracy(module: nn.Module, data: list[torch.Tensor]) -> torch.Tensor:
    return (module(data[0]).argmax(1) == data[1]).float().mean()


def quiet() -> None:
    """Silence Lightning's per-trainer banners and its warnings about these tiny loaders."""
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")


def train(member: pop.Member) -> None:
    """One member: build the module and trainer, fit until the budget (one step = one epoch)."""
    quiet()
    torch.set_num_threads(1)  # one core per worker process
    ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))  # before building
    data = splits()
    trainer = L.Trainer(
        max_epochs=member.budget,
        callbacks=[PopulaceCallback(member, monitor="val_acc")],
        logger=False,
        enable_checkpointing=False,  # populace keeps the checkpoints
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(
        DigitsMLP(**member.params),
        DataLoader(TensorDataset(*data["train"]), batch_size=BATCH_SIZE, shuffle=True),
        DataLoader(TensorDataset(*data["val"]), batch_size=len(data["val"][0])),
    )


def test_score(result: pop.Population) -> float:
    """Test accuracy of the member the population selects by validation accuracy."""
    best = result.best
    if best is None or best.checkpoint is None:
        raise ValueError(f"population {result.name!r} has no best member with a checkpoint yet")
    module = DigitsMLP(**best.params)
    module.load_state_dict(best.checkpoint.load()["lightning"]["state_dict"])  # type: ignore[index]
    module.eval()
    with torch.no_grad():
        return float(accuracy(module, list(splits()["test"])))


def main(argv: list[str] | None = None) -> int:
    args = _cli.parse(argv, __doc__, "lightning_digits", SETTINGS, "epochs")
    result = _cli.run(train, SPACE, args, exploit=exploit(), direction=DIRECTION)
    best = result.best
    assert best is not None
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget} epochs, {args.workers} workers: "
        f"best validation accuracy {best.score:.4f} (member {best.id}), median member "
        f"{_cli.median_score(result):.4f}, test accuracy of the best {test_score(result):.4f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
