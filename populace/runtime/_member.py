"""The handle a training function receives: params, checkpoint, and ``report``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from populace.checkpoints import Checkpoint
from populace.controller import Decision
from populace.errors import ConfigurationError, ReportError
from populace.runtime._leases import MemberLost

if TYPE_CHECKING:
    from populace.runtime._session import MemberProgress, Session
    from populace.runtime._trial import Trial

__all__ = ["Finished", "Halt", "Lost", "Member", "Pause", "Restart", "TrainFn", "Unwind"]

_log = logging.getLogger("populace")


class Unwind(BaseException):
    """Unwinds the user's ``train`` from inside ``report``.

    It derives from BaseException so that a training loop's ``except Exception`` cannot swallow
    it; the runtime catches it and calls ``train`` again when the member has work to do.
    """


class Restart(Unwind):
    """The member exploited or explored: train again with new params from a new checkpoint."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


class Pause(Unwind):
    """The member yields its worker (time-multiplexing, or a synchronous barrier)."""


class Lost(Unwind):
    """The member moved on without this worker (its lease lapsed): the trial is abandoned."""


class Finished(Unwind):
    """The member is done before its budget (a FIRE evaluator with nothing left to evaluate):
    its trial ends here and it is not trained again."""


class Halt(Unwind):
    """The worker is stopping (the run ended elsewhere): the trial ends at this report."""


class Member:
    """What ``train(member)`` sees: the member's params, budget and checkpoint, and ``report``.

    Attributes:
        id: The member's index in the population.
        params: Hyperparameters to train with (after an exploit, the explored ones).
        step: The step training starts from: 0, or the step of ``checkpoint``.
        budget: The step at which the member stops.
        interval: Steps between ready points.
        checkpoint: State to restore (the member's own, or its parent's after an exploit),
            or None to start from scratch. ``checkpoint.load()`` returns it, and
            ``checkpoint.member`` says whose it is.
        generation: How many times the member has exploited or explored; with ``id`` it names
            the model being trained (useful to seed it).
        device: Where to train (set by executors that place members on GPUs), or None.
        evaluation: Under FIRE PBT, set when this trial is an evaluator's: it trains
            ``evaluation.parent``'s weights (``checkpoint``) with ``evaluation.child``'s params;
            None for the population's members. ``train`` needs no change for it.
    """

    def __init__(
        self,
        trial: Trial,
        session: Session,
        progress: MemberProgress,
        should_pause: Callable[[Member, int], bool],
        device: str | None = None,
        halt: threading.Event | None = None,
    ) -> None:
        self.id = trial.member
        self.generation = trial.generation
        self.params: Mapping[str, Any] = dict(trial.params)
        self.step = trial.start_step
        self.budget = trial.budget
        self.interval = trial.interval
        self.checkpoint: Checkpoint | None = trial.checkpoint
        self.device = device
        self.evaluation = trial.evaluation
        self.finished = False
        self._session = session
        self._progress = progress
        self._should_pause = should_pause
        self._halt = halt

    def report(
        self,
        step: int,
        score: float,
        checkpoint: Any = None,
        *,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Record ``score`` at ``step``; at a ready point, save ``checkpoint`` and decide.

        ``checkpoint`` is the state to save (nested dicts/lists of tensors, arrays and JSON
        scalars) or a zero-argument callable returning it; it is only built and saved at ready
        points and at the end. ``metrics`` are extra numbers by name (``{"loss": 0.31}``),
        stored with the score and shown by the dashboard, plots and exports; only ``score``
        drives decisions. Returns when the member continues. When it must copy another
        member, explore, or yield its worker, ``report`` unwinds ``train`` and the runtime calls
        it again with new params and checkpoint. At the budget it returns and marks the member
        finished; a FIRE evaluator that stops before its budget unwinds ``train`` instead.
        Scores between ready points reach storage within a second, in batches, so
        reporting every step costs microseconds. When the worker is told to stop (another worker
        stopped the run), ``report`` unwinds ``train`` at once without storing anything.
        """
        if self._halt is not None and self._halt.is_set():
            raise Halt(f"member {self.id}: the worker is stopping")
        if self.finished:
            raise ReportError(f"member {self.id} reached its budget of {self.budget} steps")
        try:
            decision = self._session.report(
                self._progress,
                step,
                score,
                checkpoint,
                lambda at: self._should_pause(self, at),
                batch=True,
                metrics=metrics,
            )
        except MemberLost as exc:
            _log.warning("%s", exc)
            raise Lost(str(exc)) from None
        kind = decision.kind
        if kind == "stop":
            self.finished = True
            if step < self.budget:
                raise Finished(decision.reason)
        elif kind == "wait":
            if checkpoint is None:
                raise ConfigurationError(
                    "synchronous PBT pauses members at the barrier, so train() must pass a "
                    "checkpoint to report() at every ready point"
                )
            raise Pause(decision.reason)
        elif kind != "continue":
            raise Restart(decision)

    def is_ready(self, step: int) -> bool:
        """Whether a report at ``step`` is a ready point (its checkpoint saved, a decision
        taken), counted as ``report`` counts it: for framework callbacks that must make the
        framework evaluate or save exactly there."""
        return self._session.controller.is_ready(self._progress.last_decision_step, step)

    def __repr__(self) -> str:
        return f"Member(id={self.id}, step={self.step}, params={dict(self.params)})"


TrainFn = Callable[[Member], object]
"""The user's training function: ``train(member)`` trains ``member`` to its budget."""
