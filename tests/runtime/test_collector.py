"""Garbage collection while a population trains: disk stays bounded, nothing needed goes, and
collectors racing writers (and each other) never delete a blob whose ref gets recorded."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

import populace as pop
from populace.checkpoints import LocalCheckpointStore, collect_garbage
from populace.runtime import _collector
from populace.storage import SQLStorage

from .workloads import SPACE, climb


def test_checkpoints_are_collected_while_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_collector, "GRACE_SECONDS", 0.2)
    monkeypatch.setattr(_collector, "EVERY_SECONDS", 0.05)
    sizes: list[int] = []

    def counted(member: pop.Member) -> None:
        # climb, sampling how many blobs the store holds at each of the member's starts
        sizes.append(len(list(LocalCheckpointStore(tmp_path / "ckpt", create=False).refs())))
        climb(member, seconds_per_step=0.005)

    result = pop.run(
        counted, SPACE, population=4, budget=60, interval=2, seed=1, progress=False,
        storage=f"sqlite:///{tmp_path / 'runs.db'}", checkpoints=str(tmp_path / "ckpt"),
    )  # fmt: skip
    saved = {r.checkpoint for r in result.results() if r.checkpoint is not None}
    assert len(saved) >= 60, len(saved)
    assert max(sizes) < len(saved) / 3, (max(sizes), len(saved))  # collected as it went
    assert all(m.state == "finished" for m in result.members())
    for member in result.members():
        assert member.checkpoint is not None and member.checkpoint.load()["step"] == 60
    assert result.best is not None and result.best.checkpoint is not None


def test_a_collector_racing_writers_never_deletes_a_ref_they_record(tmp_path: Path) -> None:
    """Writers put blobs (often content stored before: a re-put must renew it) and record their
    refs a moment later; collectors keep the recorded refs and spare what was put in the last
    grace period, as :func:`populace.runtime._collector.collect` does."""
    store, grace = LocalCheckpointStore(tmp_path / "store"), 0.3
    recorded: set[str] = set()
    lock, stop = threading.Lock(), threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                ref = store.put_bytes(b"blob %d" % rng.randrange(40))  # a small pool: re-puts
                time.sleep(rng.uniform(0, grace / 3))  # the writer records the ref later
                with lock:
                    recorded.add(ref)
                    if len(recorded) > 10:  # old records go: their blobs become garbage
                        recorded.discard(rng.choice(sorted(recorded)))
        except BaseException as exc:
            errors.append(exc)

    def collector() -> None:
        try:
            while not stop.is_set():
                started = time.time()
                with lock:
                    keep = set(recorded)
                collect_garbage(store, keep, spare_put_after=started - grace)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=collector) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 4.0
    checked = 0
    while time.monotonic() < deadline:
        with lock:
            for ref in recorded:  # every recorded ref's blob is there, whole
                assert store.get_bytes(ref).startswith(b"blob ")
                checked += 1
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert checked > 100
    assert len(list(store.refs())) < 40  # and garbage did go


def test_a_store_of_another_database_is_never_collected(tmp_path: Path) -> None:
    kept = pop.run(
        climb, SPACE, population=2, budget=8, interval=4, progress=False, name="a",
        storage=f"sqlite:///{tmp_path / 'a.db'}", checkpoints=str(tmp_path / "ckpt"),
    )  # fmt: skip
    refs = set(kept.checkpoints.refs())
    stranger = SQLStorage(f"sqlite:///{tmp_path / 'b.db'}")
    assert _collector.collect(stranger, kept.checkpoints, keep_best=0) is None
    assert set(kept.checkpoints.refs()) == refs
