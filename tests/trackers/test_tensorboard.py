"""The TensorBoard tracker: event files read back with TensorBoard's own reader equal storage.

Run with ``.venv/bin/python -m pytest tests/trackers/test_tensorboard.py -q``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import populace as pop
from populace.analysis._stitched import group_results, stitched_curve
from populace.errors import ConfigurationError
from populace.trackers import TensorBoard
from populace.trackers._event_file import EventRun
from populace.trackers._timeline import Entry
from tests.trackers._population import run

pytest.importorskip("tensorboard", reason="the TensorBoard tracker needs 'populace[tensorboard]'")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

numpy = pytest.importorskip("numpy")


def read(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def scalars(accumulator: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def texts(accumulator: EventAccumulator, tag: str) -> list[tuple[int, str]]:
    return [
        (e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode())
        for e in accumulator.Tensors(tag)
    ]


def f32(value: float) -> float:
    """What a TensorBoard scalar holds: a 32-bit float."""
    return float(numpy.float32(value))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[pop.Population, Path]:
    folder = tmp_path_factory.mktemp("tensorboard")
    return run(folder, [TensorBoard(folder / "tb")]), folder / "tb"


def check_runs(population: pop.Population, logdir: Path) -> None:
    """Every member's run holds its stitched curve, metrics, params and exploits as stored."""
    segments = population.lineage()
    grouped = group_results(population.results())
    by_key = {(s.member, s.generation): s for s in segments}
    for member in range(population.size):
        runs = read(logdir / f"member-{member}")
        curve = stitched_curve(segments, grouped, member)
        assert scalars(runs, "score") == [(p.step, f32(p.value)) for p in curve]
        loss = stitched_curve(segments, grouped, member, "loss")
        assert scalars(runs, "metrics/loss") == [(p.step, f32(p.value)) for p in loss]
        lr = [(p.step, f32(by_key[(p.member, p.generation)].params["lr"])) for p in curve]
        assert scalars(runs, "params/lr") == lr
        assert scalars(runs, "lineage/member") == [(p.step, p.member) for p in curve]
        assert "params/opt" not in runs.Tags()["scalars"]  # a string is no scalar
        forks = [(e.step, e.member) for e in population.schedule(member)[1:]]
        parents = [
            (s.parent_step, s.parent_member)
            for s in population.storage.ancestry(population.id, member)[1:]
        ]
        if forks:
            assert scalars(runs, "lineage/parent") == parents
            assert [step for step, _ in texts(runs, "lineage")] == [step for step, _ in forks]
        else:
            assert "lineage/parent" not in runs.Tags()["scalars"]
        assert runs.Tensors("_hparams_/session_start_info")


def test_each_member_run_holds_the_stored_curve_stitched_across_exploits(
    trained: tuple[pop.Population, Path],
) -> None:
    population, logdir = trained
    check_runs(population, logdir)
    exploited = {d.member for d in population.decisions() if d.decision.kind == "exploit"}
    member = min(exploited)
    lineage = texts(read(logdir / f"member-{member}"), "lineage")
    assert lineage and "copies member" in lineage[-1][1]  # the reason is in the text


def test_the_export_writes_the_same_runs_as_the_live_tracker(
    trained: tuple[pop.Population, Path], tmp_path: Path
) -> None:
    population, logdir = trained
    folders = population.export(str(tmp_path), "tensorboard")
    assert folders == [tmp_path / "tracked" / f"member-{m}" for m in range(4)]
    check_runs(population, tmp_path / "tracked")
    for member in range(4):
        live, exported = read(logdir / f"member-{member}"), read(folders[member])
        for tag in live.Tags()["scalars"]:
            assert scalars(live, tag) == scalars(exported, tag)


def test_a_run_whose_past_changes_is_rewritten_from_the_first_changed_step(
    tmp_path: Path,
) -> None:
    def timeline(values: list[float]) -> list[Entry]:
        return [Entry(step, 1.0, "score", v) for step, v in enumerate(values, 1)]

    writer = EventRun(tmp_path)
    writer.sync(timeline([1.0, 2.0, 3.0]))
    writer.sync(timeline([1.0, 2.0, 3.0, 4.0]))
    writer.sync(timeline([1.0, 5.0, 6.0]))  # an exploit: the history from step 2 is another's
    writer.close()
    assert scalars(read(tmp_path), "score") == [(1, 1.0), (2, 5.0), (3, 6.0)]


def test_a_logdir_that_is_no_path_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="logdir must be a folder path, got 3"):
        TensorBoard(3)  # type: ignore[arg-type]
