"""A stored population: what ``pop.run`` returns, and the ask/tell primitive underneath it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from populace.analysis import PopulationData
from populace.checkpoints import BaseCheckpointStore
from populace.controller import Controller, Decision
from populace.errors import ConfigurationError
from populace.runtime._session import CheckpointArg, Session
from populace.runtime._trial import Trial
from populace.space import SearchSpace
from populace.storage import BaseStorage, PopulationRecord

__all__ = ["CONFIG_FORMAT", "Population", "population_config"]

CONFIG_FORMAT = 1


def population_config(space: SearchSpace, controller: Controller, size: int) -> dict[str, Any]:
    """The stored configuration of a population: everything a resume needs."""
    return {
        "format": CONFIG_FORMAT,
        "space": space.to_dict(),
        "controller": controller.to_dict(),
        "population": size,
    }


class Population(PopulationData):
    """One population in a storage: its analysis, and trials handed out (``ask``) and recorded
    (``tell``) by any training code.

    Everything lives in the storage, so any number of ``Population`` handles, in any number of
    processes, can work on the same population; a new handle resumes exactly where the others
    stopped. Analysis of the stored data (best member, schedules, lineage, exports) is inherited
    from :class:`~populace.analysis.PopulationData`.

    Example:
        >>> import populace as pop
        >>> from populace.checkpoints import LocalCheckpointStore
        >>> from populace.storage import SQLStorage
        >>> controller = pop.Controller(pop.SearchSpace(lr=pop.Uniform(0.0, 0.1)), budget=4,
        ...                             interval=2)
        >>> population = pop.Population.create(SQLStorage("sqlite://"), "bb", controller, 2,
        ...                                    LocalCheckpointStore("ckpt"))
        >>> while (trial := population.ask(owner="me")) is not None:
        ...     x = trial.checkpoint.load()["x"] if trial.checkpoint else 0.0
        ...     x += trial.params["lr"] * trial.steps
        ...     step = trial.start_step + trial.steps
        ...     decision = population.tell(trial, step, x, checkpoint={"x": x})
        ...     population.release(trial.member, "me")
        >>> population.done, [m.step for m in population.members()]
        (True, [4, 4])
    """

    def __init__(
        self,
        storage: BaseStorage,
        record: PopulationRecord,
        checkpoints: BaseCheckpointStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        config = record.config
        space = SearchSpace.from_dict(config["space"])
        super().__init__(storage, record, checkpoints, space)
        self.controller = Controller.from_dict(space, config["controller"])
        self.size: int = config["population"]
        self._session = Session(storage, record.id, self.controller, checkpoints, clock)

    @classmethod
    def create(
        cls,
        storage: BaseStorage,
        name: str,
        controller: Controller,
        size: int,
        checkpoints: BaseCheckpointStore,
        clock: Callable[[], float] = time.time,
        *,
        location: str | None = None,
    ) -> Population:
        """Store a new population whose members start with the controller's initial params
        (sampled from the space, or a replayed schedule's first).

        ``location`` is where the population records its checkpoints (default their store's
        ``uri``; ``pop.run`` records a folder inside the database's folder relative to it).
        """
        algorithm = controller.algorithm
        if algorithm is not None and algorithm.members != size:
            raise ConfigurationError(
                f"the controller's FirePBT is bound to {algorithm.members} members, not {size}"
            )
        rows = size if algorithm is None else algorithm.size  # FIRE's evaluators follow
        params = [controller.initial_params(i) for i in range(rows)]
        config = population_config(controller.space, controller, size)
        where = checkpoints.uri if location is None else location
        record = storage.create_population(name, config, where, params, now=clock())
        return cls(storage, record, checkpoints, clock)

    @property
    def done(self) -> bool:
        """Whether every member has finished or failed."""
        return self._session.done

    def ask(self, owner: str, lease_seconds: float = 3600.0) -> Trial | None:
        """Lease the least-advanced member that can train now and return its next trial.

        Pending decisions (a member stopped at a ready point before its decision was stored,
        or waiting at a synchronous barrier) are resolved first. Returns None when no member can
        train now: all are finished, leased by others, or waiting.
        """
        return self._session.ask(owner, lease_seconds)

    def tell(
        self,
        trial: Trial,
        step: int,
        score: float,
        checkpoint: CheckpointArg = None,
        *,
        metrics: Mapping[str, float] | None = None,
    ) -> Decision:
        """Record a score of ``trial``'s member and return the decision if it is at a ready point.

        ``checkpoint`` is the state to save, or a zero-argument callable returning it; it is
        saved only at ready points (and at the end), so reporting often costs little.
        ``metrics`` are extra values by name, stored and shown beside the score (only the
        score drives decisions). Between ready points the decision is always ``Continue``.
        """
        return self._session.tell(trial, step, score, checkpoint, metrics)

    def release(self, member: int, owner: str) -> None:
        """Give up ``owner``'s lease on ``member`` once its trial is told, so that any worker
        can take the member's next trial."""
        self._session.release(member, owner)

    def __repr__(self) -> str:
        return f"Population({self.name!r}, size={self.size}, storage={self._storage.url!r})"
