"""PBT on a small PyTorch CNN classifying scikit-learn's bundled digits (the main job).

Eight members search learning rate, momentum, weight decay and batch size with two worker
processes; every 4 epochs the bottom quarter copies the top quarter and explores. The score PBT
optimises is validation accuracy; the winner is then measured on a held-out test split.

    python examples/digits.py                      # population 8, 2 workers, ~1 minute
    python examples/digits.py --population 4 --budget 12 --workers 1
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import _cli
import numpy as np
import torch
from torch import nn

import populace as pop
import populace.torch as ptorch

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-3, 1.0),
    momentum=pop.Uniform(0.0, 0.99),
    weight_decay=pop.LogUniform(1e-6, 1e-2),
    batch_size=pop.Choice([16, 32, 64, 128], ordered=True),
)
DIRECTION = "maximize"
SETTINGS = {"population": 8, "budget": 40, "interval": 4}  # one step = one epoch
QUICK = {"population": 4, "budget": 4, "interval": 2}


def exploit() -> pop.TruncationExploit:
    """The paper's supervised-learning choice: the bottom 25 % copy the top 25 %."""
    return pop.TruncationExploit()


@functools.cache
def splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Train 1000 / validation 400 / test 397 images, fixed and stratified.

    Cached: a worker calls ``train`` again whenever a member resumes, pauses or exploits.
    scikit-learn is imported here, not at the top: worker processes import this module, and
    scikit-learn takes as long to import as torch.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, train_size=1000, stratify=y, random_state=0
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, train_size=400, stratify=y_rest, random_state=0
    )
    tensors = {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}
    return {k: (torch.from_numpy(a), torch.from_numpy(b)) for k, (a, b) in tensors.items()}


def model() -> nn.Module:
    """Two 3x3 convolutions and a linear classifier over the 8x8 images (flattened to 64)."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(64 * 4 * 4, 10),
    )


def accuracy(net: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    net.eval()
    with torch.no_grad():
        return float((net(data[0]).argmax(1) == data[1]).float().mean())


def train(member: pop.Member) -> None:
    """One member: train from its checkpoint (or scratch) to its budget, one step = one epoch."""
    fit(member, splits())


def fit(member: pop.Member, data: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Train ``member`` on ``data["train"]``, reporting accuracy on ``data["val"]`` each epoch.

    A ``dropout`` param, when the space has one, sets the model's dropout rate.
    """
    # Seeded first: the initial weights, and each generation's draws, depend only on the
    # member and its generation (a resumed member then restores its own stream).
    ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))
    torch.set_num_threads(1)  # one core per worker process
    net = model()
    if "dropout" in member.params:
        for layer in net.modules():
            if isinstance(layer, nn.Dropout):
                layer.p = member.params["dropout"]
    opt = torch.optim.SGD(
        net.parameters(),
        lr=member.params["lr"],
        momentum=member.params["momentum"],
        weight_decay=member.params["weight_decay"],
    )
    epoch = 0
    if member.checkpoint is not None:
        own = member.checkpoint.member == member.id
        epoch = ptorch.restore(member.checkpoint, net, opt, params=member.params, rng=own)
    x, y = data["train"]
    loss_fn = nn.CrossEntropyLoss()
    while epoch < member.budget:
        net.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), member.params["batch_size"]):
            batch = order[start : start + member.params["batch_size"]]
            opt.zero_grad()
            loss_fn(net(x[batch]), y[batch]).backward()
            opt.step()
        epoch += 1
        # report calls the lambda at once, and only at ready points: late binding is right
        state = lambda: ptorch.state(net, opt, step=epoch)  # noqa: B023, E731
        member.report(epoch, accuracy(net, data["val"]), checkpoint=state)


def best_checkpoint(result: pop.Population) -> pop.Checkpoint:
    """The checkpoint of the member the population selects by validation accuracy."""
    best = result.best
    if best is None or best.checkpoint is None:
        raise ValueError(f"population {result.name!r} has no best member with a checkpoint yet")
    return best.checkpoint


def test_score(result: pop.Population) -> float:
    """Test accuracy of the member the population selects by validation accuracy."""
    net = model()
    ptorch.restore(best_checkpoint(result), net, rng=False)
    return accuracy(net, splits()["test"])


def main(argv: list[str] | None = None) -> int:
    return run_and_print(argv, "digits", train, SPACE, SETTINGS)


def run_and_print(
    argv: list[str] | None,
    name: str,
    train_fn: Callable[[pop.Member], None],
    space: pop.SearchSpace,
    settings: dict[str, int],
) -> int:
    """Run PBT from the command line and print the winner (shared with digits_hard.py)."""
    args = _cli.parse(argv, sys.modules[train_fn.__module__].__doc__, name, settings, "epochs")
    result = _cli.run(train_fn, space, args, exploit=exploit(), direction=DIRECTION)
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
