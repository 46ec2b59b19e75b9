"""Hugging Face Transformers integration: a ``Trainer`` callback and a helper running it.

Importing this module imports ``transformers`` (``pip install 'populace[transformers]'``);
``import populace`` alone never does.

``train(member)`` builds the model and a ``Trainer`` from ``member.params`` and hands it to
:func:`train_with_trainer`, which adds a :class:`PopulaceCallback`, runs ``member.budget``
optimizer steps (one populace step is one Trainer global step) and resumes from the member's
checkpoint. At every ready point the Trainer evaluates and saves its checkpoint folder, which
populace stores as a :class:`populace.Directory` (content-addressed, so rotation or a later save
can never take it away); after an exploit the parent's weights, optimizer moments and schedule
position come back, and the member's own hyperparameters are written over the restored
optimizer and scheduler. Restoring unpickles nothing: weights come from safetensors and the
optimizer, scheduler and RNG states through ``torch.load(weights_only=True)``. The best model
is a folder that ``from_pretrained`` loads: ``populace best --storage URL NAME --out DIR``.

Example:
    A tiny BERT classifying token sequences by their first token, its learning rate explored
    (the model is built from a config: nothing is downloaded):

    >>> import torch
    >>> from transformers import (BertConfig, BertForSequenceClassification, PrinterCallback,
    ...                           Trainer, TrainingArguments)
    >>> import populace as pop
    >>> import populace.torch as pt
    >>> from populace.transformers import train_with_trainer
    >>> ids = torch.randint(0, 8, (64, 6), generator=torch.Generator().manual_seed(0))
    >>> data = [{"input_ids": row, "labels": int(row[0] < 4)} for row in ids]
    >>> config = BertConfig(vocab_size=8, hidden_size=16, num_hidden_layers=1,
    ...                     num_attention_heads=2, intermediate_size=32,
    ...                     max_position_embeddings=8)
    >>> def accuracy(prediction):
    ...     labels = prediction.label_ids
    ...     return {"accuracy": float((prediction.predictions.argmax(-1) == labels).mean())}
    >>> def train(member):
    ...     seed = pt.member_seed(member.id, member.generation)
    ...     pt.seed_everything(seed)  # before building the model
    ...     args = TrainingArguments(learning_rate=member.params["lr"], seed=seed,
    ...                              per_device_train_batch_size=16, eval_strategy="steps",
    ...                              eval_steps=member.interval, use_cpu=True,
    ...                              disable_tqdm=True, report_to="none")
    ...     trainer = Trainer(BertForSequenceClassification(config), args, train_dataset=data,
    ...                       eval_dataset=data, compute_metrics=accuracy)
    ...     trainer.remove_callback(PrinterCallback)  # quiet: no metrics printed
    ...     train_with_trainer(member, trainer, metric="eval_accuracy")
    >>> result = pop.run(train, pop.SearchSpace(lr=pop.LogUniform(1e-4, 1e-2)), population=2,
    ...                  budget=4, interval=2, storage="memory", progress=False)
    >>> result.best.step
    4
    >>> folder = result.best.checkpoint.load_directory("best")
    >>> BertForSequenceClassification.from_pretrained(folder).num_labels
    2
"""

from populace._imports import require

# Fail here, with the extra to install, before the submodules import transformers themselves.
require("transformers", "transformers")

from populace.transformers._callback import PopulaceCallback  # noqa: E402
from populace.transformers._train import train_with_trainer  # noqa: E402

__all__ = ["PopulaceCallback", "train_with_trainer"]
