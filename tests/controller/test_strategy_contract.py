"""The exploit and explore contracts on every built-in strategy, with several arguments each."""

from __future__ import annotations

import pytest

from populace.controller import (
    BaseExploit,
    BaseExplore,
    NoExploit,
    NoExplore,
    PB2Explore,
    PerturbExplore,
    PerturbOrResampleExplore,
    ResampleExplore,
    Strategy,
    TournamentExploit,
    TruncationExploit,
    TTestExploit,
)
from populace.testing import ExploitSuite, ExploreSuite

EXPLOITS: list[BaseExploit] = [
    TruncationExploit(),
    TruncationExploit(bottom=0.5, top=0.1),
    TournamentExploit(),
    TTestExploit(),
    TTestExploit(window=4, alpha=0.5, min_samples=2),
    NoExploit(),
    NoExploit(explore=True),
]
EXPLORES: list[BaseExplore] = [
    PerturbOrResampleExplore(),
    PerturbOrResampleExplore(resample_probability=0.0, factors=[0.5, 1.0, 2.0]),
    PerturbOrResampleExplore(resample_probability=1.0, factors=(1e-3, 1e3)),
    PerturbExplore(),
    PerturbExplore(factors=(0.5,)),
    PerturbExplore(factors=(37.0, 1.0)),
    ResampleExplore(),
    ResampleExplore(probability=1.0),
    NoExplore(),
    PB2Explore(),
    PB2Explore(window=2, min_rows=2, c1=1.0, c2=2.0),
]


class TestBuiltInExploits(ExploitSuite):
    @pytest.fixture(params=EXPLOITS, ids=repr)
    def exploit(self, request: pytest.FixtureRequest) -> BaseExploit:
        return request.param


class TestBuiltInExplores(ExploreSuite):
    @pytest.fixture(params=EXPLORES, ids=repr)
    def explore(self, request: pytest.FixtureRequest) -> BaseExplore:
        return request.param


def test_every_built_in_strategy_is_checked() -> None:
    """A strategy added to populace cannot skip the suites: it must be listed above."""
    built_in = {
        name for name, cls in Strategy._registry.items() if cls.__module__.startswith("populace.")
    }
    assert built_in == {type(s).__name__ for s in [*EXPLOITS, *EXPLORES]}
