"""The digits CNN of digits.py on a hard variant: 300 training images, 20 % of their labels wrong.

With little, noisy data the model memorises the wrong labels if it trains too long with too high
a learning rate and too little regularisation, so a schedule matters: PBT can lower the learning
rate and raise dropout and weight decay as training goes on, which no fixed setting does.
Validation and test labels are clean (the splits of digits.py).

    python examples/digits_hard.py                 # population 8, 2 workers
    python examples/digits_hard.py --population 4 --budget 12 --workers 1
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import torch
from digits import fit, run_and_print, splits
from digits import test_score as test_score  # the task interface: clean test accuracy

import populace as pop

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(1e-3, 1.0),
    momentum=pop.Uniform(0.0, 0.99),
    weight_decay=pop.LogUniform(1e-6, 1e-2),
    dropout=pop.Uniform(0.0, 0.6),
    batch_size=pop.Choice([16, 32, 64, 128], ordered=True),
)
DIRECTION = "maximize"
SETTINGS = {"population": 8, "budget": 40, "interval": 4}  # one step = one epoch
QUICK = {"population": 4, "budget": 4, "interval": 2}
TRAIN_SIZE = 300
NOISE = 0.2


def exploit() -> pop.TruncationExploit:
    """The paper's supervised-learning choice: the bottom 25 % copy the top 25 %."""
    return pop.TruncationExploit()


@functools.cache
def hard_splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The first 300 training images of digits.py with 20 % of labels replaced by another class."""
    data = splits()
    x, y = data["train"]
    x, y = x[:TRAIN_SIZE], y[:TRAIN_SIZE].clone()
    rng = np.random.default_rng(0)
    flipped = rng.random(TRAIN_SIZE) < NOISE
    shift = torch.from_numpy(rng.integers(1, 10, TRAIN_SIZE))  # never back to the true class
    y[flipped] = (y[flipped] + shift[flipped]) % 10
    return {**data, "train": (x, y)}


def train(member: pop.Member) -> None:
    """One member: the digits training loop on the small, noisy training set."""
    fit(member, hard_splits())


def main(argv: list[str] | None = None) -> int:
    # test_score (from digits.py) measures the winner on the clean test split.
    return run_and_print(argv, "digits_hard", train, SPACE, SETTINGS)


if __name__ == "__main__":
    sys.exit(main())
