"""The pure PBT controller, its decisions, snapshots and strategies."""

from populace.controller._controller import Controller
from populace.controller._decision import (
    NOT_READY,
    Continue,
    Decision,
    Evaluate,
    Exploit,
    Explore,
    Stop,
    Wait,
    decision_from_dict,
    decision_to_dict,
)
from populace.controller._fire import FirePBT
from populace.controller._ranking import Candidate, Ranking, comparison_set
from populace.controller._snapshot import (
    Evaluation,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
    ReadyRecord,
    RecordTable,
)
from populace.controller._strategy import Strategy
from populace.controller.exploit import (
    BaseExploit,
    NoExploit,
    TournamentExploit,
    TruncationExploit,
    TTestExploit,
)
from populace.controller.explore import (
    BaseExplore,
    ExploreContext,
    NoExplore,
    PB2Explore,
    PerturbExplore,
    PerturbOrResampleExplore,
    ResampleExplore,
)

__all__ = [
    "NOT_READY",
    "BaseExploit",
    "BaseExplore",
    "Candidate",
    "Continue",
    "Controller",
    "Decision",
    "Evaluate",
    "Evaluation",
    "Exploit",
    "Explore",
    "ExploreContext",
    "FirePBT",
    "MemberSnapshot",
    "MemberState",
    "NoExploit",
    "NoExplore",
    "PB2Explore",
    "PerturbExplore",
    "PerturbOrResampleExplore",
    "PopulationSnapshot",
    "Ranking",
    "ReadyRecord",
    "RecordTable",
    "ResampleExplore",
    "Stop",
    "Strategy",
    "TTestExploit",
    "TournamentExploit",
    "TruncationExploit",
    "Wait",
    "comparison_set",
    "decision_from_dict",
    "decision_to_dict",
]
