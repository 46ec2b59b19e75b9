"""The populations the integration tests train: seeded, truncation, explores that always move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import populace as pop


def run_pbt(
    train: pop.TrainFn, space: pop.SearchSpace, folder: Path, name: str, **settings: Any
) -> pop.Population:
    """A PBT run of 4 members, ready every 2 steps, whose explores always change the params
    (x 0.8 or x 1.2), in ``folder/<name>.db``; ``settings`` add to or replace these."""
    defaults: dict[str, Any] = {
        "population": 4,
        "interval": 2,
        "seed": 0,
        "progress": False,
        "exploit": pop.TruncationExploit(),
        "explore": pop.PerturbExplore(),
    }
    storage = f"sqlite:///{folder}/{name}.db"
    return pop.run(train, space, storage=storage, name=name, **{**defaults, **settings})
