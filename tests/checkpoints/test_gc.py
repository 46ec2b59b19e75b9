"""Garbage collection of unreferenced checkpoints."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from populace.checkpoints import GarbageReport, LocalCheckpointStore, collect_garbage
from populace.errors import CheckpointError


def test_keeps_exactly_the_keep_set_and_reports_what_it_freed(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    refs = [store.put_bytes(b"x" * size) for size in (10, 20, 30, 40, 50)]
    absent = "sha256:" + "f" * 64

    report = collect_garbage(store, keep=[refs[1], refs[3], absent])

    assert report == GarbageReport(kept=2, deleted=3, freed_bytes=10 + 30 + 50)
    assert set(store.refs()) == {refs[1], refs[3]}
    assert store.get_bytes(refs[3]) == b"x" * 40


def test_an_empty_keep_set_deletes_everything(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    store.put({"a": 1})
    store.put({"b": 2})
    assert collect_garbage(store, keep=set()).deleted == 2
    assert list(store.refs()) == []
    assert collect_garbage(store, keep=set()) == GarbageReport(kept=0, deleted=0, freed_bytes=0)


def test_a_malformed_ref_in_keep_deletes_nothing(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    ref = store.put_bytes(b"precious")
    with pytest.raises(CheckpointError, match="malformed checkpoint ref"):
        collect_garbage(store, keep={ref.upper()})
    assert list(store.refs()) == [ref]


def test_stale_temp_files_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    stale = tmp_path / "tmp" / "crashed.tmp"
    fresh = tmp_path / "tmp" / "writing.tmp"
    stale.write_bytes(b"s" * 100)
    fresh.write_bytes(b"f" * 7)
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    report = collect_garbage(store, keep=())

    assert report == GarbageReport(kept=0, deleted=0, freed_bytes=100)
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["writing.tmp"]


class _RacedStore(LocalCheckpointStore):
    """A real store where another collector deletes each blob right after this one lists it."""

    def refs(self):  # type: ignore[no-untyped-def]
        listed = list(super().refs())
        for ref in listed:
            self.delete(ref)
        return iter(listed)


def test_blobs_deleted_by_a_concurrent_collector_are_skipped(tmp_path: Path) -> None:
    store = _RacedStore(tmp_path)
    for i in range(3):
        store.put({"i": i})
    report = collect_garbage(store, keep=set())
    assert report == GarbageReport(kept=0, deleted=0, freed_bytes=0)
    assert list(LocalCheckpointStore(tmp_path).refs()) == []


@pytest.mark.slow
def test_two_collectors_at_once_both_finish(tmp_path: Path) -> None:
    import threading

    store = LocalCheckpointStore(tmp_path)
    for i in range(300):
        store.put({"i": i})
    failures: list[BaseException] = []

    def collect() -> None:
        try:
            collect_garbage(LocalCheckpointStore(tmp_path), keep=set())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=collect) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert list(store.refs()) == []
