"""Tiny Transformers workloads for the integration tests, importable by worker processes.

A one-layer BERT built from a config (nothing is downloaded) classifies 64 generated token
sequences by their first token, 4 optimizer steps an epoch. Its ``closeness`` metric depends
only on the member's learning rate, so the ranking, and hence who exploits whom, is known in
advance. A recording callback notes, at every optimizer step, the learning rate and weight
decay the optimizer really uses.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it: never download

import math
import tempfile
from collections.abc import Callable
from typing import Any

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    EvalPrediction,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

import populace as pop
import populace.torch as ptorch
from populace.transformers import train_with_trainer

SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-4, 1e-2), weight_decay=pop.Uniform(0.01, 0.1))
BEST_LR = 3e-3
BATCHES = 4  # optimizer steps per epoch
CONFIG = BertConfig(
    vocab_size=8,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=8,
)

_ids = torch.randint(0, 8, (64, 6), generator=torch.Generator().manual_seed(0))
DATA = [{"input_ids": row, "labels": int(row[0] < 4)} for row in _ids]

RECORDS: list[dict[str, Any]] = []
"""What the recording callback saw, step by step, in this process."""


def lr_factor(scheduler: str, step: int, total_steps: int, warmup: int) -> float:
    """The factor Transformers' ``scheduler`` applies to the base learning rate at ``step``."""
    from transformers import get_scheduler

    reference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = get_scheduler(scheduler, reference, warmup, total_steps)
    for _ in range(step):
        reference.step()
        schedule.step()
    return float(reference.param_groups[0]["lr"])


class Recorder(TrainerCallback):
    """Appends the hyperparameters in use at every optimizer step to :data:`RECORDS`."""

    def __init__(self, member: pop.Member) -> None:
        self.member = member

    def on_step_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        groups = kw["optimizer"].param_groups
        checkpoint = self.member.checkpoint
        RECORDS.append(
            {
                "member": self.member.id,
                "generation": self.member.generation,
                "params": dict(self.member.params),
                "lr": groups[0]["lr"],
                "weight_decay": [group["weight_decay"] for group in groups],
                "global_step": state.global_step,
                "parent": None if checkpoint is None else checkpoint.member,
            }
        )


def quiet() -> None:
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def build(member: pop.Member, **arguments: Any) -> Trainer:
    """A Trainer of a fresh tiny BERT with ``member``'s learning rate and weight decay,
    evaluating at every step; ``arguments`` override its ``TrainingArguments``."""
    quiet()
    seed = ptorch.member_seed(member.id, member.generation)
    ptorch.seed_everything(seed)
    torch.set_num_threads(1)  # one core per worker process
    lr = member.params["lr"]

    def metrics(prediction: EvalPrediction) -> dict[str, float]:
        right = prediction.predictions.argmax(-1) == prediction.label_ids
        return {"accuracy": float(right.mean()), "closeness": -abs(math.log(lr / BEST_LR))}

    defaults: dict[str, Any] = dict(
        # The Trainer creates this folder; train_with_trainer saves in a temporary one.
        output_dir=tempfile.gettempdir(),
        learning_rate=lr,
        weight_decay=member.params["weight_decay"],
        per_device_train_batch_size=len(DATA) // BATCHES,
        per_device_eval_batch_size=len(DATA),
        eval_strategy="steps",
        eval_steps=1,
        seed=seed,
        use_cpu=True,
        disable_tqdm=True,
        report_to="none",
    )
    args = TrainingArguments(**{**defaults, **arguments})
    trainer = Trainer(
        BertForSequenceClassification(CONFIG),
        args,
        train_dataset=DATA,
        eval_dataset=DATA,
        compute_metrics=metrics,
        callbacks=[Recorder(member)],
    )
    trainer.remove_callback(PrinterCallback)
    return trainer


def make_train(
    metric: str = "eval_closeness",
    stop: Callable[[pop.Member, int], bool] | None = None,
    **arguments: Any,
) -> Callable[[pop.Member], None]:
    """A ``train(member)`` running :func:`build`'s Trainer with ``train_with_trainer``.

    ``stop(member, step)`` true after an optimizer step exits the process's run there
    (``SystemExit(3)``), like a crash; ``arguments`` go to :func:`build`.
    """

    def train(member: pop.Member) -> None:
        trainer = build(member, **arguments)
        if stop is not None:
            trainer.add_callback(_Stop(member, stop))
        train_with_trainer(member, trainer, metric=metric)

    return train


class _Stop(TrainerCallback):
    def __init__(self, member: pop.Member, stop: Callable[[pop.Member, int], bool]) -> None:
        self.member, self.stop = member, stop

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ) -> None:
        if self.stop(self.member, state.global_step):
            raise SystemExit(3)


def train(member: pop.Member) -> None:
    """The default workload, by name for worker processes."""
    train_with_trainer(member, build(member), metric="eval_closeness")
