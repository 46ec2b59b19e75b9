"""The handle a vectorised training function receives: K members' params as tensors, one report.

``train_batch(batch)`` trains every member of a shard at once (stacked models on one device);
``batch.report`` stores the K scores in one transaction and, at ready points, applies the
controller's decisions inside the stacked state the function trains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from populace._imports import require
from populace.errors import ConfigurationError, ReportError
from populace.space import SearchSpace
from populace.space._categorical import Choice, Fixed
from populace.space._integer import IntUniform

if TYPE_CHECKING:
    from populace.runtime._shard import Shard

__all__ = ["Batch", "BatchTrainFn", "check_space", "param_tensors", "scores_of", "write_params"]


class Batch:
    """What ``train_batch(batch)`` sees: a shard of members trained together, in lockstep.

    Attributes:
        members: The members' ids, in slot order (slot ``k`` of every tensor is ``members[k]``).
        size: How many members (K).
        params: Each hyperparameter as a [K] tensor on ``device`` (float64; int64 for integer
            dimensions and numeric choices of integers; bool for choices of booleans). The
            runtime writes explored values into these very tensors, so read them every step.
        device: Where to train (``"cuda"`` when available, else ``"cpu"``, unless the executor
            names one).
        step: The shard's current step (all its members move in lockstep): at the start 0,
            or the step of ``checkpoint``; then the last reported step.
        budget: The step at which the members stop.
        interval: Steps between ready points.
        checkpoint: The stacked state to resume from (each member's own checkpoint, or its
            parent's after an exploit, stacked on a new leading axis, on ``device``), or None
            when every member starts from scratch.

    Example:
        >>> import torch
        >>> import populace as pop
        >>> def train_batch(batch):
        ...     x = batch.checkpoint["x"] if batch.checkpoint else torch.zeros(batch.size)
        ...     for step in range(batch.step + 1, batch.budget + 1):
        ...         x += batch.params["lr"] * (1 - x)  # every member at once
        ...         batch.report(step, -(1 - x).abs(), state={"x": x})
        >>> result = pop.run(train_batch, pop.SearchSpace(lr=pop.Uniform(0.0, 0.1)),
        ...                  population=4, budget=20, interval=5, executor="vectorized",
        ...                  storage="memory", progress=False)
        >>> result.best.checkpoint.load()["x"].shape  # one member's slice
        torch.Size([])
    """

    def __init__(self, shard: Shard) -> None:
        self.members: tuple[int, ...] = shard.members
        self.size = len(shard.members)
        self.params: dict[str, Any] = shard.params
        self.device: Any = shard.device
        self.budget = shard.budget
        self.interval = shard.interval
        self.checkpoint: dict[str, Any] | None = shard.checkpoint
        self._shard = shard

    @property
    def step(self) -> int:
        """The shard's current step (see the class docstring)."""
        return self._shard.step

    def report(
        self,
        step: int,
        scores: Any,
        state: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        *,
        metrics: Mapping[str, Any] | None = None,
    ) -> None:
        """Record every member's score at ``step``; at a ready point, save and decide.

        ``scores`` is a [K] float tensor (or a sequence of K numbers). A member whose score is
        NaN or infinite fails alone; the others go on. ``state`` is the stacked training state
        (nested mappings of tensors with a leading [K] axis: parameters, optimizer state,
        buffers), or a zero-argument callable returning it, built only at ready points. At a
        ready point each member's slice is saved as its own checkpoint; an exploit copies the
        parent's slice over the member's **in place** (so pass the live tensors the training
        uses, not copies), and explored hyperparameters are written into ``params``.
        ``metrics`` are extra numbers by name, each [K] values. Members that finished keep
        their slots; their later scores are ignored. When every member has finished or failed
        before the budget, ``report`` unwinds ``train_batch``.

        Raises:
            ReportError: ``step`` does not move the shard on, or ``scores``, ``metrics`` or
                ``state`` do not hold K members.
        """
        self._shard.report(step, scores, state, metrics)

    def __repr__(self) -> str:
        return f"Batch(members={list(self.members)}, step={self.step}, device={self.device})"


BatchTrainFn = Callable[[Batch], object]
"""A vectorised training function: ``train_batch(batch)`` trains the shard to its budget."""


def _dtype(name: str, dimension: object) -> str:
    """The tensor dtype of a dimension: float64, int64 or bool by the values it can take."""
    if isinstance(dimension, IntUniform):
        return "int64"
    if not isinstance(dimension, (Choice, Fixed)):
        return "float64"
    values = dimension.values if isinstance(dimension, Choice) else (dimension.value,)
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigurationError(
            f"dimension {name!r} has values {list(values)!r} that cannot become a tensor: the "
            "vectorized executor needs numeric (or boolean) choices; use numbers, or index the "
            "choices yourself (Choice([0, 1, 2]) and look the value up in train_batch)"
        )
    return "int64" if all(isinstance(v, int) for v in values) else "float64"


def check_space(space: SearchSpace) -> None:
    """Raise ConfigurationError unless every dimension's values can become a tensor."""
    for name in space:
        _dtype(name, space[name])


def param_tensors(
    space: SearchSpace, params: Sequence[Mapping[str, Any]], device: Any
) -> dict[str, Any]:
    """Each dimension's values over the members as a [K] tensor on ``device``.

    Raises:
        ConfigurationError: a dimension's values cannot become a tensor (strings).
    """
    torch = require("torch", "torch")
    return {
        name: torch.tensor(
            [p[name] for p in params],
            dtype=getattr(torch, _dtype(name, space[name])),
            device=device,
        )
        for name in space
    }


def write_params(tensors: Mapping[str, Any], slot: int, params: Mapping[str, Any]) -> None:
    """Write one member's new ``params`` into slot ``slot`` of the [K] tensors, in place."""
    for name, tensor in tensors.items():
        tensor[slot] = params[name]


def scores_of(scores: Any, size: int) -> list[float]:
    """The K scores as floats (NaN and infinities kept: they fail their members).

    Raises:
        ReportError: ``scores`` is not K numbers (a [K] floating tensor or a sequence).
    """
    if hasattr(scores, "shape") and hasattr(scores, "dtype"):
        if tuple(scores.shape) != (size,):
            raise ReportError(
                f"scores must have shape [{size}] (one per member of the shard), got "
                f"{list(scores.shape)}"
            )
        dtype = scores.dtype
        floating = getattr(dtype, "is_floating_point", getattr(dtype, "kind", "") == "f")
        if not floating:
            raise ReportError(f"scores must be a floating-point tensor, got {scores.dtype}")
        values = scores.tolist() if not hasattr(scores, "detach") else scores.detach().tolist()
        return [float(v) for v in values]
    if isinstance(scores, (str, bytes)) or not isinstance(scores, Sequence):
        raise ReportError(f"scores must be a [{size}] tensor or a list of {size} numbers")
    if len(scores) != size or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores
    ):
        raise ReportError(f"scores must be {size} numbers (one per member), got {scores!r}")
    return [float(v) for v in scores]


def metrics_of(metrics: Mapping[str, Any] | None, size: int) -> list[dict[str, float]]:
    """Extra metrics as one ``{name: value}`` per member (each metric holds K numbers).

    Raises:
        ReportError: a metric does not hold K numbers.
    """
    rows: list[dict[str, float]] = [{} for _ in range(size)]
    if metrics is None:
        return rows
    if not isinstance(metrics, Mapping):
        raise ReportError(f"metrics must be a dict of name to [{size}] values, got {metrics!r}")
    for name, values in metrics.items():
        try:
            column = scores_of(values, size)
        except ReportError as exc:
            raise ReportError(f"metric {name!r}: {exc}") from None
        for row, value in zip(rows, column, strict=True):
            row[name] = value
    return rows
