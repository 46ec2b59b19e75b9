"""PBT on a tiny BERT classifying scikit-learn's bundled digits with the Hugging Face Trainer.

Each 8x8 image becomes a [CLS] token followed by one token per pixel, naming the pixel and its
grey level (0-16); the model is built from a ``BertConfig`` (two layers of width 64), so nothing
is downloaded. ``train_with_trainer`` runs the Trainer to the member's budget, reports validation
accuracy at every evaluation, stores the Trainer's checkpoint folder at every ready point, and
writes the explored learning rate and weight decay over the restored optimizer and schedule.
The data are digits.py's splits (train 1000 / validation 400 / test 397 images); one populace
step is one optimizer step.

    python examples/transformers_digits.py                # population 4, 2 workers, ~2 minutes
    python examples/transformers_digits.py --population 8 --budget 1000 --workers 1
    populace best --storage sqlite:///transformers_digits.db transformers_digits --out best
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is built from a config: no download

import _cli
import torch
from digits import splits
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    EvalPrediction,
    PrinterCallback,
    Trainer,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

import populace as pop
import populace.torch as ptorch
from populace.transformers import train_with_trainer

SPACE = pop.SearchSpace(
    lr=pop.LogUniform(3e-4, 3e-2),
    weight_decay=pop.LogUniform(1e-4, 0.3),
    dropout=pop.Uniform(0.0, 0.3),
)
DIRECTION = "maximize"
SETTINGS = {"population": 4, "budget": 600, "interval": 50}  # optimizer steps
QUICK = {"population": 4, "budget": 40, "interval": 10}
BATCH_SIZE = 32
PIXELS, LEVELS = 64, 17  # 8x8 images, grey levels 0..16
CLS = PIXELS * LEVELS  # pixel p at grey level g is token p * LEVELS + g; [CLS] comes last


def exploit() -> pop.TruncationExploit:
    """The paper's supervised-learning choice: the bottom 25 % copy the top 25 %."""
    return pop.TruncationExploit()


def config(dropout: float = 0.1) -> BertConfig:
    """A two-layer BERT of width 64 over the pixel tokens, 10 classes."""
    return BertConfig(
        vocab_size=CLS + 1,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=PIXELS + 1,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        num_labels=10,
    )


def tokens(pixels: torch.Tensor) -> torch.Tensor:
    """Images scaled to [0, 1] (digits.py's splits) as [CLS] and one token per pixel."""
    grey = torch.round(pixels * (LEVELS - 1)).long()
    pixel_tokens = grey + LEVELS * torch.arange(PIXELS)
    return torch.cat([torch.full((len(grey), 1), CLS), pixel_tokens], dim=1)


@functools.cache
def dataset(split: str) -> list[dict[str, Any]]:
    """One split as the Trainer's examples; cached, since every ``train`` call asks again."""
    x, y = splits()[split]
    return [
        {"input_ids": ids, "labels": int(label)} for ids, label in zip(tokens(x), y, strict=True)
    ]


def accuracy(prediction: EvalPrediction) -> dict[str, float]:
    right = prediction.predictions.argmax(-1) == prediction.label_ids
    return {"accuracy": float(right.mean())}


def train(member: pop.Member) -> None:
    """One member: a Trainer built from ``member.params``, run to the budget by populace."""
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(1)  # one core per worker process
    seed = ptorch.member_seed(member.id, member.generation)
    ptorch.seed_everything(seed)  # before building the model: its initial weights
    args = TrainingArguments(
        # The Trainer creates this folder; train_with_trainer saves in a temporary one.
        output_dir=tempfile.gettempdir(),
        learning_rate=member.params["lr"],
        weight_decay=member.params["weight_decay"],
        per_device_train_batch_size=BATCH_SIZE,
        per_device_eval_batch_size=len(dataset("val")),
        eval_strategy="steps",
        eval_steps=member.interval,
        seed=seed,  # the batch order
        use_cpu=True,
        disable_tqdm=True,
        report_to="none",
    )
    trainer = Trainer(
        BertForSequenceClassification(config(member.params["dropout"])),
        args,
        train_dataset=dataset("train"),
        eval_dataset=dataset("val"),
        compute_metrics=accuracy,
    )
    trainer.remove_callback(PrinterCallback)  # the metrics go to populace, not to stdout
    train_with_trainer(member, trainer, metric="eval_accuracy")


def test_score(result: pop.Population) -> float:
    """Test accuracy of the member the population selects by validation accuracy, loaded from
    its checkpoint folder with ``from_pretrained``."""
    best = result.best
    if best is None or best.checkpoint is None:
        raise ValueError(f"population {result.name!r} has no best member with a checkpoint yet")
    with tempfile.TemporaryDirectory() as folder:
        saved = best.checkpoint.load_directory(os.path.join(folder, "best"))
        model = BertForSequenceClassification.from_pretrained(saved)
    x, y = splits()["test"]
    with torch.no_grad():
        predicted = model.eval()(tokens(x)).logits.argmax(-1)
    return float((predicted == y).float().mean())


def main(argv: list[str] | None = None) -> int:
    args = _cli.parse(argv, __doc__, "transformers_digits", SETTINGS, "optimizer steps")
    result = _cli.run(train, SPACE, args, exploit=exploit(), direction=DIRECTION)
    best = result.best
    assert best is not None
    test = test_score(result)
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget} steps, {args.workers} workers: "
        f"best validation accuracy {best.score:.4f} (member {best.id}), median member "
        f"{_cli.median_score(result):.4f}, test accuracy of the best {test:.4f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
