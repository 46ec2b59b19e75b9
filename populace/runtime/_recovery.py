"""Recovery from a damaged checkpoint: a member goes back to its latest intact one.

A checkpoint can be lost or corrupted on disk (a disk fault, a partial copy). That costs the
member the steps since an intact checkpoint of the same model, never the run: the worker loop
calls :func:`restore_past_damaged_checkpoint` when loading the checkpoint a trial started from
fails.
"""

from __future__ import annotations

import logging

from populace.checkpoints import BaseCheckpointStore
from populace.checkpoints._manifest import check_intact
from populace.errors import CheckpointError
from populace.runtime._session import Session
from populace.runtime._trial import Trial

__all__ = ["checkpoint_intact", "restore_past_damaged_checkpoint"]

_log = logging.getLogger("populace")


def restore_past_damaged_checkpoint(session: Session, trial: Trial) -> bool:
    """If the checkpoint ``trial`` started from is damaged (missing or corrupted), move its
    member back to the latest intact checkpoint of its generation and return True.

    Earlier means, latest first: the member's own checkpoints of this generation, the
    generation's first one (its parent's copy, or none: from scratch), and after an exploit
    the member's own checkpoint from before it. Returns False, changing nothing, when the
    checkpoint is intact (the error lay elsewhere) or none of those is.
    """
    damaged = trial.checkpoint
    if damaged is None or checkpoint_intact(session.store, damaged.ref):
        return False
    segment = next(
        s
        for s in session.storage.segments(session.population)
        if (s.member, s.generation) == (trial.member, trial.generation)
    )
    saved = {
        (r.generation, r.step): r.checkpoint
        for r in session.storage.results(session.population)
        if r.member == trial.member and r.ready and r.checkpoint is not None
    }
    earlier: list[tuple[int, str | None]] = sorted(
        (
            (step, ref)
            for (generation, step), ref in saved.items()
            if generation == trial.generation and segment.start_step <= step < damaged.step
        ),
        reverse=True,
    )
    earlier.append((segment.start_step, segment.checkpoint))
    own_start = None
    if segment.parent_member not in (None, trial.member):
        # Copied from a parent: the member's own checkpoint at the exploit can stand in.
        own_start = saved.get((trial.generation - 1, segment.start_step))
        if own_start is not None:
            earlier.append((segment.start_step, own_start))
    for step, ref in earlier:
        if ref != damaged.ref and (ref is None or checkpoint_intact(session.store, ref)):
            session.forget(trial.member)  # its unstored results go too
            lost = session.storage.restore_checkpoint(
                session.population,
                trial.member,
                trial.generation,
                step,
                ref,
                own_start=ref is not None and ref == own_start,
            )
            _log.warning(
                "checkpoint %s of member %d at step %d is damaged; the member goes back to "
                "its %s at step %d (%d results dropped)",
                damaged.ref,
                trial.member,
                damaged.step,
                "start" if ref is None else f"checkpoint {ref}",
                step,
                lost,
            )
            return True
    return False


def checkpoint_intact(store: BaseCheckpointStore, ref: str) -> bool:
    """Whether the checkpoint ``ref`` is stored and its bytes (a directory checkpoint's manifest
    and files) match their hashes."""
    try:
        check_intact(store, ref)
    except CheckpointError:
        return False
    return True
