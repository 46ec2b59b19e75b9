"""A checkpoint damaged on disk costs its member the steps since an intact one, not the run."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

import populace as pop
from populace.runtime._recovery import restore_past_damaged_checkpoint
from populace.runtime._session import Session

SPACE = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))


def walk(member: pop.Member) -> None:
    """x grows by lr a step; the checkpoint holds x and the step it was saved at."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    assert state["step"] == member.step
    x = state["x"]
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"]
        member.report(step, x, checkpoint={"x": x, "step": step})


def start(tmp_path: Path, size: int = 2) -> pop.Population:
    """A population whose member 0 trained to step 8 (checkpoints at 4 and 8), then paused."""
    population = pop.run(
        walk, SPACE, population=size, budget=16, interval=4, storage=f"sqlite:///{tmp_path}/r.db",
        name="walk", workers=0, exploit=pop.NoExploit(), explore=pop.NoExplore(),
    )  # fmt: skip
    trial = population.ask("tester")
    assert trial is not None and trial.member == 0
    x = 0.0
    for step in range(1, 9):
        x += trial.params["lr"]
        population.tell(trial, step, x, checkpoint={"x": x, "step": step})
    population.release(0, "tester")
    return population


def damage(population: pop.Population, ref: str) -> None:
    blob = Path(population.checkpoints.location(ref))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))


def resume(tmp_path: Path, size: int = 2) -> pop.Population:
    return pop.run(
        walk, SPACE, population=size, budget=16, interval=4, storage=f"sqlite:///{tmp_path}/r.db",
        name="walk", exploit=pop.NoExploit(), explore=pop.NoExplore(), progress=False,
    )  # fmt: skip


def test_a_member_goes_back_to_its_last_intact_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    population = start(tmp_path)
    member = population.storage.members(population.id)[0]
    assert member.checkpoint_step == 8
    damage(population, member.checkpoint)
    with caplog.at_level(logging.WARNING, logger="populace"):
        result = resume(tmp_path)
    assert "member 0 at step 8 is damaged; the member goes back to its checkpoint" in caplog.text
    assert all(m.state == "finished" and m.step == 16 for m in result.members())
    steps = [r.step for r in result.results() if r.member == 0]
    assert steps == list(range(1, 17))  # 5..8 trained again, nothing twice
    lr = result.members()[0].params["lr"]
    assert result.members()[0].score == pytest.approx(16 * lr)


def test_with_no_intact_checkpoint_left_the_member_starts_over(tmp_path: Path) -> None:
    population = start(tmp_path)
    checkpoints = {r.checkpoint for r in population.storage.results(population.id) if r.checkpoint}
    assert len(checkpoints) == 2
    for ref in checkpoints:
        damage(population, ref)
    result = resume(tmp_path)
    assert all(m.state == "finished" and m.step == 16 for m in result.members())
    assert [r.step for r in result.results() if r.member == 0] == list(range(1, 17))


def test_a_damaged_first_checkpoint_of_a_generation_fails_only_that_member(
    tmp_path: Path,
) -> None:
    explore_only = {"exploit": pop.NoExploit(explore=True), "explore": pop.PerturbExplore()}
    settings = dict(
        population=2, budget=16, interval=4, storage=f"sqlite:///{tmp_path}/r.db", name="walk"
    )
    population = pop.run(walk, SPACE, **settings, **explore_only, workers=0)
    trial = population.ask("tester")
    assert trial is not None and trial.member == 0
    for step in range(1, 5):
        decision = population.tell(trial, step, 0.1 * step, checkpoint={"x": 0.1, "step": step})
    assert decision.kind == "explore"  # generation 1 starts from the checkpoint at step 4
    population.release(0, "tester")
    member = population.storage.members(population.id)[0]
    assert (member.generation, member.checkpoint_step) == (1, 4)
    damage(population, member.checkpoint)
    result = pop.run(walk, SPACE, **settings, **explore_only, progress=False)
    assert {m.id: m.state for m in result.members()} == {0: "failed", 1: "finished"}
    assert "is corrupted" in result.storage.members(result.id)[0].error


def test_after_an_exploit_a_damaged_parent_copy_gives_way_to_the_members_own(
    tmp_path: Path,
) -> None:
    strategies = {
        "exploit": pop.TruncationExploit(bottom=0.5, top=0.5),
        "explore": pop.NoExplore(),
    }
    settings = dict(
        population=2, budget=16, interval=4, storage=f"sqlite:///{tmp_path}/r.db", name="walk"
    )
    population = pop.run(walk, SPACE, **settings, **strategies, workers=0)
    for member, score in ((0, 1.0), (1, 0.0)):
        trial = population.ask("tester")
        assert trial is not None and trial.member == member
        for step in range(1, 5):
            x = 0.1 * step + member
            decision = population.tell(trial, step, score, checkpoint={"x": x, "step": step})
        population.release(member, "tester")
    assert decision.kind == "exploit"  # member 1 copies member 0's checkpoint at step 4
    copied = population.storage.members(population.id)[1]
    damage(population, copied.checkpoint)
    result = pop.run(walk, SPACE, **settings, **strategies, progress=False)
    assert all(m.state == "finished" and m.step == 16 for m in result.members())
    lineage = {(s.member, s.generation): s for s in result.lineage()}
    start = lineage[(1, 1)]
    assert (start.parent_member, start.parent_generation, start.parent_step) == (1, 0, 4)


def test_a_rewound_member_decides_afresh_where_it_had_decided_and_never_stays_ready(
    tmp_path: Path,
) -> None:
    """The faults benchmark once hung: a member sent back past a stored decision re-reached its
    step and, paused there, was found ready at every claim while the stored decision applied
    nothing. Rewinding deletes the decisions it undoes, so the member decides again."""
    population = start(tmp_path, size=1)
    first = {d.step: d for d in population.decisions() if d.member == 0}
    assert set(first) == {4, 8}
    for ref in {r.checkpoint for r in population.results() if r.checkpoint}:
        damage(population, ref)
    session = Session(
        population.storage, population.id, population.controller, population.checkpoints
    )
    trial = session.ask("tester")
    assert trial is not None and trial.checkpoint is not None and trial.checkpoint.step == 8
    assert restore_past_damaged_checkpoint(session, trial)  # back to the start: step 0
    session.release(0, "tester")
    assert [d.step for d in population.decisions() if d.member == 0] == []

    trial = population.ask("tester")
    assert trial is not None and (trial.member, trial.start_step) == (0, 0)
    for step in range(1, 5):
        population.tell(trial, step, 0.01 * step, checkpoint={"x": 0.01 * step, "step": step})
    population.release(0, "tester")
    again = [d for d in population.decisions() if d.member == 0]
    assert [d.step for d in again] == [4] and again[0].compared == ((0, 4, 0.04),)
    assert population.storage.members(population.id)[0].last_decision_step == 4

    asked: list[pop.Trial | None] = []
    thread = threading.Thread(target=lambda: asked.append(population.ask("tester")), daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert asked, "ask() spun on a member that stays ready at a decided step"
    assert asked[0] is not None and asked[0].start_step in (0, 4)
