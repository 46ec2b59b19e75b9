"""The runtime: how a stored population is trained, by whatever executor places its workers.

- :class:`Population`: the stored population (analysis, and the ask/tell primitive);
  :func:`open_population` creates or resumes one, :func:`load` reopens one.
- :class:`Member`: what ``train(member)`` receives; ``member.report`` and the exceptions that
  unwind ``train`` at an exploit, a pause or a lost lease.
- :class:`Trial`: the unit of work handed out (Li et al., 2019).
- :func:`run_worker` / :func:`work`: the worker loop every executor runs (heartbeat, leases,
  retries, recovery of damaged checkpoints), and :func:`train_population`, the driver's side.
- :class:`Batch` and :func:`work_vectorized`: the vectorised runtime, where one worker trains
  a shard of members at once and applies exploits inside their stacked state.
"""

from populace.runtime._batch import Batch, BatchTrainFn
from populace.runtime._leases import MemberLost, new_owner
from populace.runtime._member import Member, TrainFn, Unwind
from populace.runtime._open import DEFAULT_STORAGE, load, open_population
from populace.runtime._population import Population
from populace.runtime._retention import KEEP_BEST
from populace.runtime._train import train_population
from populace.runtime._trial import Trial
from populace.runtime._vector_worker import run_vector_worker, work_vectorized
from populace.runtime._worker import WorkerSettings, retire, run_worker, work

__all__ = [
    "DEFAULT_STORAGE",
    "KEEP_BEST",
    "Batch",
    "BatchTrainFn",
    "Member",
    "MemberLost",
    "Population",
    "TrainFn",
    "Trial",
    "Unwind",
    "WorkerSettings",
    "load",
    "new_owner",
    "open_population",
    "retire",
    "run_vector_worker",
    "run_worker",
    "train_population",
    "work",
    "work_vectorized",
]
