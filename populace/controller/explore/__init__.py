"""Explore strategies: how copied hyperparameters change."""

from populace.controller.explore._base import BaseExplore
from populace.controller.explore._strategies import (
    NoExplore,
    PerturbExplore,
    PerturbOrResampleExplore,
    ResampleExplore,
)

__all__ = [
    "BaseExplore",
    "NoExplore",
    "PerturbExplore",
    "PerturbOrResampleExplore",
    "ResampleExplore",
]
