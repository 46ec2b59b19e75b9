"""Explore strategies: how copied hyperparameters change."""

from populace.controller.explore._base import BaseExplore, ExploreContext
from populace.controller.explore._pb2 import PB2Explore
from populace.controller.explore._strategies import (
    NoExplore,
    PerturbExplore,
    PerturbOrResampleExplore,
    ResampleExplore,
)

__all__ = [
    "BaseExplore",
    "ExploreContext",
    "NoExplore",
    "PB2Explore",
    "PerturbExplore",
    "PerturbOrResampleExplore",
    "ResampleExplore",
]
