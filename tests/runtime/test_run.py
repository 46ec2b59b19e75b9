"""pop.run end to end: completion, resume, determinism, schedules, exports and bad input."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _subprocess import run, started

import populace as pop
from populace.storage import SQLStorage

from .workloads import SPACE, climb, decision_log


def _run(tmp_path: Path, train=climb, name: str = "climb", **kwargs) -> pop.Population:
    settings = dict(
        population=4,
        budget=24,
        interval=4,
        seed=3,
        progress=False,
        storage=f"sqlite:///{tmp_path / 'runs.db'}",
        name=name,
    )
    settings.update(kwargs)
    return pop.run(train, SPACE, **settings)


def test_member_is_ready_names_the_steps_report_takes_as_ready_points(tmp_path: Path) -> None:
    said: set[tuple[int, int, int]] = set()

    def train(member: pop.Member) -> None:
        step = 0 if member.checkpoint is None else int(member.checkpoint.load()["step"])
        while step < member.budget:
            step += 1
            if member.is_ready(step):
                said.add((member.id, member.generation, step))
            member.report(step, -abs(step * member.params["lr"] - 1), checkpoint={"step": step})

    result = _run(tmp_path, train, name="ready", budget=10)  # 10: the budget is ready too
    stored = {(r.member, r.generation, r.step) for r in result.results() if r.ready}
    assert said == stored
    assert any(d.decision.kind == "exploit" for d in result.decisions())  # counted afresh
    assert {step for _, _, step in said} == {4, 8, 10}


def test_every_member_trains_to_its_budget_once_per_step(tmp_path: Path) -> None:
    result = _run(tmp_path)
    members = result.members()
    assert [m.state for m in members] == ["finished"] * 4
    assert all(m.step == 24 for m in members)
    by_key = {}
    for r in result.results():
        key = (r.member, r.generation, r.step)
        assert key not in by_key, f"{key} recorded twice"
        by_key[key] = r
    for m in members:
        # Following the lineage, the member's model saw every step from 1 to 24 exactly once.
        steps = sorted({r.step for r in result.results() if r.member == m.id})
        assert steps[-1] == 24
    kinds = {d.decision.kind for d in result.decisions()}
    assert "exploit" in kinds and "stop" in kinds
    assert sum(d.decision.kind == "stop" for d in result.decisions()) == 4


def test_best_member_has_a_stitched_schedule(tmp_path: Path) -> None:
    result = _run(tmp_path)
    best = result.best
    assert best is not None
    assert best.score == max(m.score for m in result.members())
    schedule = best.schedule
    assert schedule[0].step == 0 and schedule[0].generation == 0
    assert [e.step for e in schedule] == sorted(e.step for e in schedule)
    assert dict(schedule[-1].params) == dict(best.params)
    lineage = {(s.member, s.generation): s for s in result.lineage()}
    for earlier, later in itertools.pairwise(schedule):
        segment = lineage[(later.member, later.generation)]
        assert (segment.parent_member, segment.parent_generation) == (
            earlier.member,
            earlier.generation,
        )
    assert best.checkpoint is not None and best.checkpoint.load()["step"] == 24
    assert "from step" in repr(schedule)


def test_params_stay_in_the_space(tmp_path: Path) -> None:
    result = _run(tmp_path, population=6, budget=40)
    for segment in result.lineage():
        assert SPACE.validate(segment.params) == dict(segment.params)


def test_exploit_copies_a_reference_not_bytes(tmp_path: Path) -> None:
    result = _run(tmp_path, keep_best=1000)
    ready = [r for r in result.results() if r.ready]
    blobs = list((Path(result.checkpoints.uri) / "objects").rglob("*"))
    files = [b for b in blobs if b.is_file()]
    assert len(files) == len({r.checkpoint for r in ready})
    for d in result.decisions():
        if d.decision.kind == "exploit":
            assert d.decision.parent_checkpoint in {r.checkpoint for r in ready}


def test_checkpoint_is_built_only_at_ready_points(tmp_path: Path) -> None:
    built: list[int] = []

    def train(member: pop.Member) -> None:
        step = member.checkpoint.load()["step"] if member.checkpoint else 0
        while step < member.budget:
            step += 1
            # report calls the lambda at once (at ready points only), so late binding is right
            member.report(
                step,
                float(step),
                checkpoint=lambda: built.append(step) or {"step": step},  # noqa: B023
            )

    _run(tmp_path, train=train, name="lazy", population=2, budget=12, interval=4)
    assert built and all(s % 4 == 0 for s in built)


def test_rerun_resumes_and_refuses_other_settings(tmp_path: Path) -> None:
    first = _run(tmp_path)
    again = _run(tmp_path)
    assert decision_log(again) == decision_log(first)
    with pytest.raises(pop.ConfigurationError, match="lr"):
        pop.run(
            climb,
            pop.SearchSpace(lr=pop.LogUniform(1e-2, 0.5), decay=pop.Uniform(0.0, 0.2)),
            population=4,
            budget=24,
            interval=4,
            seed=3,
            progress=False,
            storage=f"sqlite:///{tmp_path / 'runs.db'}",
            name="climb",
        )
    with pytest.raises(pop.ConfigurationError, match="budget"):
        _run(tmp_path, budget=30)
    assert decision_log(pop.load(f"sqlite:///{tmp_path / 'runs.db'}", "climb")) == decision_log(
        first
    )


class _Crash(Exception):
    pass


def _crash_at(call: int, error: BaseException):
    """A climb() that raises ``error`` at the ``call``-th report of the whole run."""
    calls = {"n": 0}

    def crashing(member: pop.Member) -> None:
        original = member.report

        def report(step, score, checkpoint=None):
            calls["n"] += 1
            if calls["n"] == call:
                raise error
            original(step, score, checkpoint)

        member.report = report  # type: ignore[method-assign]
        climb(member)

    return crashing


def _ready_results(population: pop.Population) -> list[tuple]:
    return [(r.member, r.generation, r.step, r.score) for r in population.results() if r.ready]


def test_interrupted_run_resumes_to_the_same_decisions(tmp_path: Path) -> None:
    reference = _run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", train=_crash_at(57, KeyboardInterrupt()))
    partial = pop.load(f"sqlite:///{tmp_path / 'b' / 'runs.db'}", "climb")
    assert not all(m.state == "finished" for m in partial.members())
    assert all(m.lease_owner is None for m in partial.storage.members(partial.id))
    resumed = _run(tmp_path / "b")
    assert decision_log(resumed) == decision_log(reference)
    assert _ready_results(resumed) == _ready_results(reference)


def test_a_crashing_trial_is_retried_from_the_last_checkpoint(tmp_path: Path) -> None:
    reference = _run(tmp_path / "a")
    retried = _run(tmp_path / "b", train=_crash_at(57, _Crash("flaky")))
    assert decision_log(retried) == decision_log(reference)
    assert _ready_results(retried) == _ready_results(reference)
    assert [m.failures for m in retried.storage.members(retried.id)].count(1) == 1


def test_a_member_that_always_fails_is_marked_failed_and_the_rest_go_on(tmp_path: Path) -> None:
    def fragile(member: pop.Member) -> None:
        if member.id == 2:
            raise _Crash("diverged")
        climb(member)

    result = _run(tmp_path, train=fragile, name="fragile")
    states = {m.id: m.state for m in result.members()}
    assert states == {0: "finished", 1: "finished", 2: "failed", 3: "finished"}
    failed = result.storage.members(result.id)[2]
    assert failed.failures == 3 and "diverged" in failed.error and "Traceback" in failed.error


def test_same_seed_gives_the_same_decisions_in_two_interpreters(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        import populace as pop
        from tests.runtime.workloads import SPACE, climb, decision_log
        result = pop.run(climb, SPACE, population=5, budget=24, interval=4, seed=11,
                         storage="memory", progress=False)
        print(json.dumps(decision_log(result)))
    """)
    logs = [run([sys.executable, "-c", script], timeout=120, check=True).stdout for _ in range(2)]
    assert logs[0] == logs[1]
    assert any(entry[3] == "exploit" for entry in json.loads(logs[0]))


def test_synchronous_mode_decides_on_complete_generations(tmp_path: Path) -> None:
    result = _run(tmp_path, synchronous=True)
    for d in result.decisions():
        if d.decision.kind in ("exploit", "continue", "explore"):
            compared_members = {member for member, _step, _score in d.compared}
            assert compared_members == {0, 1, 2, 3}
            assert {step for _m, step, _s in d.compared} == {d.step}


def test_except_exception_cannot_swallow_an_exploit(tmp_path: Path) -> None:
    def stubborn(member: pop.Member) -> None:
        try:
            climb(member)
        except Exception:  # a training loop that catches everything
            raise AssertionError("the exploit unwinding was swallowed") from None

    result = _run(tmp_path, train=stubborn)
    assert any(d.decision.kind == "exploit" for d in result.decisions())


def test_exports(tmp_path: Path) -> None:
    result = _run(tmp_path)
    frame = result.to_pandas("results")
    assert len(frame) == len(result.results()) and {"member", "step", "score"} <= set(frame)
    assert len(result.to_pandas("decisions")) == len(result.decisions())
    paths = result.export(tmp_path / "csv")
    assert sorted(p.name for p in paths) == sorted(
        f"climb-{t}.csv" for t in ("members", "results", "decisions", "lineage")
    )
    [path] = result.export(tmp_path / "json", format="json")
    data = json.loads(path.read_text())
    assert len(data["results"]) == len(result.results())


def test_garbage_collection_keeps_what_is_reachable(tmp_path: Path) -> None:
    result = _run(tmp_path, keep_best=2)
    stored = {
        p.parent.name + p.name
        for p in (Path(result.checkpoints.uri) / "objects").rglob("*")
        if p.is_file()
    }
    refs = {m.checkpoint.ref.removeprefix("sha256:") for m in result.members() if m.checkpoint}
    assert refs <= stored
    ready = {r.checkpoint for r in result.results() if r.ready}
    assert len(stored) < len(ready)
    assert result.best.checkpoint.load()["step"] == 24


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget": 0}, "budget"),
        ({"interval": -1}, "interval"),
        ({"population": 0}, "population"),
        ({"direction": "up"}, "direction"),
        ({"workers": -1}, "workers"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_stored(tmp_path: Path, kwargs, match) -> None:
    with pytest.raises(pop.ConfigurationError, match=match):
        _run(tmp_path, **kwargs)
    assert not (tmp_path / "runs.db").exists()


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf, "0.5", None, True])
def test_bad_scores_are_refused(tmp_path: Path, score) -> None:
    def train(member: pop.Member) -> None:
        member.report(1, score)

    with pytest.raises(pop.ReportError, match="score must be a finite number"):
        _run(tmp_path, train=train, name="bad-score")
    assert pop.load(f"sqlite:///{tmp_path / 'runs.db'}", "bad-score").results() == []


def test_workers_0_creates_the_population_without_training_it(tmp_path: Path) -> None:
    created = _run(tmp_path, workers=0)
    assert created.results() == []
    assert len(created.storage.members(created.id)) == created.size
    trained = _run(tmp_path)  # the same settings: the population is resumed and trained
    assert trained.best is not None


def test_steps_going_backwards_are_refused(tmp_path: Path) -> None:
    def train(member: pop.Member) -> None:
        member.report(3, 0.1)
        member.report(2, 0.2)

    with pytest.raises(pop.ReportError, match="step 2 of member 0 does not come after"):
        _run(tmp_path, train=train, name="backwards")
    stored = pop.load(f"sqlite:///{tmp_path / 'runs.db'}", "backwards").results()
    assert [(r.step, r.score) for r in stored] == [(3, 0.1)]


def test_unsafe_checkpoint_is_refused_before_storing(tmp_path: Path) -> None:
    class Model:
        pass

    def train(member: pop.Member) -> None:
        member.report(4, 0.5, checkpoint={"model": Model()})

    with pytest.raises(pop.CheckpointError, match="Model"):
        _run(tmp_path, train=train, name="unsafe")
    assert pop.load(f"sqlite:///{tmp_path / 'runs.db'}", "unsafe").results() == []


def test_train_returning_early_is_an_error(tmp_path: Path) -> None:
    def lazy(member: pop.Member) -> None:
        member.report(1, 0.0)

    with pytest.raises(pop.ReportError, match="returned before member 0 reached its budget"):
        _run(tmp_path, train=lazy, name="lazy")


def test_unknown_population_name(tmp_path: Path) -> None:
    _run(tmp_path)
    with pytest.raises(pop.StorageError, match=r"no population named 'nope'.*climb"):
        pop.load(f"sqlite:///{tmp_path / 'runs.db'}", "nope")


def test_corrupted_checkpoint_names_member_and_step(tmp_path: Path) -> None:
    result = _run(tmp_path, budget=8)
    best = result.best
    path = (
        Path(result.checkpoints.uri)
        / "objects"
        / best.checkpoint.ref[7:9]
        / best.checkpoint.ref[9:]
    )
    path.write_bytes(b"garbage")
    with pytest.raises(pop.CheckpointError, match=f"member {best.id} at step 8"):
        best.checkpoint.load()


class _CreatedMeanwhile(SQLStorage):
    """A real storage where another process creates the population between the look-up and the
    create: the first look-up misses it."""

    looked = False

    def find_population(self, name: str):  # type: ignore[no-untyped-def]
        if not self.looked:
            self.looked = True
            return None
        return super().find_population(name)


def test_a_population_created_meanwhile_is_joined_or_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    _run(tmp_path, workers=0)
    joined = _run(tmp_path, storage=_CreatedMeanwhile(url), workers=0)
    assert joined.name == "climb"
    with pytest.raises(pop.ConfigurationError, match="created with other settings"):
        _run(tmp_path, storage=_CreatedMeanwhile(url), workers=0, population=5)


CREATE = """
import sys
import populace as pop

def train(member):
    pass

high = float(sys.argv[2])
pop.run(train, pop.SearchSpace(lr=pop.Uniform(0.0, high)), population=4, budget=8, interval=4,
        storage=sys.argv[1], name="shared", workers=0)
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hosts_creating_one_population_at_once_all_join_it(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'runs.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    highs = ["1.0", "1.0", "1.0", "1.0", "2.0"]  # the last one asks for another space
    with contextlib.ExitStack() as stack:
        processes = [
            stack.enter_context(
                # in tmp_path: on PostgreSQL the checkpoints default to the working directory
                started(
                    [sys.executable, "-c", CREATE, url, high], cwd=tmp_path, stderr=subprocess.PIPE
                )
            )
            for high in highs
        ]
        errors = [p.communicate(timeout=120)[1] for p in processes]
        codes = [p.returncode for p in processes]
    assert 0 in codes, errors
    stored = pop.load(url, "shared")
    winner_high = stored.space.to_dict()["lr"]["high"]
    for high, code, error in zip(highs, codes, errors, strict=True):
        if float(high) == winner_high:
            assert code == 0, error
        else:
            assert code == 1 and "created with other settings" in error
    assert len(stored.storage.members(stored.id)) == 4


@pytest.mark.parametrize("workers", [1, 2])
def test_the_progress_bar_shows_what_every_worker_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    result = _run(tmp_path, progress=True, workers=workers)
    shown = capsys.readouterr().err
    assert "PBT climb (4 members)" in shown
    assert "96/96 steps" in shown and "4/4 done" in shown  # the last refresh, after the run
    assert f"best {result.best.score:.5g}" in shown
