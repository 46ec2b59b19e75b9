"""The plain greediness toy: lowering h helps at once and for good, so greedy PBT should win.

A member's parameter θ (from 0.9) climbs Q(θ) = 1.2 − θ² by gradient ascent on a surrogate whose
coefficient is 2 − h, with h ∈ [1e-4, 1.1] starting near 1: the best schedule drops h to its
minimum at once, which is just what PBT's greedy exploit rewards. The counterpart of
toy_deceptive.py; both come from the PBT re-evaluation of Chebykin et al. (TMLR 2025, section
5.2), and share _greedy_toy.py. A 22-member run takes seconds.

    python examples/toy_plain.py                   # population 22, 1000 steps, 2 workers
    python examples/toy_plain.py --population 8 --workers 1
"""

from __future__ import annotations

import sys

from _greedy_toy import DIRECTION, QUICK, SETTINGS, SPACE, exploit, fit, run_and_print
from _greedy_toy import test_score as test_score  # the task interface: Q of the selected member

import populace as pop

__all__ = ["DIRECTION", "QUICK", "SETTINGS", "SPACE", "exploit", "test_score", "train"]


def train(member: pop.Member) -> None:
    """One member of the plain toy, trained to its budget (module level: workers import it)."""
    fit(member, deceptive=False)


def main(argv: list[str] | None = None) -> int:
    return run_and_print(argv, __doc__, "toy_plain", train, deceptive=False)


if __name__ == "__main__":
    sys.exit(main())
