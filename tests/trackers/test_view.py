"""What trackers see: rows read so far, following the storage through rewinds and exploits.

Run with ``.venv/bin/python -m pytest tests/trackers/test_view.py -q``.
"""

from __future__ import annotations

from populace.storage import ResultRecord, SegmentRecord
from populace.trackers import TrackedPopulation


def result(id: int, member: int, generation: int, step: int, score: float) -> ResultRecord:
    return ResultRecord(
        id, member, generation, step, score, True, None, 0.0, None, {"loss": -score}
    )


def segment(member: int, generation: int, start: int, parent: int | None) -> SegmentRecord:
    parent_generation = None if parent is None else 0
    return SegmentRecord(
        member,
        generation,
        start,
        {"lr": 0.1},
        parent,
        parent_generation,
        None if parent is None else start,
        None,
        0.0,
    )


def test_a_rewound_member_s_later_results_are_replaced_by_the_new_ones() -> None:
    view = TrackedPopulation("p", maximize=True)
    view.add([segment(0, 0, 0, None)], [], [result(1, 0, 0, 1, 1.0), result(2, 0, 0, 2, 2.0)])
    view.add([], [], [result(3, 0, 0, 3, 3.0), result(4, 0, 0, 2, 20.0)])  # rewound to step 1
    assert [(p.step, p.value) for p in view.curve(0)] == [(1, 1.0), (2, 20.0)]


def test_a_result_committed_late_with_a_lower_id_takes_its_place_by_step() -> None:
    view = TrackedPopulation("p", maximize=True)
    view.add([segment(0, 0, 0, None)], [], [result(5, 0, 0, 2, 2.0)])
    view.add([], [], [result(4, 0, 0, 1, 1.0)])
    assert [(p.step, p.value) for p in view.curve(0)] == [(1, 1.0), (2, 2.0)]


def test_an_exploited_member_s_curve_and_metrics_are_its_parent_s_up_to_the_exploit() -> None:
    view = TrackedPopulation("p", maximize=True)
    segments = [segment(0, 0, 0, None), segment(1, 0, 0, None), segment(1, 1, 1, 0)]
    results = [result(1, 0, 0, 1, 5.0), result(2, 1, 0, 1, 1.0), result(3, 1, 1, 2, 6.0)]
    view.add(segments, [], results)
    assert [(p.step, p.value, p.member) for p in view.curve(1)] == [(1, 5.0, 0), (2, 6.0, 1)]
    assert [p.value for p in view.curve(1, "loss")] == [-5.0, -6.0]
    assert view.metric_names(1) == ["loss"]
    assert [(s.member, s.generation) for s in view.chain(1)] == [(0, 0), (1, 1)]
