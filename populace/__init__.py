"""populace: Population Based Training for any training code.

>>> import populace as pop
>>> space = pop.SearchSpace(lr=pop.LogUniform(1e-4, 1e-1))

See ``pop.run`` for the one call that trains a population, and ``Population.ask``/``tell`` for
the black-box primitive underneath it.
"""

from populace._replay import ReplayResult, replay
from populace._run import run
from populace._version import __version__
from populace.analysis import MemberResult, Schedule, ScheduleEntry
from populace.checkpoints import Checkpoint, Directory
from populace.controller import (
    Continue,
    Controller,
    Decision,
    Evaluate,
    Exploit,
    Explore,
    FirePBT,
    NoExploit,
    NoExplore,
    PB2Explore,
    PerturbExplore,
    PerturbOrResampleExplore,
    ResampleExplore,
    Stop,
    TournamentExploit,
    TruncationExploit,
    TTestExploit,
    Wait,
)
from populace.errors import (
    CheckpointError,
    ConfigurationError,
    DimensionTypeError,
    MemberNotFoundError,
    MissingDependencyError,
    PopulaceError,
    ReportError,
    SearchSpaceError,
    StorageError,
    WorkerError,
)
from populace.runtime import Batch, Member, Population, Trial, Unwind, load
from populace.space import Choice, Fixed, IntUniform, LogUniform, SearchSpace, Uniform


def __getattr__(name: str) -> object:
    # ``pop.torch`` without importing torch at ``import populace``: loaded on first use.
    if name == "torch":
        import importlib

        return importlib.import_module("populace.torch")
    raise AttributeError(f"module 'populace' has no attribute {name!r}")


__all__ = [
    "Batch",
    "Checkpoint",
    "CheckpointError",
    "Choice",
    "ConfigurationError",
    "Continue",
    "Controller",
    "Decision",
    "Evaluate",
    "DimensionTypeError",
    "Directory",
    "Exploit",
    "Explore",
    "FirePBT",
    "Fixed",
    "IntUniform",
    "LogUniform",
    "Member",
    "MemberNotFoundError",
    "MemberResult",
    "MissingDependencyError",
    "NoExploit",
    "NoExplore",
    "PB2Explore",
    "PerturbExplore",
    "PerturbOrResampleExplore",
    "PopulaceError",
    "Population",
    "ReplayResult",
    "ReportError",
    "ResampleExplore",
    "Schedule",
    "ScheduleEntry",
    "SearchSpace",
    "SearchSpaceError",
    "Stop",
    "StorageError",
    "TTestExploit",
    "TournamentExploit",
    "Trial",
    "TruncationExploit",
    "Uniform",
    "Unwind",
    "Wait",
    "WorkerError",
    "__version__",
    "load",
    "replay",
    "run",
]
