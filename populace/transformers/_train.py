"""Running a built ``Trainer`` as the body of a populace ``train`` function."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from transformers import Trainer
from transformers.trainer_utils import SaveStrategy, TrainOutput

from populace.runtime import Member
from populace.transformers._callback import PopulaceCallback

__all__ = ["train_with_trainer"]


def train_with_trainer(
    member: Member, trainer: Trainer, metric: str = "eval_accuracy"
) -> TrainOutput:
    """Train ``member`` with ``trainer`` to its budget, restoring and reporting through populace.

    ``train(member)`` builds the model and the ``Trainer`` from ``member.params`` (learning rate,
    weight decay, batch size... as ``TrainingArguments``) and hands it over. This adds a
    :class:`PopulaceCallback` reporting ``metric``, and runs the Trainer on a copy of its
    arguments with ``max_steps=member.budget``, ``save_strategy="no"`` (the callback saves at
    ready points) and ``output_dir`` in a temporary folder of this call, removed when it
    returns or unwinds (the checkpoints live in populace's store), resuming from the member's
    checkpoint when it has one. The evaluation schedule stays the Trainer's own: it must
    evaluate (``eval_strategy="steps"``, e.g. ``eval_steps=member.interval``), and the callback
    adds an evaluation at every ready point it misses.

    Example:
        The body of ``train(member)`` (:mod:`populace.transformers` has a complete one):

        def train(member):
            args = TrainingArguments(learning_rate=member.params["lr"], eval_strategy="steps",
                                     eval_steps=member.interval, report_to="none")
            trainer = Trainer(model(), args, train_dataset=train_set, eval_dataset=val_set,
                              compute_metrics=accuracy)
            train_with_trainer(member, trainer, metric="eval_accuracy")

    Returns:
        What ``trainer.train`` returns, once the member has reached its budget.

    Raises:
        ConfigurationError: see :class:`PopulaceCallback`.
    """
    callback = PopulaceCallback(member, metric)
    args = copy.copy(trainer.args)  # the caller's arguments may be shared: left as they are
    args.max_steps = member.budget
    args.save_strategy = SaveStrategy.NO
    trainer.args = args
    trainer.add_callback(callback)
    with tempfile.TemporaryDirectory(prefix=f"populace-member-{member.id}-") as folder:
        args.output_dir = str(Path(folder) / "output")
        restored = callback.restore(Path(folder) / "restored")
        return trainer.train(resume_from_checkpoint=restored)
