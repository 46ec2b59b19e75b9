"""Search spaces: typed hyperparameter domains that sample, perturb and resample within bounds."""

from populace.space._base import BaseDimension
from populace.space._categorical import Choice, Fixed
from populace.space._continuous import LogUniform, Uniform
from populace.space._integer import IntUniform
from populace.space._space import SearchSpace

__all__ = [
    "BaseDimension",
    "Choice",
    "Fixed",
    "IntUniform",
    "LogUniform",
    "SearchSpace",
    "Uniform",
]
