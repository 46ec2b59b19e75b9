"""Every workload seeds itself per member and generation before building its model.

A training function that builds its model before seeding takes its initial weights from whatever
the process drew before: runs then differ with the order members were trained in, and arms of a
comparison no longer start from the same models. This checks that the first step's scores do not
depend on the global random state left behind by earlier code.
"""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import populace as pop

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))

TASKS = ["digits", "digits_hard", "cartpole", "gan", "translate"]


def _first_scores(task: object, disturb: int) -> list[float]:
    random.seed(disturb)
    np.random.seed(disturb)
    torch.manual_seed(disturb)
    result = pop.run(
        task.train,  # type: ignore[attr-defined]
        task.SPACE,  # type: ignore[attr-defined]
        population=2,
        budget=1,
        interval=1,
        storage="memory",
        seed=0,
        progress=False,
    )
    return [r.score for r in sorted(result.results(), key=lambda r: r.member)]


@pytest.mark.slow
@pytest.mark.parametrize("name", TASKS)
def test_first_step_does_not_depend_on_the_global_random_state(name: str) -> None:
    task = importlib.import_module(name)
    assert _first_scores(task, disturb=1) == _first_scores(task, disturb=2)
