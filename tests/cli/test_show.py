"""``populace show`` for real: a subprocess reading one member of a SQLite file ``pop.run``
trained, as text and as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import populace as pop
from tests.cli.test_cli import ok, populace
from tests.cli.test_errors import one_line_error
from tests.runtime.workloads import SPACE, climb

FAILS = 1


def _failing_climb(member: pop.Member) -> None:
    """``climb``, but member 1 raises on every try once past step 12."""
    state = member.checkpoint.load() if member.checkpoint is not None else {"x": 0.0, "step": 0}
    x, step = float(state["x"]), int(state["step"])
    while step < member.budget:
        step += 1
        if member.id == FAILS and step > 12:
            raise ValueError(f"member {member.id} cannot pass step 12")
        x += member.params["lr"] * (1.0 - member.params["decay"]) * np.sign(1.0 - x)
        member.report(step, -abs(1.0 - x), checkpoint={"x": x, "step": step}, metrics={"x": x})


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Population ``toy`` (4 members, exploits included, member 1 failed) in a SQLite file."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('show-cli') / 'runs.db'}"
    trained = pop.run(
        _failing_climb, SPACE, population=4, budget=20, interval=5, name="toy",
        storage=storage, progress=False,
    )  # fmt: skip
    assert any(d.decision.kind == "exploit" for d in trained.decisions())
    assert [m.state == "failed" for m in trained.members()] == [i == FAILS for i in range(4)]
    trained.storage.close()
    return storage


def show(url: str, *args: str, cwd: Path) -> dict[str, Any]:
    return json.loads(ok(populace("show", "--storage", url, *args, "--json", cwd=cwd)))


def test_json_is_the_member_as_the_analysis_api_sees_it(url: str, tmp_path: Path) -> None:
    population = pop.load(url, "toy")
    for member in population.members():
        data = show(url, "toy", str(member.id), cwd=tmp_path)
        assert data["population"] == "toy" and data["member"] == member.id
        assert (data["state"], data["step"], data["generation"]) == (
            member.state, member.step, member.generation,
        )  # fmt: skip
        assert data["score"] == member.score and data["params"] == member.params
        assert data["metrics"] == member.metrics and set(member.metrics) == {"x"}
        assert data["subpopulation"] is None and data["evaluator"] is False
        assert data["schedule"] == population.schedule(member.id).to_list()
        assert data["error"] == member.error
        assert [g["generation"] for g in data["lineage"]] == list(range(member.generation + 1))


def test_the_lineage_names_whom_each_generation_copied_and_why(url: str, tmp_path: Path) -> None:
    copied = 0
    for member in pop.load(url, "toy").members():
        first, *later = show(url, "toy", str(member.id), cwd=tmp_path)["lineage"]
        assert first["parent"] is None and first["decision"] is None and first["start_step"] == 0
        for generation in later:
            parent, decision = generation["parent"], generation["decision"]
            assert decision["kind"] == "exploit"
            assert f"copies member {parent['member']} " in decision["reason"]
            assert parent["step"] == generation["start_step"]
            copied += 1
    assert copied, "no member exploited: the test proves nothing"


def test_a_failed_member_shows_its_traceback(url: str, tmp_path: Path) -> None:
    out = ok(populace("show", "--storage", url, "toy", str(FAILS), cwd=tmp_path))
    assert "\x1b[" not in out
    assert f"member {FAILS} of population 'toy' in {url}" == out.splitlines()[0]
    step = pop.load(url, "toy").members()[FAILS].step
    assert f"state: failed at step {step}, generation " in out
    traceback = out.split("\ntraceback:\n")[1]
    assert traceback.startswith("  Traceback (most recent call last):\n")
    assert traceback.endswith(f"\n  ValueError: member {FAILS} cannot pass step 12\n")
    assert f'File "{Path(__file__)}", line ' in traceback


def test_text_lists_schedule_lineage_and_checkpoint(url: str, tmp_path: Path) -> None:
    member = max(pop.load(url, "toy").members(), key=lambda m: m.generation)
    data = show(url, "toy", str(member.id), cwd=tmp_path)
    out = ok(populace("show", "--storage", url, "toy", str(member.id), cwd=tmp_path))
    lines = out.splitlines()
    assert f"state: finished at step 20, generation {member.generation}" in lines
    assert "role:" not in out and "traceback:" not in out
    assert f"metrics: x={member.metrics['x']:.6g}" in lines
    schedule = lines[lines.index("schedule:") + 1 : lines.index("")]
    assert len(schedule) == len(data["schedule"]) and schedule[0].startswith("  from step 0: ")
    table = lines[lines.index("lineage:") + 1 :]
    assert table[0].split() == [
        "generation",
        "from",
        "step",
        "params",
        "started",
        "from",
        "decision",
    ]
    rows = table[1 : 2 + member.generation]
    assert [row.split()[:2] for row in rows] == [
        [str(g["generation"]), str(g["start_step"])] for g in data["lineage"]
    ]
    assert rows[0].split()[-2:] == ["scratch", "-"]
    assert "exploit at step " in rows[-1] and "copies member " in rows[-1]
    checkpoint = data["checkpoint"]
    assert f"checkpoint: {checkpoint['ref']} (step 20)" in lines
    assert f"checkpoint file: {checkpoint['path']}" in lines
    assert Path(checkpoint["path"]).is_file()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["toy", "9"], "population 'toy' has no member 9 (its members are 0 to 3)"),
        (["nope", "0"], "no population named 'nope'"),
    ],
)
def test_an_unknown_member_or_population_is_one_line(
    url: str, tmp_path: Path, args: list[str], said: str
) -> None:
    for json_flag in ([], ["--json"]):
        done = populace("show", "--storage", url, *args, *json_flag, cwd=tmp_path)
        one_line_error(done, said)
        assert done.stdout == ""


def test_a_member_that_is_not_a_number_is_a_usage_error(url: str, tmp_path: Path) -> None:
    done = populace("show", "--storage", url, "toy", "first", cwd=tmp_path)
    assert done.returncode == 2 and "'first' is not a valid integer" in done.stderr


def test_fire_pbt_roles_and_evaluations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fire.db'}"
    fire = pop.run(
        climb, SPACE, population=4, budget=20, interval=5, name="fire", storage=url,
        progress=False, algorithm=pop.FirePBT(evaluators=1),
    )  # fmt: skip
    evaluator = next(m.id for m in fire.members() if m.evaluator)
    fire.storage.close()
    greedy = show(url, "fire", "0", cwd=tmp_path)
    assert (greedy["subpopulation"], greedy["evaluator"]) == (1, False)
    data = show(url, "fire", str(evaluator), cwd=tmp_path)
    assert (data["subpopulation"], data["evaluator"]) == (None, True)
    evaluations = [g for g in data["lineage"] if g["child"] is not None]
    assert evaluations, "the evaluator never evaluated: the test proves nothing"
    for g in evaluations:
        assert g["decision"]["kind"] == "evaluate"
        assert f"with the params of member {g['child']['member']}" in g["decision"]["reason"]
    out = ok(populace("show", "--storage", url, "fire", str(evaluator), cwd=tmp_path))
    assert "role: evaluator (FIRE PBT)" in out.splitlines()
    child = evaluations[0]["child"]["member"]
    assert "checkpoint (generation " in out and f"with member {child}'s params" in out
    text = ok(populace("show", "--storage", url, "fire", "0", cwd=tmp_path))
    assert "role: sub-population P1 (FIRE PBT)" in text.splitlines()
