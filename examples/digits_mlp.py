"""PBT on a small MLP (64-128-10) classifying scikit-learn's bundled digits, three ways.

The same model, data split and epoch of SGD trained by ``train(member)`` (one member at a time:
the serial or processes executor) or by ``train_batch(batch)`` (every member at once, stacked
on a leading member axis: the vectorized executor). PBT searches learning rate, momentum and
weight decay; the batch size stays 32 (members of a stack share one batch shape).

    python examples/digits_mlp.py --executor vectorized   # population 8, one process
    python examples/digits_mlp.py --executor processes --workers 2
    python examples/digits_mlp.py --executor serial --population 4 --budget 4
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import _cli
import torch
from digits import best_checkpoint, exploit, splits
from torch import nn

import populace as pop
import populace.torch as ptorch

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-3, 1.0),
    momentum=pop.Uniform(0.0, 0.99),
    weight_decay=pop.LogUniform(1e-6, 1e-2),
)
OPTIMIZER = ("lr", "momentum", "weight_decay")
BATCH_SIZE = 32
SETTINGS = {"population": 8, "budget": 20, "interval": 4}  # one step = one epoch

Data = tuple[torch.Tensor, torch.Tensor]


def model() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def sgd_epoch(
    forward: Callable[[torch.Tensor], torch.Tensor],
    opt: torch.optim.Optimizer,
    data: Data,
    order: torch.Tensor,
) -> None:
    """One epoch of SGD over ``data`` in ``order``: [N] for one member, [K, N] for K members.

    With K members the loss is the sum of the members' mean losses: they share no parameter,
    so each member's gradient is the one it would get alone.
    """
    x, y = data
    for start in range(0, order.shape[-1], BATCH_SIZE):
        batch = order[..., start : start + BATCH_SIZE]
        logits = forward(x[batch])
        loss = nn.functional.cross_entropy(
            logits.flatten(0, -2), y[batch].flatten(), reduction="sum"
        )
        opt.zero_grad()
        (loss / batch.shape[-1]).backward()
        opt.step()


def accuracy(forward: Callable[[torch.Tensor], torch.Tensor], data: Data) -> torch.Tensor:
    """Accuracy on ``data``: a scalar for one model, [K] for a stack."""
    with torch.no_grad():
        return (forward(data[0]).argmax(-1) == data[1]).float().mean(-1)


def train(member: pop.Member) -> None:
    """One member, with ``torch.optim.SGD``, from its checkpoint (or scratch) to its budget."""
    ptorch.seed_everything(ptorch.member_seed(member.id, member.generation))
    torch.set_num_threads(1)  # one core per worker process
    net = model()
    opt = torch.optim.SGD(net.parameters(), **{k: member.params[k] for k in OPTIMIZER})
    epoch = 0
    if member.checkpoint is not None:
        own = member.checkpoint.member == member.id
        epoch = ptorch.restore(member.checkpoint, net, opt, params=member.params, rng=own)
    data = splits()
    while epoch < member.budget:
        sgd_epoch(net, opt, data["train"], torch.randperm(len(data["train"][1])))
        epoch += 1
        state = lambda: ptorch.state(net, opt, step=epoch)  # noqa: B023, E731
        member.report(epoch, float(accuracy(net, data["val"])), checkpoint=state)


def train_batch(batch: pop.Batch) -> None:
    """Every member at once: stacked models, ``VectorSGD`` with the [K] params, one report."""
    models = []
    for member in batch.members:
        torch.manual_seed(ptorch.member_seed(member, 0))  # the serial executor's initial weights
        models.append(model())
    stacked = ptorch.stack_modules(models)
    # The optimizer reads the [K] params tensors at every step: the runtime's explored values
    # reach it, and restoring a checkpoint leaves them as the population set them.
    opt = ptorch.VectorSGD(stacked.parameters(), **{k: batch.params[k] for k in OPTIMIZER})
    if batch.checkpoint is not None:
        stacked.load_state_dict(batch.checkpoint["model"])
        opt.load_state_dict(batch.checkpoint["opt"])
    # Per-member data order; not in the checkpoint, so a resumed run draws new orders.
    orders = [torch.Generator().manual_seed(ptorch.member_seed(m, 1)) for m in batch.members]
    data = splits()
    n = len(data["train"][1])
    for epoch in range(batch.step + 1, batch.budget + 1):
        order = torch.stack([torch.randperm(n, generator=g) for g in orders])
        sgd_epoch(lambda x: stacked(x, per_member=True), opt, data["train"], order)
        # The live tensors, built at ready points only: an exploit copies slices in place.
        state = lambda: {"model": stacked.state_dict(), "opt": opt.state_dict()}  # noqa: E731
        batch.report(epoch, accuracy(stacked, data["val"]), state=state)


def test_score(result: pop.Population) -> float:
    """Test accuracy of the member the population selects by validation accuracy."""
    net = model()
    net.load_state_dict(best_checkpoint(result).load()["model"])  # type: ignore[index]
    return float(accuracy(net, splits()["test"]))


def main(argv: list[str] | None = None) -> int:
    args = _cli.parse(argv, __doc__, "digits_mlp", SETTINGS, "epochs", executor_choice=True)
    result = _cli.run(train, SPACE, args, train_batch, exploit=exploit())
    best = result.best
    assert best is not None
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget} epochs, {args.executor} executor: best "
        f"validation accuracy {best.score:.4f} (member {best.id}), median member "
        f"{_cli.median_score(result):.4f}, test accuracy of the best {test_score(result):.4f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
