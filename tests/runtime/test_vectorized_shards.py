"""The vectorized executor on several workers: the population in shards, one per worker process,
exploiting across shards through the stored checkpoints."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest
import torch

import populace as pop
from populace.errors import ConfigurationError
from populace.executors import VectorizedExecutor

from .test_vectorized import SPACE

SETTINGS = dict(population=8, budget=30, interval=5, seed=3, progress=False)


def _meet(folder: str, processes: int = 2) -> None:
    """Wait until ``processes`` processes have called this (so that the driver does not train
    every shard before the spawned worker has started)."""
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while len(os.listdir(folder)) < processes:
        assert time.monotonic() < deadline, "the other worker never started"
        time.sleep(0.05)


class Climb:
    """The toy of test_vectorized, each result also saying which process trained it; with
    ``die``, the first spawned worker to reach step 12 SIGKILLs itself there, mid-interval."""

    def __init__(self, meet: Path, die: bool = False) -> None:
        self.meet, self.die = meet, die
        meet.mkdir()

    def __call__(self, batch: pop.Batch) -> None:
        _meet(str(self.meet))
        if batch.checkpoint is None:
            x = torch.zeros(batch.size, dtype=torch.float64, device=batch.device)
        else:
            x = batch.checkpoint["x"]
        pid = torch.full((batch.size,), float(os.getpid()), dtype=torch.float64)
        spawned = multiprocessing.parent_process() is not None
        for step in range(batch.step + 1, batch.budget + 1):
            x += batch.params["lr"] * (1 - x)
            if self.die and spawned and step == 12 and not (self.meet / "killed").exists():
                (self.meet / "killed").touch()
                os.kill(os.getpid(), signal.SIGKILL)
            batch.report(step, -(1 - x).abs(), state={"x": x}, metrics={"x": x, "pid": pid})


def _run(tmp_path: Path, **settings: object) -> pop.Population:
    return pop.run(
        Climb(tmp_path / "meet"), SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}", name="shards",
        executor="vectorized", workers=2, **{**SETTINGS, **settings},
    )  # fmt: skip


def _trained_by(result: pop.Population) -> dict[tuple[int, int], int]:
    """(member, step) -> the pid of the process that trained it."""
    return {(r.member, r.step): int(r.metrics["pid"]) for r in result.results()}


@pytest.mark.slow
def test_two_workers_train_a_shard_each_and_exploit_across_them(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert [m.state for m in result.members()] == ["finished"] * 8
    assert sorted((r.member, r.step) for r in result.results()) == [
        (m, s) for m in range(8) for s in range(1, 31)
    ]
    trained_by = _trained_by(result)
    assert len(set(trained_by.values())) == 2  # both processes trained
    at_step: dict[tuple[int, int], int] = defaultdict(int)
    for (_, step), pid in trained_by.items():
        at_step[step, pid] += 1
    assert max(at_step.values()) <= 4  # shards of ceil(8 / 2) members

    # An exploit across shards loads the parent's stored slice into the member's slot: its next
    # x is computed from the parent's x at the ready point, with its own new lr.
    x = {(r.member, r.step): r.metrics["x"] for r in result.results()}
    lr = {(s.member, s.start_step): s.params["lr"] for s in result.storage.segments(result.id)}
    exploits = [d for d in result.decisions() if d.decision.kind == "exploit"]
    parents = [
        (trained_by[d.member, d.step], trained_by[d.decision.parent, d.step]) for d in exploits
    ]
    assert any(mine != theirs for mine, theirs in parents), "no exploit crossed shards"
    for d in exploits:
        parent_x = x[d.decision.parent, d.step]
        expected = parent_x + lr[d.member, d.step] * (1 - parent_x)
        assert math.isclose(x[d.member, d.step + 1], expected, rel_tol=0, abs_tol=1e-12)
    assert all(m.lease_owner is None for m in result.storage.members(result.id))
    assert [w.stopped_at is not None for w in result.storage.workers(result.id)] == [True] * 2


@pytest.mark.slow
def test_synchronous_shards_meet_at_every_barrier(tmp_path: Path) -> None:
    result = _run(tmp_path, synchronous=True)
    assert [m.state for m in result.members()] == ["finished"] * 8
    assert len(set(_trained_by(result).values())) == 2
    by_step: dict[int, int] = defaultdict(int)
    for d in result.decisions():
        by_step[d.step] += 1
    assert by_step == {step: 8 for step in (5, 10, 15, 20, 25, 30)}  # every member, every barrier
    scores = {(r.member, r.step): r.score for r in result.results()}
    for d in result.decisions():
        if d.step < 30:  # at a barrier each member compares itself with all eight at that step
            assert sorted(c[0] for c in d.compared) == list(range(8)), d
            assert all(scores[c[0], d.step] == c[2] for c in d.compared), d


def test_shards_need_a_storage_every_worker_reaches(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="memory"):
        pop.run(
            Climb(tmp_path / "meet"), SPACE, storage="memory", executor="vectorized", workers=2,
            **SETTINGS,
        )  # fmt: skip
    with pytest.raises(ConfigurationError, match="workers must be an integer >= 1"):
        VectorizedExecutor(0)


@pytest.mark.slow
def test_a_killed_shard_worker_is_replaced_and_loses_only_its_interval(tmp_path: Path) -> None:
    meet = tmp_path / "meet"
    result = pop.run(
        Climb(meet, die=True), SPACE, storage=f"sqlite:///{tmp_path / 'runs.db'}", name="kill",
        executor="vectorized", workers=2, **SETTINGS,
    )  # fmt: skip
    assert (meet / "killed").exists()
    assert len(result.storage.workers(result.id)) == 3  # the driver, the killed one, its successor
    assert [m.state for m in result.members()] == ["finished"] * 8
    assert sorted((r.member, r.step) for r in result.results()) == [
        (m, s) for m in range(8) for s in range(1, 31)
    ]
    # Every stored x follows from the one before it (or the parent's, after an exploit): the
    # shard resumed from its checkpoints at step 10, not from what the dead worker held.
    x = {(r.member, r.step): r.metrics["x"] for r in result.results()}
    segments = {(s.member, s.start_step): s for s in result.storage.segments(result.id)}
    lr = {}
    for member in range(8):
        for step in range(1, 31):
            segment = segments.get((member, step - 1))
            if segment is not None:
                lr[member] = segment.params["lr"]
            before = x.get((member, step - 1), 0.0)
            if segment is not None and segment.parent_member is not None:
                before = x[segment.parent_member, step - 1]
            expected = before + lr[member] * (1 - before)
            assert math.isclose(x[member, step], expected, rel_tol=0, abs_tol=1e-12)
