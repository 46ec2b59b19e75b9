"""The greediness toys of the PBT re-evaluation (Chebykin et al., TMLR 2025, section 5.2).

One parameter θ, starting at 0.9, should maximise Q(θ) = 1.2 − θ², but a member can only follow
gradient ascent on a surrogate, θ ← θ − lr·2c·θ (lr 0.001), whose coefficient c is set by the
one hyperparameter h ∈ [1e-4, 1.1]:

- plain (toy_plain.py): c = 2 − h. The lower h, the faster Q rises, now and later: the greedy
  choice (drop h to its minimum at once) is also the best one, so PBT should win.
- deceptive (toy_deceptive.py): c = max(0, 2 − h − 0.2·Σₖ |hₖ − targetₖ|), the sum over the
  intervals the member has begun (the current one included), with targetₖ = (budget −
  k·interval) / budget, a linear decay from 1 to 0. Lowering h still pays at once, but each
  interval spent away from the target lowers c for the rest of training: greedy choices pay
  later, and the best schedules follow the decay (PBT, which copies whoever leads now, loses).

The h of each interval (hence the penalty) is part of the member's state, like its weights: it
travels in the checkpoint, so a member that copies another takes over its penalty with its θ
(its true record: the re-evaluation's code also rewrites the copied record's last h to the
explored one).
Training is deterministic, so fixed schedules can be scored exactly with :func:`simulate`.

Members start with h drawn from [0.9, 1.1], as in the re-evaluation's code: a schedule has to
bring h down from about 1 (where the deceptive target starts). Drawn from all of [1e-4, 1.1], a
population of 22 holds an h near 0 from the start and the plain toy's random search is already
optimal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import _cli
import numpy as np

import populace as pop

THETA0 = 0.9
LR = 0.001  # the inner learning rate of gradient ascent on the surrogate
PENALTY = 0.2  # weight of each interval's distance from the target (deceptive toy)
H_LOW, H_HIGH = 1e-4, 1.1
INIT_LOW, INIT_HIGH = 0.9, 1.1
REPORT_EVERY = 5  # steps between scores: dense curves (FIRE PBT compares them), cheap reports

DIRECTION = "maximize"
SETTINGS = {"population": 22, "budget": 1000, "interval": 20}  # the re-evaluation's settings
QUICK = {"population": 4, "budget": 40, "interval": 10}


@dataclass(frozen=True, repr=False)
class _NarrowStartUniform(pop.Uniform):
    """Uniform on [low, high], but the initial draw is uniform on [init_low, init_high].

    After it creates the population, populace only perturbs h and resamples it from the whole
    range, as ``Uniform(low, high)`` does; the initial draws are stored as the members' first
    params. So the space is declared as that Uniform, which every populace tool can read
    (``populace status`` knows only the built-in dimension types). The leading underscore keeps
    the class out of populace's registry of declarable types.
    """

    init_low: float = INIT_LOW
    init_high: float = INIT_HIGH

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.low <= self.init_low < self.init_high <= self.high:
            raise pop.SearchSpaceError(f"initial range outside [{self.low}, {self.high}]")

    def sample(self, rng: np.random.Generator) -> float:
        """Draw an initial h uniformly from [init_low, init_high)."""
        return min(float(rng.uniform(self.init_low, self.init_high)), self.init_high)

    def resample(self, rng: np.random.Generator) -> float:
        """Draw a fresh h from the whole range (the explore step that replaces a value)."""
        return super().sample(rng)

    def to_dict(self) -> dict[str, Any]:
        """Declare ``Uniform(low, high)``: what the population does with h once created."""
        return {"type": "Uniform", "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        start = f"starting in [{self.init_low}, {self.init_high}]"
        return f"Uniform({self.low!r}, {self.high!r}, {start})"


SPACE = pop.SearchSpace(h=_NarrowStartUniform(H_LOW, H_HIGH))


def exploit() -> pop.TruncationExploit:
    """Truncation: the bottom quarter copies the top quarter (as in the re-evaluation)."""
    return pop.TruncationExploit()


def q(theta: float) -> float:
    """The true objective, the score PBT maximises."""
    return 1.2 - theta * theta


def target(k: int, interval: int, budget: int) -> float:
    """The deceptive toy's target h in interval ``k``: a linear decay from 1 at step 0."""
    return (budget - k * interval) / budget


def penalty(history: Sequence[float], interval: int, budget: int) -> float:
    """0.2 times the summed distance of each interval's h from its target."""
    return PENALTY * sum(abs(h - target(k, interval, budget)) for k, h in enumerate(history))


@dataclass
class Toy:
    """One member's state: θ, and the h of each interval it began (the last is the current h)."""

    deceptive: bool
    interval: int
    budget: int
    theta: float = THETA0
    history: list[float] = field(default_factory=list)
    _c: float | None = field(default=None, init=False, repr=False)  # the current coefficient

    def coefficient(self) -> float:
        """The surrogate's coefficient in the current interval."""
        h = self.history[-1]
        if not self.deceptive:
            return 2.0 - h
        return max(0.0, 2.0 - h - penalty(self.history, self.interval, self.budget))

    def step(self, s: int, h: float) -> float:
        """Make gradient step ``s`` (0-based) with ``h``, recorded if ``s`` begins an interval;
        return Q after it."""
        if self._c is None or len(self.history) <= s // self.interval:
            while len(self.history) <= s // self.interval:
                self.history.append(h)
            self._c = self.coefficient()
        self.theta *= 1.0 - 2.0 * LR * self._c
        return q(self.theta)


def intervals(interval: int, budget: int) -> int:
    """How many intervals a member begins before its budget."""
    return -(-budget // interval)


def simulate(
    schedule: Sequence[float], deceptive: bool, interval: int = 20, budget: int = 1000
) -> list[float]:
    """Q after each step of one member following ``schedule`` (one h per interval) alone."""
    if len(schedule) < intervals(interval, budget):
        raise ValueError(f"{len(schedule)} intervals of {interval} steps fall short of {budget}")
    toy = Toy(deceptive, interval, budget)
    return [toy.step(s, schedule[s // interval]) for s in range(budget)]


def linear_schedule(interval: int = 20, budget: int = 1000) -> list[float]:
    """The deceptive toy's target, one h per interval, within h's range: no penalty."""
    n = intervals(interval, budget)
    return [min(max(target(k, interval, budget), H_LOW), H_HIGH) for k in range(n)]


def best_fixed(deceptive: bool, interval: int = 20, budget: int = 1000) -> tuple[float, float]:
    """The best constant h on a grid of 0.01 (and 1e-4), and its final Q."""
    n = intervals(interval, budget)
    grid = [H_LOW, *(i / 100 for i in range(1, 111))]
    finals = ((h, simulate([h] * n, deceptive, interval, budget)[-1]) for h in grid)
    return max(finals, key=lambda pair: pair[1])


def fit(member: pop.Member, deceptive: bool) -> None:
    """Train ``member`` on the plain or the deceptive toy to its budget, from its checkpoint.

    Scores every ``REPORT_EVERY`` steps and at each ready point, with θ and the h history as the
    checkpoint (saved at ready points only).
    """
    toy = Toy(deceptive, member.interval, member.budget)
    start = 0
    if member.checkpoint is not None:  # its own, or the one of the member it copies
        state = member.checkpoint.load()
        toy.theta, start = float(state["theta"]), int(state["step"])
        toy.history = [float(h) for h in state["history"]]
    for s in range(start, member.budget):
        score, done = toy.step(s, member.params["h"]), s + 1
        if done % REPORT_EVERY == 0 or done % member.interval == 0 or done == member.budget:
            state = {"theta": toy.theta, "step": done, "history": list(toy.history)}
            member.report(done, score, checkpoint=state)


def test_score(result: pop.Population) -> float:
    """Q of the member the population selects (the toy has no held-out data: Q is exact)."""
    best = result.best
    if best is None or best.checkpoint is None:
        raise ValueError(f"population {result.name!r} has no best member with a checkpoint yet")
    return q(float(best.checkpoint.load()["theta"]))


def run_and_print(
    argv: list[str] | None,
    doc: str | None,
    name: str,
    train: Callable[[pop.Member], None],
    deceptive: bool,
) -> int:
    """Run PBT on a toy from the command line; print the winner beside fixed schedules."""
    args = _cli.parse(argv, doc, name, SETTINGS, "steps")
    result = _cli.run(train, SPACE, args, exploit=exploit(), direction=DIRECTION)
    best = result.best
    assert best is not None
    n, shape = intervals(args.interval, args.budget), (args.interval, args.budget)
    h, fixed = best_fixed(deceptive, *shape)
    greedy = simulate([H_LOW] * n, deceptive, *shape)[-1]
    linear = simulate(linear_schedule(*shape), deceptive, *shape)[-1]
    _cli.summarize(
        result,
        args,
        f"population {args.population}, {args.budget} steps, {args.workers} workers: best Q "
        f"{best.score:.5f} (member {best.id}), median member {_cli.median_score(result):.5f}\n"
        f"one member alone: greedy h={H_LOW:g} {greedy:.5f}, best fixed h={h:g} {fixed:.5f}, "
        f"linear decay 1 -> 0 {linear:.5f}",
    )
    return 0
