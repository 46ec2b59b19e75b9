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
        >>> checkpoint = member.checkpoint
        >>> if checkpoint is not None:
        ...     model.load_state_dict(checkpoint.load()["model"])

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
