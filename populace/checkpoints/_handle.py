"""The checkpoint handle a training function receives as ``member.checkpoint``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from populace.checkpoints._base import BaseCheckpointStore
from populace.checkpoints._manifest import is_directory_checkpoint
from populace.checkpoints._refs import digest_of
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

    @property
    def _context(self) -> str:
        return f"member {self.member} at step {self.step}"

    @cached_property
    def is_directory(self) -> bool:
        """Whether this is a directory checkpoint (reported as a
        :class:`~populace.checkpoints.Directory`), restored by :meth:`load_directory`; read
        from the blob's first bytes, once.

        Raises:
            CheckpointError: The blob is missing or cannot be read.
        """
        return is_directory_checkpoint(self.store, self.ref, self._context)

    def load(self) -> object:
        """Load and decode the checkpoint.

        Raises:
            CheckpointError: The blob is missing, corrupted or not a checkpoint, or this is a
                directory checkpoint (see :meth:`load_directory`).
        """
        return self.store.get(self.ref, context=self._context)

    def load_directory(self, dest: str | os.PathLike[str]) -> Path:
        """Write this directory checkpoint's files into the folder ``dest`` and return its path.

        ``dest`` is created; it may also be an existing empty folder, never one holding
        anything (nothing is overwritten). Every file is checked against its hash, and the
        folder appears whole or not at all: the files go into a hidden sibling folder first,
        which is renamed to ``dest`` once complete.

        Example:
            A training function that saves a folder restores its member's folder (or, after an
            exploit, its parent's) before training on:

            >>> import json
            >>> from pathlib import Path
            >>> import populace as pop
            >>> def train(member):
            ...     x = 0.0
            ...     if member.checkpoint is not None:
            ...         start = Path(f"start-{member.id}-{member.generation}-{member.step}")
            ...         member.checkpoint.load_directory(start)
            ...         x = json.loads((start / "state.json").read_text())["x"]
            ...     folder = Path(f"member-{member.id}")
            ...     folder.mkdir(exist_ok=True)
            ...     for step in range(member.step + 1, member.budget + 1):
            ...         x += member.params["lr"]
            ...         (folder / "state.json").write_text(json.dumps({"x": x}))
            ...         member.report(step, -abs(1 - x), checkpoint=pop.Directory(folder))
            >>> result = pop.run(train, pop.SearchSpace(lr=pop.Uniform(0.0, 0.1)), population=4,
            ...                  budget=20, interval=5, storage="memory", progress=False)
            >>> best = result.best.checkpoint.load_directory("best")
            >>> sorted(path.name for path in best.iterdir())
            ['state.json']

        Returns:
            The absolute path of ``dest``.

        Raises:
            CheckpointError: This is not a directory checkpoint (see :meth:`load`), a blob is
                missing or corrupted, or ``dest`` is not a new or empty folder or cannot be
                written.
        """
        return self.store.get_directory(self.ref, dest, context=self._context)
