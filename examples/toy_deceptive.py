"""The deceptive greediness toy: lowering h helps at once but costs later, so greedy PBT loses.

As toy_plain.py (θ from 0.9 climbs Q(θ) = 1.2 − θ² on a surrogate with coefficient 2 − h), but
the coefficient also loses 0.2·|hₖ − targetₖ| for every interval k the member has begun, where
the target decays linearly from 1 to 0 over the budget. The penalty belongs to the weights'
history and travels with them when a member copies another. Dropping h leads for a few intervals
and then stalls; the best schedules follow the decay. A task where a non-greedy PBT variant
(FIRE PBT) should beat PBT: from the re-evaluation of Chebykin et al. (TMLR 2025, section 5.2).

    python examples/toy_deceptive.py               # population 22, 1000 steps, 2 workers
    python examples/toy_deceptive.py --population 8 --workers 1
"""

from __future__ import annotations

import sys

from _greedy_toy import DIRECTION, QUICK, SETTINGS, SPACE, exploit, fit, run_and_print
from _greedy_toy import test_score as test_score  # the task interface: Q of the selected member

import populace as pop

__all__ = ["DIRECTION", "QUICK", "SETTINGS", "SPACE", "exploit", "test_score", "train"]


def train(member: pop.Member) -> None:
    """One member of the deceptive toy, trained to its budget (module level: workers import it)."""
    fit(member, deceptive=True)


def main(argv: list[str] | None = None) -> int:
    return run_and_print(argv, __doc__, "toy_deceptive", train, deceptive=True)


if __name__ == "__main__":
    sys.exit(main())
