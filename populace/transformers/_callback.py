"""The Trainer callback that trains one populace member inside ``trainer.train``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, IntervalStrategy, SaveStrategy

from populace.checkpoints import Directory
from populace.errors import ConfigurationError
from populace.runtime import Member
from populace.transformers._folder import TrainingState, for_storage, restore_folder
from populace.transformers._optimizer import restore_under

__all__ = ["PopulaceCallback"]


class PopulaceCallback(TrainerCallback):
    """Reports a ``Trainer`` run to populace and restores it from the member's checkpoint.

    A populace step is a Trainer global step (an optimizer step), so ``interval`` and
    ``budget`` count optimizer steps. Add the callback to the ``Trainer`` that ``train(member)``
    builds, or let :func:`~populace.transformers.train_with_trainer` do it all. The callback

    - makes the Trainer evaluate and save at every ready point (every ``member.interval``
      steps, and at ``member.budget``), whatever its own schedule; the evaluations that
      ``eval_strategy`` adds in between are reported too, without a checkpoint;
    - reports ``metrics[metric]`` after each evaluation and, at a ready point, the Trainer's
      checkpoint folder (``checkpoint-<step>``) as a :class:`populace.Directory`, after which
      ``report`` may unwind ``trainer.train`` to exploit or explore;
    - restores the member's checkpoint through :meth:`restore`, whose folder goes to
      ``trainer.train(resume_from_checkpoint=...)``; once the Trainer has built its optimizer
      and LR scheduler from the member's ``TrainingArguments``, it loads the saved states into
      them and writes back every hyperparameter the Trainer configured (learning rate, weight
      decay, betas...): the schedule goes on from the saved step, scaled to the member's
      learning rate, never with the parent's (Ray issue 36660).

    The Trainer must run ``max_steps=member.budget`` steps in one process, evaluate
    (``eval_strategy`` other than ``"no"``, with an ``eval_dataset``) and save its optimizer
    (``save_only_model=False``); ``save_strategy`` may be anything but ``"best"``. Whether a
    higher score is better is ``pop.run(direction=...)``'s to say.

    Example:
        Inside ``train(member)``, around a Trainer built from ``member.params`` with
        ``TrainingArguments(max_steps=member.budget, ...)``:

        def train(member):
            callback = PopulaceCallback(member, metric="eval_accuracy")
            trainer = Trainer(model, args, train_dataset=train_set, eval_dataset=val_set,
                              compute_metrics=accuracy, callbacks=[callback])
            with tempfile.TemporaryDirectory() as folder:
                trainer.train(resume_from_checkpoint=callback.restore(folder))

    Args:
        member: The member ``train`` was called with.
        metric: The evaluation metric to report, as the Trainer names it (``compute_metrics``'
            keys prefixed with ``eval_``: ``"eval_accuracy"``, or ``"eval_loss"``).

    Raises:
        ConfigurationError: when training starts, the Trainer does not evaluate, saves only
            its best checkpoints or only the model, runs other than ``member.budget`` steps or
            several processes, or starts from another step than the member's (pass
            ``resume_from_checkpoint=callback.restore(folder)``, and only that); at a ready
            point, ``metric`` was not among the metrics evaluated (nothing is reported).
    """

    def __init__(self, member: Member, metric: str = "eval_accuracy") -> None:
        self.member = member
        self.metric = metric
        self._reported = member.step
        self._restored: TrainingState | None = None
        self._training = False
        self._ready: int | None = None  # a ready point waiting for the Trainer's save
        self._score: float | None = None
        self._logged: list[str] = []

    def restore(self, dest: str | os.PathLike[str]) -> str | None:
        """Write the member's checkpoint into the new or empty folder ``dest`` and return its
        path for ``trainer.train(resume_from_checkpoint=...)``; None when it has none.

        After an exploit the checkpoint is the parent's: its weights, optimizer moments and
        schedule position come back, its hyperparameters and RNG states do not.

        Raises:
            ConfigurationError: the checkpoint was not saved by this callback.
            CheckpointError: it is damaged, or ``dest`` holds something.
        """
        checkpoint = self.member.checkpoint
        if checkpoint is None:
            return None
        own = checkpoint.member == self.member.id
        folder, self._restored = restore_folder(checkpoint, dest, own)
        return str(folder)

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        optimizer: Any = None,
        lr_scheduler: Any = None,
        **kwargs: Any,
    ) -> None:
        # Here, not before: the Trainer builds its optimizer and scheduler inside train().
        self._check(args, state)
        if self._restored is not None:
            restore_under(optimizer, lr_scheduler, *self._restored)
            self._restored = None
        self._training = True

    def on_step_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self._settle()

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        step = state.global_step
        if self.member.is_ready(step):
            control.should_evaluate = control.should_save = True
            self._ready, self._score, self._logged = step, None, []

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        step = state.global_step
        if not self._training or step <= self._reported:
            return  # an evaluation outside training, or a second one at a reported step
        metrics = metrics or {}
        if step == self._ready:
            self._logged += [key for key in metrics if key not in self._logged]
            if self.metric in metrics:
                self._score = metrics[self.metric]
        elif self.metric in metrics:
            self._reported = step
            self.member.report(step, metrics[self.metric])

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        step = self._ready
        if step is None or step != state.global_step:
            return
        if self._score is None:
            raise ConfigurationError(self._missing(step))
        folder = for_storage(Path(args.output_dir or "") / f"{PREFIX_CHECKPOINT_DIR}-{step}")
        self._ready, self._reported = None, step
        self.member.report(step, self._score, checkpoint=Directory(folder))

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self._settle()
        self._training = False

    def _settle(self) -> None:
        """A ready point must have been reported by the time training goes on or ends."""
        step = self._ready
        if step is None:
            return
        if self._score is None:
            raise ConfigurationError(self._missing(step))
        raise ConfigurationError(
            f"step {step} is a ready point of member {self.member.id}, but the Trainer did not "
            "save a checkpoint there: leave control.should_save as PopulaceCallback sets it"
        )

    def _missing(self, step: int) -> str:
        logged = ", ".join(map(repr, self._logged)) or "no metric: no evaluation ran"
        return (
            f"PopulaceCallback reports {self.metric!r}, which the Trainer's evaluation at step "
            f"{step}, a ready point of member {self.member.id}, did not produce (it logged "
            f"{logged}); name one of those, or return {self.metric.removeprefix('eval_')!r} "
            "from compute_metrics (the Trainer adds the 'eval_' prefix)"
        )

    def _check(self, args: TrainingArguments, state: TrainerState) -> None:
        """Refuse a Trainer that cannot train this member as populace expects."""
        member = self.member
        problem = None
        if args.eval_strategy == IntervalStrategy.NO:
            problem = (
                f"the Trainer never evaluates (eval_strategy='no'), so {self.metric!r} is never "
                "computed: set TrainingArguments(eval_strategy='steps', "
                "eval_steps=member.interval) and pass an eval_dataset to the Trainer"
            )
        elif args.save_strategy == SaveStrategy.BEST:
            problem = (
                "save_strategy='best' skips the saves at ready points that are not a new "
                "best: use save_strategy='no' (populace saves at every ready point)"
            )
        elif args.save_only_model:
            problem = (
                "save_only_model=True leaves the optimizer and scheduler out of the checkpoints "
                "that members restore and exploit: set save_only_model=False"
            )
        elif args.world_size > 1:
            problem = f"the Trainer runs {args.world_size} processes; it must run one"
        elif state.max_steps != member.budget:
            problem = (
                f"the Trainer runs {state.max_steps} steps: set "
                f"TrainingArguments(max_steps=member.budget), here {member.budget}"
            )
        elif state.global_step != member.step:
            problem = (
                f"the Trainer starts at step {state.global_step} but member {member.id} at "
                f"step {member.step}: pass trainer.train(resume_from_checkpoint="
                "callback.restore(folder)), and no other checkpoint"
            )
        if problem is not None:
            raise ConfigurationError(f"PopulaceCallback: {problem}")
