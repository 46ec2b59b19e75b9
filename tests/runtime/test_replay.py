"""pop.replay: one fresh member retrained along the source's best schedule, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

import populace as pop
from populace.controller import MemberSnapshot
from populace.controller._replay import replay_decision

from .workloads import SPACE, climb

BUDGET, INTERVAL = 24, 4


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _source(tmp_path: Path, train=climb, name: str = "climb", **kwargs) -> pop.Population:
    settings = dict(
        population=4,
        budget=BUDGET,
        interval=INTERVAL,
        seed=3,
        progress=False,
        storage=_url(tmp_path),
        name=name,
    )
    settings.update(kwargs)
    return pop.run(train, SPACE, **settings)


def _entries(schedule: pop.Schedule) -> list[tuple[int, dict]]:
    return [(e.step, dict(e.params)) for e in schedule]


def _stops_at(step: int):
    """A climb() interrupted (KeyboardInterrupt) the first time it is about to report ``step``."""
    state = {"armed": True}

    def interrupted(member: pop.Member) -> None:
        original = member.report

        def report(at, score, checkpoint=None):
            if at == step and state["armed"]:
                state["armed"] = False
                raise KeyboardInterrupt
            original(at, score, checkpoint)

        member.report = report  # type: ignore[method-assign]
        climb(member)

    return interrupted


def _every_third(member: pop.Member) -> None:
    """climb() reporting every third step only, so ready points fall off the interval's grid."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    x, step = float(state["x"]), int(state["step"])
    while step < member.budget:
        step = min(step + 3, member.budget)
        x += member.params["lr"] * (1.0 - x)
        member.report(step, -abs(1.0 - x), checkpoint={"x": x, "step": step})


def test_replay_trains_with_the_best_schedule_exactly(tmp_path: Path) -> None:
    source = _source(tmp_path)
    schedule = source.best.schedule
    assert len(schedule) > 2  # the best model was copied across members: a real schedule
    result = pop.replay(climb, source, progress=False)
    replayed = result.population
    assert replayed.name == "climb-replay" and replayed.size == 1
    assert _entries(replayed.schedule(0)) == _entries(schedule)
    params = {(s.member, s.generation): dict(s.params) for s in replayed.lineage()}
    steps = []
    for r in replayed.results():
        assert params[(r.member, r.generation)] == dict(schedule.params_at(r.step))
        steps.append(r.step)
    assert sorted(steps) == list(range(1, BUDGET + 1))  # every step trained once, no copying
    assert {s.parent_member for s in replayed.lineage()} <= {None, 0}


def test_a_deterministic_train_reproduces_the_best_score(tmp_path: Path) -> None:
    source = _source(tmp_path, storage="memory")
    result = pop.replay(climb, source, progress=False)
    assert result.score == source.best.score == result.source_score
    assert result.difference == 0.0
    assert result.source is source
    replayed = result.population.best
    assert replayed.checkpoint.load() == source.best.checkpoint.load()
    assert "difference +0" in repr(result)


def test_schedule_changes_are_stored_explore_decisions(tmp_path: Path) -> None:
    source = _source(tmp_path)
    changes = [e.step for e in source.best.schedule][1:]
    decisions = pop.replay(climb, source, progress=False).population.decisions()
    assert [d.step for d in decisions] == list(range(INTERVAL, BUDGET + 1, INTERVAL))
    for d in decisions:
        expected = "stop" if d.step == BUDGET else "explore" if d.step in changes else "continue"
        assert d.decision.kind == expected, d
        assert d.compared == ()
    explored = [d.decision for d in decisions if d.decision.kind == "explore"]
    assert [dict(e.params) for e in explored] == [dict(e.params) for e in source.best.schedule[1:]]
    assert all("replay" in e.reason for e in explored)


def test_an_interrupted_replay_resumes_where_it_stopped(tmp_path: Path) -> None:
    source = _source(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        pop.replay(_stops_at(10), source, progress=False)
    partial = pop.load(_url(tmp_path), "climb-replay")
    kept = {r.id for r in partial.results() if r.step <= 8}
    assert len(kept) == 8 and partial.members()[0].state == "running"
    result = pop.replay(climb, source, progress=False)
    assert kept <= {r.id for r in result.population.results()}  # continued, not restarted
    assert sorted(r.step for r in result.population.results()) == list(range(1, BUDGET + 1))
    assert _entries(result.population.schedule(0)) == _entries(source.best.schedule)
    assert result.difference == 0.0
    stored = len(result.population.results())
    again = pop.replay(climb, "climb", storage=_url(tmp_path), progress=False)  # finished: no-op
    assert len(again.population.results()) == stored and again.score == result.score


def test_another_schedule_under_the_same_name_is_refused(tmp_path: Path) -> None:
    first = _source(tmp_path)
    other = _source(tmp_path, name="climb-seed-4", seed=4)
    assert _entries(first.best.schedule) != _entries(other.best.schedule)
    pop.replay(climb, first, progress=False)
    with pytest.raises(pop.ConfigurationError, match=r"another schedule(.|\n)*entry 0: step 0"):
        pop.replay(climb, other, name="climb-replay", progress=False)
    with pytest.raises(pop.ConfigurationError, match="not a replay"):
        pop.replay(climb, first, name="climb-seed-4", progress=False)
    with pytest.raises(pop.ConfigurationError, match="name of its own"):
        pop.replay(climb, first, name="climb", progress=False)


def test_replay_with_worker_processes(tmp_path: Path) -> None:
    source = _source(tmp_path)
    result = pop.replay(climb, source, workers=2, progress=False)
    assert _entries(result.population.schedule(0)) == _entries(source.best.schedule)
    assert result.difference == 0.0


def test_bad_input_is_refused_clearly(tmp_path: Path) -> None:
    source = _source(tmp_path)
    with pytest.raises(pop.ConfigurationError, match="train must be callable"):
        pop.replay("climb", source)  # type: ignore[arg-type]
    with pytest.raises(pop.ConfigurationError, match="source must be a Population"):
        pop.replay(climb, 42)  # type: ignore[arg-type]
    with pytest.raises(pop.ConfigurationError, match="storage is only for a source given by"):
        pop.replay(climb, source, storage=_url(tmp_path))
    with pytest.raises(pop.StorageError, match="no population named 'nope'"):
        pop.replay(climb, "nope", storage=_url(tmp_path))


def test_a_source_without_results_is_refused(tmp_path: Path) -> None:
    def broken(member: pop.Member) -> None:
        raise RuntimeError("diverged")

    source = _source(tmp_path, train=broken, name="broken", retries=0)
    with pytest.raises(pop.ConfigurationError, match="no results"):
        pop.replay(climb, source)


def test_an_unfinished_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _source(tmp_path, train=_stops_at(10))
    source = pop.load(_url(tmp_path), "climb")
    with pytest.raises(pop.ConfigurationError, match=r"stopped at step \d+ of 24"):
        pop.replay(climb, source)


def test_schedule_steps_off_the_interval_are_refused(tmp_path: Path) -> None:
    source = _source(tmp_path, train=_every_third, name="coarse", interval=5)
    assert len(source.best.schedule) > 1
    with pytest.raises(pop.ConfigurationError, match="not multiples of its interval 5"):
        pop.replay(_every_third, source)


def test_a_failing_replay_is_reported(tmp_path: Path) -> None:
    source = _source(tmp_path)

    def broken(member: pop.Member) -> None:
        raise RuntimeError("diverged")

    with pytest.raises(pop.PopulaceError, match=r"replayed member(.|\n)*diverged"):
        pop.replay(broken, source, retries=0, progress=False)


# -- the strategy alone -------------------------------------------------------------------------

SCHEDULE = [{"step": s, "params": {"lr": 0.01 * (s + 1), "decay": 0.1}} for s in (0, 4, 8, 12)]


def _member(generation: int, start_step: int, step: int) -> MemberSnapshot:
    return MemberSnapshot(0, generation, {}, "running", step, start_step, start_step)


def _replaying(schedule: list = SCHEDULE) -> pop.Controller:
    return pop.Controller(SPACE, budget=24, interval=4, schedule=schedule)


def test_the_replay_mode_round_trips_through_the_stored_controller() -> None:
    controller = _replaying()
    rebuilt = pop.Controller.from_dict(SPACE, controller.to_dict())
    assert rebuilt.schedule == SCHEDULE and rebuilt.to_dict() == controller.to_dict()
    assert isinstance(rebuilt.exploit, pop.NoExploit) and isinstance(rebuilt.explore, pop.NoExplore)
    assert rebuilt.initial_params(0) == SCHEDULE[0]["params"]
    assert "schedule" not in pop.Controller(SPACE, budget=24, interval=4).to_dict()


def test_a_replay_stored_as_an_explore_strategy_reads_back_as_the_replay_mode() -> None:
    stored = {**_replaying().to_dict(), "explore": {"type": "ReplayExplore", "schedule": SCHEDULE}}
    del stored["schedule"]
    stored["exploit"] = {"type": "NoExploit"}
    rebuilt = pop.Controller.from_dict(SPACE, stored)
    assert rebuilt.schedule == SCHEDULE and rebuilt.to_dict() == _replaying().to_dict()


def test_the_replay_mode_lands_each_change_at_or_before_its_step() -> None:
    def decide(member: MemberSnapshot, step: int) -> pop.Decision:
        return replay_decision(SCHEDULE, member, step, 4)

    assert decide(_member(0, 0, 4), 4).params["lr"] == 0.05
    assert decide(_member(1, 4, 8), 8).params["lr"] == 0.09
    # Ready points off the grid (reports every 3 steps): the next one comes at 12 at the
    # earliest, so at 6 the change of step 8 lands early, and the one of step 4 with it.
    early = decide(_member(0, 0, 6), 6)
    assert early.kind == "explore" and early.params["lr"] == 0.09
    assert "at ready point 6" in early.reason
    assert decide(_member(1, 6, 12), 12).params["lr"] == 0.13
    assert decide(_member(2, 12, 16), 16).kind == "continue"


def test_the_replay_mode_refuses_bad_schedules_and_strategies() -> None:
    with pytest.raises(pop.ConfigurationError, match="start at step 0"):
        _replaying(SCHEDULE[1:])
    with pytest.raises(pop.ConfigurationError, match="increasing"):
        _replaying([SCHEDULE[0], SCHEDULE[2], SCHEDULE[1]])
    with pytest.raises(pop.ConfigurationError, match="integer step"):
        _replaying([{"step": "0", "params": {}}])
    with pytest.raises(pop.ConfigurationError, match="leave exploit and explore out"):
        pop.Controller(SPACE, budget=24, interval=4, exploit=pop.NoExploit(), schedule=SCHEDULE)


def test_the_replay_keeps_its_checkpoints_beside_the_sources(tmp_path: Path) -> None:
    source = _source(tmp_path, keep_best=50)
    source_folder = Path(source.checkpoints.uri)
    kept = sorted(p.name for p in source_folder.rglob("*") if p.is_file())
    replayed = pop.replay(climb, source, keep_best=1)
    folder = Path(replayed.population.checkpoints.uri)
    assert folder.parent == source_folder.parent and folder != source_folder
    assert any(folder.rglob("*"))
    # the replay's garbage collection (keep_best=1) never touches the source's checkpoints
    assert sorted(p.name for p in source_folder.rglob("*") if p.is_file()) == kept
