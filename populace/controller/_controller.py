"""The PBT controller: a pure function from a population snapshot to a decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from populace.controller._decision import Continue, Decision, Exploit, Explore, Stop, Wait
from populace.controller._fire import FirePBT
from populace.controller._ranking import Candidate, Ranking, comparison_set
from populace.controller._replay import replay_decision, schedule_entries
from populace.controller._snapshot import MemberState, PopulationSnapshot, ReadyRecord
from populace.controller.exploit import BaseExploit, NoExploit, TruncationExploit
from populace.controller.explore import (
    BaseExplore,
    ExploreContext,
    NoExplore,
    PerturbOrResampleExplore,
)
from populace.errors import ConfigurationError
from populace.space import SearchSpace

__all__ = ["Controller"]

DIRECTIONS = ("maximize", "minimize")


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Controller:
    """Decides, for a member at a ready point, whether it continues, exploits, explores or stops.

    The controller is pure: no I/O, no clock and no long-lived random state. Randomness comes from
    a generator keyed by ``(seed, member, step)``, so the same snapshot always gives the same
    decision, whichever process computes it and in whatever order members are listed. Its whole
    configuration round-trips through :meth:`to_dict`, and is stored with the population.

    Args:
        space: The search space explored hyperparameters must stay in.
        budget: Step at which a member stops.
        interval: Steps between ready points (since the start, or the last decision).
        exploit: Who copies whom; :class:`TruncationExploit` by default.
        explore: How copied hyperparameters change; :class:`PerturbOrResampleExplore` by default.
        direction: ``"maximize"`` or ``"minimize"`` the reported score.
        synchronous: Decide in generations: a ready member waits until every running member has
            reached its step (a barrier), instead of deciding at once.
        seed: Seed of every random choice.
        schedule: Replay mode: follow this recorded schedule (``{"step", "params"}`` entries or
            ``ScheduleEntry`` values, the first at step 0) instead of comparing members; a
            member starts with its first params, never copies another member and takes the
            schedule's params at the ready point where they change (see ``pop.replay``).
            ``exploit`` and ``explore`` are then left out.
        algorithm: :class:`FirePBT` (bound to the population size) to run FIRE PBT, whose
            sub-populations each apply ``exploit`` and ``explore``; None for plain PBT.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        budget: int,
        interval: int,
        exploit: BaseExploit | None = None,
        explore: BaseExplore | None = None,
        direction: str = "maximize",
        synchronous: bool = False,
        seed: int = 0,
        schedule: Sequence[Any] | None = None,
        algorithm: FirePBT | None = None,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise ConfigurationError(f"space must be a SearchSpace, got {type(space).__name__}")
        if direction not in DIRECTIONS:
            raise ConfigurationError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigurationError(f"seed must be a non-negative integer, got {seed!r}")
        if schedule is not None:
            if exploit is not None or explore is not None:
                raise ConfigurationError(
                    "a replay follows its schedule and never exploits or explores by strategy: "
                    f"leave exploit and explore out (got {exploit!r}, {explore!r})"
                )
            exploit, explore = NoExploit(), NoExplore()
        if algorithm is not None:
            if not isinstance(algorithm, FirePBT):
                raise ConfigurationError(f"algorithm must be a FirePBT or None, got {algorithm!r}")
            if schedule is not None or synchronous:
                raise ConfigurationError(
                    "FIRE PBT is asynchronous and decides by its evaluators: it cannot replay a "
                    "schedule or run synchronously"
                )
            if algorithm.members is None:
                raise ConfigurationError(
                    "the controller's FirePBT is not bound to a population size: pass "
                    "algorithm.bind(population) (pop.run does it)"
                )
        exploit = TruncationExploit() if exploit is None else exploit
        explore = PerturbOrResampleExplore() if explore is None else explore
        if not isinstance(exploit, BaseExploit):
            raise ConfigurationError(f"exploit must be a BaseExploit, got {exploit!r}")
        if not isinstance(explore, BaseExplore):
            raise ConfigurationError(f"explore must be a BaseExplore, got {explore!r}")
        explore.check_space(space)
        self.space = space
        self.budget = _positive_int("budget", budget)
        self.interval = _positive_int("interval", interval)
        self.exploit = exploit
        self.explore = explore
        self.direction = direction
        self.synchronous = bool(synchronous)
        self.seed = int(seed)
        self.schedule = None if schedule is None else schedule_entries(schedule)
        self.algorithm = algorithm

    @property
    def maximize(self) -> bool:
        """Whether higher scores are better."""
        return self.direction == "maximize"

    @property
    def history(self) -> int:
        """How many recent scores per member a decision reads (FIRE PBT: its curves)."""
        curves = 0 if self.algorithm is None else self.algorithm.curve_points
        return max(self.exploit.history, curves)

    def scores_until(self, step: int) -> int:
        """The last step of the recent scores a decision at ``step`` reads: ``step`` itself
        (members ahead are judged on what they had then), or for FIRE PBT, whose curves are
        compared whole, the budget."""
        return step if self.algorithm is None else self.budget

    def rng(self, member: int, step: int) -> np.random.Generator:
        """The generator for the decision of ``member`` at ``step``."""
        return np.random.default_rng([self.seed, member, step])

    def initial_params(self, member: int) -> dict[str, Any]:
        """The params ``member`` starts with: sampled from the space, or in replay mode the
        schedule's first."""
        if self.schedule is not None:
            return dict(self.schedule[0]["params"])
        if self.algorithm is not None and self.algorithm.is_evaluator(member):
            return {}  # an evaluator takes a child's params when it starts an evaluation
        return self.space.sample(self.rng(member, 0))

    def is_ready(
        self, last_decision_step: int, step: int, member: int | None = None, generation: int = 1
    ) -> bool:
        """Whether a member whose last decision was at ``last_decision_step`` must decide now
        (a FIRE evaluator that never evaluated, ``generation`` 0, must decide what to evaluate).
        """
        if generation == 0 and member is not None and self._idle_evaluator(member):
            return True
        return step >= self.budget or step - last_decision_step >= self.interval

    def _idle_evaluator(self, member: int) -> bool:
        return self.algorithm is not None and self.algorithm.is_evaluator(member)

    def decide(self, snapshot: PopulationSnapshot, member_id: int, step: int) -> Decision:
        """Return the decision of ``member_id`` at ``step``, computed from ``snapshot`` alone."""
        return self.decide_and_rank(snapshot, member_id, step)[0]

    def decide_and_rank(
        self, snapshot: PopulationSnapshot, member_id: int, step: int
    ) -> tuple[Decision, Ranking | None]:
        """Like :meth:`decide`, also returning the comparison the decision was made from."""
        member = snapshot.member(member_id)
        if member.state != MemberState.RUNNING:
            return Stop(f"member {member_id} is {member.state}"), None
        if self.algorithm is not None and self.algorithm.is_evaluator(member_id):
            if member.generation > 0 and step - member.last_decision_step < self.interval:
                waited = step - member.last_decision_step
                return Continue(f"not ready: {waited} of {self.interval} steps"), None
            return self.algorithm.decide_evaluator(self, snapshot, member, step), None
        if step >= self.budget:
            return Stop(f"budget of {self.budget} steps reached"), None
        if step - member.last_decision_step < self.interval:
            waited = step - member.last_decision_step
            return Continue(f"not ready: {waited} of {self.interval} steps"), None
        if self.schedule is not None:
            return replay_decision(self.schedule, member, step, self.interval), None
        if self.synchronous:
            behind = sorted(
                m.id
                for m in snapshot.members
                if m.state == MemberState.RUNNING and m.id != member_id and m.step < step
            )
            if behind:
                return Wait(f"waiting at step {step} for members {behind} to reach it"), None
        if self.algorithm is not None:
            return self.algorithm.decide_member(self, snapshot, member, step)
        ranked = comparison_set(snapshot, step, self.interval, self.maximize)
        return self.pbt_decision(snapshot, member_id, step, ranked), ranked

    def pbt_decision(
        self, snapshot: PopulationSnapshot, member_id: int, step: int, ranked: Ranking
    ) -> Decision:
        """The exploit-and-explore decision of ``member_id`` at ``step`` against ``ranked``."""
        member = snapshot.member(member_id)
        position = ranked.position(member_id)
        me = None if position is None else ranked[position]
        if me is None or me.step != step:
            return Continue(f"no score recorded at step {step}")
        rng = self.rng(member_id, step)
        parent, reason = self.exploit.select(me, ranked, rng)
        if parent is not None:
            assert parent.checkpoint is not None  # guaranteed by BaseExploit's contract
            params = self._explore(snapshot, member_id, step, parent, parent.params, rng)
            decision: Decision = Exploit(
                parent.member, parent.generation, parent.step, parent.checkpoint, params, reason
            )
        elif self.exploit.explores_own:
            params = self._explore(snapshot, member_id, step, me, member.params, rng)
            decision = Explore(params, f"{reason}; explores its own hyperparameters")
        else:
            decision = Continue(reason)
        return decision

    @property
    def lookback(self) -> int:
        """How many intervals of ready records a decision reads: one for the comparison, more
        when the explore strategy models the population's history (PB2)."""
        return max(1, self.explore.lookback)

    def _explore(
        self,
        snapshot: PopulationSnapshot,
        member_id: int,
        step: int,
        base: Candidate,
        params: Mapping[str, Any],
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        """``params`` explored for ``member_id``, restarting from ``base``'s record."""
        record = ReadyRecord(
            base.member, base.generation, base.step, base.score, base.checkpoint, base.params
        )
        context = ExploreContext(snapshot, member_id, step, self.interval, self.maximize, record)
        return self.explore.explore_in(params, self.space, rng, context)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-able data (the space is stored separately)."""
        data = {
            "budget": self.budget,
            "interval": self.interval,
            "exploit": self.exploit.to_dict(),
            "explore": self.explore.to_dict(),
            "direction": self.direction,
            "synchronous": self.synchronous,
            "seed": self.seed,
        }
        if self.schedule is not None:
            data["schedule"] = self.schedule
        if self.algorithm is not None:
            data["algorithm"] = self.algorithm.to_dict()
        return data

    @classmethod
    def from_dict(cls, space: SearchSpace, data: dict[str, Any]) -> Controller:
        """Rebuild a controller from :meth:`to_dict` output and its space."""
        fields = dict(data)
        missing = {"budget", "interval", "exploit", "explore"} - set(fields)
        if missing:
            raise ConfigurationError(f"stored controller configuration lacks {sorted(missing)}")
        if fields["explore"].get("type") == "ReplayExplore":
            # Stored before replay became a controller mode: the schedule was the explore's.
            fields["schedule"] = fields.pop("explore")["schedule"]
        if fields.get("algorithm") is not None:
            fields["algorithm"] = FirePBT.from_dict(fields["algorithm"])
        if "schedule" in fields:
            del fields["exploit"]
            fields.pop("explore", None)
        else:
            fields["exploit"] = BaseExploit.from_dict(fields["exploit"])
            fields["explore"] = BaseExplore.from_dict(fields["explore"])
        try:
            return cls(space, **fields)
        except TypeError as exc:
            raise ConfigurationError(f"cannot build a controller from {data!r}: {exc}") from None
