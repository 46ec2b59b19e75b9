"""The checkpoint handle a training function receives as ``member.checkpoint``."""

from __future__ import annotations

from dataclasses import dataclass, field

from populace.checkpoints._base import BaseCheckpointStore, digest_of
from populace.errors import CheckpointError

__all__ = ["Checkpoint"]


@dataclass(frozen=True, repr=False)
class Checkpoint:
    """A stored checkpoint of ``member`` at ``step``, loaded only when asked.

    Two handles are equal when they name the same ref, member and step, whatever store object
    they hold.

    Example:
        A training function resumes from its member's checkpoint, if it has one:

        >>> def first_step(member):
        ...     checkpoint = member.checkpoint  # the member's own, or its parent's after exploit
        ...     return 0 if checkpoint is None else checkpoint.load()["step"]

        The runtime builds the handle; here one is built by hand around a stored blob:

        >>> from types import SimpleNamespace
        >>> from populace.checkpoints import Checkpoint, LocalCheckpointStore
        >>> store = LocalCheckpointStore("checkpoints")
        >>> checkpoint = Checkpoint(store.put({"step": 40}), member=3, step=40, store=store)
        >>> checkpoint
        Checkpoint(member=3, step=40, ref='...')
        >>> first_step(SimpleNamespace(checkpoint=checkpoint))
        40

    Raises:
        CheckpointError: ``ref`` is malformed, or ``member`` or ``step`` is not an int >= 0.
    """

    ref: str
    member: int
    step: int
    store: BaseCheckpointStore = field(compare=False)

    def __post_init__(self) -> None:
        digest_of(self.ref)
        for name in ("member", "step"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise CheckpointError(f"checkpoint {name} must be an int >= 0, got {value!r}")

    def __repr__(self) -> str:
        return f"Checkpoint(member={self.member}, step={self.step}, ref={self.ref[:15] + '…'!r})"

    def load(self) -> object:
        """Load and decode the checkpoint.

        Raises:
            CheckpointError: The blob is missing, corrupted or not a checkpoint.
        """
        return self.store.get(self.ref, context=f"member {self.member} at step {self.step}")
