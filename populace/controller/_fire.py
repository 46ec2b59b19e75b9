"""FIRE PBT (Dalibard & Jaderberg, 2021): sub-populations, and evaluators that rank parents by how
fast their weights improve.

The population's members are split into sub-populations P1..Pn of equal size, by id: members
``0..k-1`` are P1, the next ``k`` are P2, and so on; evaluators are the extra ids after them.
Inside each sub-population the run's exploit and explore strategies apply as in plain PBT.

- **P1 is greedy**: ranked by score, it gives the final model (``result.best`` is P1's best).
- **P2..Pn are parents**, ranked by evaluators. An evaluator copies a parent's weights and trains
  them with the hyperparameters of the best recently-unperturbed member of the sub-population
  below (its *child*), through the user's own ``train``. A parent's fitness is the sum of its
  evaluation curve's best-score differences against the other parents' evaluation curves, so a
  parent ranks high when its weights climb faster under the same kind of hyperparameters.
- **Success**: when an evaluation's curve beats its child's curve (positive best-score difference
  and a one-sided binomial test below ``p_stat``), the child copies the evaluator's weights at its
  next ready point and keeps its own hyperparameters. This is how weights trained for the long
  run reach P1. When several evaluations of one child succeed, the child takes the one with the
  largest best-score difference.
- **Stopping** an evaluation (the evaluator then starts another): S1, its curve never met the
  child's and it ran ``max_eval_steps``; S2, they met but the test's p-value exceeds the annealed
  threshold ``p_stat + max(0, 1 - T / max_eval_steps)``; S3, the parent or the child was
  overwritten (which includes a successful copy: the child's new generation ends every other
  evaluation of it, ZOO's S4); or the evaluation reached the budget.

Everything is decided from the snapshot: an evaluation is a generation of the evaluator's row
(its segment names the parent and the child), so a killed run resumes the same evaluations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from populace.controller._curves import CurveComparison, compare_curves
from populace.controller._decision import Continue, Decision, Evaluate, Exploit, Stop, Wait
from populace.controller._ranking import Ranking, comparison_set
from populace.controller._snapshot import (
    Evaluation,
    MemberSnapshot,
    MemberState,
    PopulationSnapshot,
)
from populace.errors import ConfigurationError

if TYPE_CHECKING:
    from populace.controller._controller import Controller

__all__ = ["FirePBT"]


def _integer(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigurationError(f"FirePBT {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class FirePBT:
    """Faster Improvement Rate PBT: pass as ``pop.run(..., algorithm=pop.FirePBT())``.

    ``population=`` counts the members, split evenly over the sub-populations; the evaluators are
    extra trials that share the same workers and count in the compute spent.

    Args:
        subpopulations: How many sub-populations (2: the greedy P1 and one parent P2).
        evaluators: How many evaluations run at once (at most the members of P2..Pn, since each
            evaluates a different parent).
        p_stat: Significance of the binomial test that an evaluation improves faster, in (0, 1).
        max_eval_steps: The steps after which an evaluation whose curve never met its child's
            stops, and by which the stopping threshold has annealed to ``p_stat`` (None: three
            intervals, as in the reference configuration).
        curve_points: The latest reports of each curve that comparisons read.
        members: The population size this algorithm is bound to (``pop.run`` sets it).
    """

    def __init__(
        self,
        subpopulations: int = 2,
        evaluators: int = 4,
        p_stat: float = 0.01,
        max_eval_steps: int | None = None,
        curve_points: int = 128,
        members: int | None = None,
    ) -> None:
        self.subpopulations = _integer("subpopulations", subpopulations, 2)
        self.evaluators = _integer("evaluators", evaluators, 1)
        if isinstance(p_stat, bool) or not isinstance(p_stat, (int, float)) or not 0 < p_stat < 1:
            raise ConfigurationError(f"FirePBT p_stat must be in (0, 1), got {p_stat!r}")
        self.p_stat = float(p_stat)
        self.max_eval_steps = (
            None if max_eval_steps is None else _integer("max_eval_steps", max_eval_steps, 1)
        )
        self.curve_points = _integer("curve_points", curve_points, 4)
        self.members = None if members is None else self._check_members(members)

    def _check_members(self, members: object) -> int:
        n, k = _integer("members", members, 1), self.subpopulations
        if n % k or n // k < 2:
            raise ConfigurationError(
                f"FirePBT cannot split a population of {n} into {k} sub-populations of equal "
                f"size (at least 2 each): use a population that is a multiple of {k}, at least "
                f"{2 * k}"
            )
        parents = n - n // k
        if self.evaluators > parents:
            raise ConfigurationError(
                f"FirePBT has {self.evaluators} evaluators but only {parents} parent members "
                f"(sub-populations 2..{k} of a population of {n}) to evaluate, one each at a "
                f"time: use evaluators <= {parents}"
            )
        return n

    def bind(self, members: int) -> FirePBT:
        """This configuration for a population of ``members`` (checked to fit)."""
        settings = {k: v for k, v in self.to_dict().items() if k != "type"}
        return FirePBT(**{**settings, "members": members})

    # -- roles -----------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Rows the population stores: its members, then the evaluators."""
        return self._bound + self.evaluators

    @property
    def _bound(self) -> int:
        if self.members is None:
            raise ConfigurationError("FirePBT is not bound to a population size: use bind()")
        return self.members

    def is_evaluator(self, member: int) -> bool:
        """Whether ``member`` is an evaluator (an id after the population's members)."""
        return member >= self._bound

    def subpopulation(self, member: int) -> int:
        """The 0-based sub-population of a population member (0 is the greedy P1)."""
        return member // (self._bound // self.subpopulations)

    def members_of(self, index: int) -> np.ndarray:
        """Ids of sub-population ``index`` (0-based)."""
        size = self._bound // self.subpopulations
        return np.arange(index * size, (index + 1) * size, dtype=np.int64)

    def eval_limit(self, interval: int) -> int:
        """``max_eval_steps``, or three intervals when not set."""
        return 3 * interval if self.max_eval_steps is None else self.max_eval_steps

    # -- decisions -------------------------------------------------------------------------------

    def decide_member(
        self,
        controller: Controller,
        snapshot: PopulationSnapshot,
        member: MemberSnapshot,
        step: int,
    ) -> tuple[Decision, Ranking | None]:
        """A population member's decision at a ready point: take a successful evaluation of it,
        else PBT inside its sub-population (on fitness for parents)."""
        copy = self._successful_evaluation(controller, snapshot, member)
        if copy is not None:
            return copy, None
        index = self.subpopulation(member.id)
        if index == 0:
            ranked = comparison_set(
                snapshot, step, controller.interval, controller.maximize, self.members_of(0)
            )
            return controller.pbt_decision(snapshot, member.id, step, ranked), ranked
        fitness = self._fitness(controller, snapshot, index)
        if member.id not in fitness:
            why = "no evaluation of it has run an interval"
            return Continue(f"FIRE: P{index + 1} member not ranked: {why}"), None
        ranked = comparison_set(
            snapshot,
            step,
            controller.interval,
            controller.maximize,
            self.members_of(index),
            fitness,
        )
        return controller.pbt_decision(snapshot, member.id, step, ranked), ranked

    def decide_evaluator(
        self,
        controller: Controller,
        snapshot: PopulationSnapshot,
        evaluator: MemberSnapshot,
        step: int,
    ) -> Decision:
        """An evaluator's decision: continue its evaluation, or stop it and start another."""
        population = [m for m in snapshot.members if not self.is_evaluator(m.id)]
        if all(m.state != MemberState.RUNNING for m in population):
            return Stop("FIRE: every population member is done: no more evaluations")
        why = None
        if evaluator.evaluation is not None and evaluator.generation > 0:
            why = self._stop_reason(controller, snapshot, evaluator, step)
            if why is None:
                return Continue(self._progress(controller, snapshot, evaluator, step))
        return self._next_evaluation(controller, snapshot, evaluator, why)

    def _stop_reason(
        self,
        controller: Controller,
        snapshot: PopulationSnapshot,
        evaluator: MemberSnapshot,
        step: int,
    ) -> str | None:
        """Why the evaluator's evaluation ends at ``step`` (rules S1-S3, or the budget), or None."""
        evaluation = evaluator.evaluation
        assert evaluation is not None
        parent = snapshot.member(evaluation.parent)
        child = snapshot.member(evaluation.child)
        if parent.generation != evaluation.parent_generation:
            return f"its parent, member {parent.id}, was overwritten"
        if child.generation != evaluation.child_generation:
            return f"its child, member {child.id}, was overwritten"
        if child.state != MemberState.RUNNING:
            return f"its child, member {child.id}, is {child.state}"
        if step >= controller.budget:
            return f"it reached the budget of {controller.budget} steps"
        compared = self._against_child(controller, evaluator, child)
        if compared is None:
            return None
        elapsed, limit = step - evaluator.start_step, self.eval_limit(controller.interval)
        if not compared.overlap and elapsed >= limit:
            return f"its curve never met member {child.id}'s in {elapsed} steps (S1)"
        threshold = self.p_stat + max(0.0, 1.0 - elapsed / limit)
        if compared.overlap and compared.p_value > threshold:
            return (
                f"it is not improving faster than member {child.id} (p = "
                f"{compared.p_value:.3g} > {threshold:.3g} after {elapsed} steps, S2)"
            )
        return None

    def _progress(
        self,
        controller: Controller,
        snapshot: PopulationSnapshot,
        evaluator: MemberSnapshot,
        step: int,
    ) -> str:
        evaluation = evaluator.evaluation
        assert evaluation is not None
        compared = self._against_child(controller, evaluator, snapshot.member(evaluation.child))
        where = f"FIRE: evaluating member {evaluation.parent} for member {evaluation.child}"
        if compared is None:
            return f"{where}: too few scores to compare yet"
        verdict = "improves faster" if self._succeeded(compared) else "continues"
        return (
            f"{where}: {verdict} (best-score difference {compared.difference:.4g}, p = "
            f"{compared.p_value:.3g} over {compared.overlap} shared reports)"
        )

    def _next_evaluation(
        self,
        controller: Controller,
        snapshot: PopulationSnapshot,
        evaluator: MemberSnapshot,
        why: str | None,
    ) -> Decision:
        """Start an evaluation of the parent evaluated longest ago, or wait for one.

        A parent is eligible once it trained an interval, while at least one interval remains
        before the budget (an evaluation must reach a ready point to be compared), and when no
        other evaluator evaluates it.
        """
        ended = "" if why is None else f"evaluation ended: {why}; "
        busy = {e.parent for m, e in self._evaluations(snapshot) if m.id != evaluator.id}
        parents = [
            m
            for m in snapshot.members
            if not self.is_evaluator(m.id)
            and self.subpopulation(m.id) > 0
            and m.state == MemberState.RUNNING
            and m.checkpoint is not None
            and controller.interval <= m.checkpoint_step <= controller.budget - controller.interval
            and m.id not in busy
        ]
        if not parents:
            return Wait(f"FIRE: {ended}no parent to evaluate yet")

        def unevaluated_for(m: MemberSnapshot) -> int:
            since = max(m.start_step, -1 if m.evaluated_step is None else m.evaluated_step)
            return m.checkpoint_step - since

        parent = min(parents, key=lambda m: (-unevaluated_for(m), m.id))
        child = self._child(controller, snapshot, self.subpopulation(parent.id) - 1)
        if child is None:
            return Wait(f"FIRE: {ended}no child trained long enough since its last change")
        assert parent.checkpoint is not None
        return Evaluate(
            parent.id,
            parent.generation,
            parent.checkpoint_step,
            parent.checkpoint,
            dict(child.params),
            child.id,
            child.generation,
            f"FIRE: {ended}evaluates member {parent.id} (step {parent.checkpoint_step}, "
            f"unevaluated for {unevaluated_for(parent)} steps) with the params of member "
            f"{child.id}",
        )

    def _child(
        self, controller: Controller, snapshot: PopulationSnapshot, index: int
    ) -> MemberSnapshot | None:
        """The best member of sub-population ``index`` by latest score that trained at least one
        interval since its hyperparameters last changed."""
        sign = 1.0 if controller.maximize else -1.0
        eligible = [
            m
            for m in (snapshot.member(int(i)) for i in self.members_of(index))
            if m.state == MemberState.RUNNING
            and m.recent_scores
            and m.step - m.start_step >= controller.interval
        ]
        if not eligible:
            return None
        return min(eligible, key=lambda m: (-sign * m.recent_scores[-1], m.id))

    # -- curves ----------------------------------------------------------------------------------

    def _evaluations(self, snapshot: PopulationSnapshot) -> list[tuple[MemberSnapshot, Evaluation]]:
        """Running evaluations whose parent and child still stand where they started."""
        found = []
        for m in snapshot.members:
            evaluation = m.evaluation
            if (
                evaluation is None
                or m.generation == 0
                or m.state != MemberState.RUNNING
                or not self.is_evaluator(m.id)
            ):
                continue
            parent, child = snapshot.member(evaluation.parent), snapshot.member(evaluation.child)
            if (
                parent.generation == evaluation.parent_generation
                and child.generation == evaluation.child_generation
            ):
                found.append((m, evaluation))
        return found

    def _curve(self, controller: Controller, member: MemberSnapshot) -> tuple[float, ...]:
        scores = member.recent_scores[-self.curve_points :]
        return scores if controller.maximize else tuple(-s for s in scores)

    def _against_child(
        self, controller: Controller, evaluator: MemberSnapshot, child: MemberSnapshot
    ) -> CurveComparison | None:
        mine, theirs = self._curve(controller, evaluator), self._curve(controller, child)
        if len(mine) < 2 or len(theirs) < 2:
            return None
        return compare_curves(mine, theirs)

    def _succeeded(self, compared: CurveComparison) -> bool:
        return compared.difference > 0 and compared.p_value < self.p_stat

    def _successful_evaluation(
        self, controller: Controller, snapshot: PopulationSnapshot, member: MemberSnapshot
    ) -> Exploit | None:
        """The copy of the best successful evaluation whose child is ``member``, if any."""
        best: tuple[float, MemberSnapshot, CurveComparison] | None = None
        for evaluator, evaluation in self._evaluations(snapshot):
            if evaluation.child != member.id or evaluator.checkpoint is None:
                continue
            if evaluator.checkpoint_step <= evaluator.start_step:
                continue  # its only checkpoint is still the parent's, untrained by this evaluation
            if evaluator.checkpoint_step > member.step:
                # Taken once the child catches up: a copy never moves a member forward, so it
                # gets no steps for free and keeps a record at every ready step it is compared at.
                continue
            compared = self._against_child(controller, evaluator, member)
            if compared is None or not self._succeeded(compared):
                continue
            if best is None or compared.difference > best[0]:
                best = (compared.difference, evaluator, compared)
        if best is None:
            return None
        _, evaluator, compared = best
        parent = evaluator.evaluation
        assert parent is not None and evaluator.checkpoint is not None
        return Exploit(
            evaluator.id,
            evaluator.generation,
            evaluator.checkpoint_step,
            evaluator.checkpoint,
            dict(member.params),
            f"FIRE: evaluator {evaluator.id} (weights of member {parent.parent}) improves faster "
            f"with this member's params: best-score difference {compared.difference:.4g}, "
            f"p = {compared.p_value:.3g} < {self.p_stat:g}; copies its weights at step "
            f"{evaluator.checkpoint_step}, keeps its own params",
        )

    def _fitness(
        self, controller: Controller, snapshot: PopulationSnapshot, index: int
    ) -> dict[int, float]:
        """Fitness of the parents of sub-population ``index`` whose running evaluation trained
        at least an interval: the sum of its curve's best-score differences against the others'.

        A younger evaluation is not ranked on: a few reports are noise, and ranking on them
        overwrites parents (which ends their evaluations) before any evaluation says anything,
        as the reference ranks parents only after its evaluators trained a full round.
        """
        curves: dict[int, tuple[float, ...]] = {}
        for evaluator, evaluation in sorted(self._evaluations(snapshot), key=lambda e: e[0].id):
            if (
                self.subpopulation(evaluation.parent) == index
                and evaluator.step - evaluator.start_step >= controller.interval
            ):
                curve = self._curve(controller, evaluator)
                if len(curve) >= 2:
                    curves[evaluation.parent] = curve
        return {
            a: sum(compare_curves(ca, cb).difference for b, cb in curves.items() if b != a)
            for a, ca in curves.items()
        }

    # -- configuration ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-able data."""
        return {
            "type": "FirePBT",
            "subpopulations": self.subpopulations,
            "evaluators": self.evaluators,
            "p_stat": self.p_stat,
            "max_eval_steps": self.max_eval_steps,
            "curve_points": self.curve_points,
            "members": self.members,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FirePBT:
        """Rebuild from :meth:`to_dict` output."""
        fields = {k: v for k, v in data.items() if k != "type"}
        if data.get("type") != "FirePBT":
            raise ConfigurationError(f"unknown algorithm {data.get('type')!r}")
        try:
            return cls(**fields)
        except TypeError as exc:
            raise ConfigurationError(f"cannot build FirePBT from {dict(data)!r}: {exc}") from None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"FirePBT({fields})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FirePBT) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))
