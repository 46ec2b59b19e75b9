"""Directory checkpoints through whole runs: exploits copy folders, resume and collection keep them.

``folder_climb`` keeps its state in a folder (weights as raw bytes beside a JSON twin, and a
subfolder) and reports ``pop.Directory(folder)``; after an exploit it checks that the folder it
restored is its parent's, as saved at the parent's step.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import numpy as np
import pytest

import populace as pop
from populace.checkpoints._manifest import check_intact, is_directory_checkpoint, read_manifest
from populace.runtime._retention import population_keep

from .workloads import SPACE

SETTINGS = dict(population=4, budget=16, interval=4, seed=3, progress=False)
ROOT_VARIABLE = "POPULACE_TEST_FOLDERS"  # where train writes its folders, in every process


def weights(x: float) -> bytes:
    return np.full(256, x, dtype=np.float32).tobytes()


def folder_climb(member: pop.Member) -> None:
    """``climb`` (x walks toward 1) with its state in a folder of files."""
    root = Path(os.environ[ROOT_VARIABLE])
    x, step = 0.0, 0
    if member.checkpoint is not None:
        start = member.checkpoint.load_directory(root / f"restored-{uuid.uuid4().hex}")
        state = json.loads((start / "state.json").read_text())
        assert (start / "weights.bin").read_bytes() == weights(state["x"])
        assert (state["member"], state["step"]) == (member.checkpoint.member, member.step)
        assert (start / "logs" / "note.txt").read_text() == f"member {state['member']}"
        x, step = state["x"], state["step"]
        with open(root / "restores.jsonl", "a") as log:
            log.write(json.dumps({"member": member.id, "from": state["member"]}) + "\n")
    folder = root / f"member-{member.id}"
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    while step < member.budget:
        step += 1
        x += member.params["lr"] * (1.0 - member.params["decay"]) * np.sign(1.0 - x)

        def save(x: float = x, step: int = step) -> pop.Directory:
            (folder / "weights.bin").write_bytes(weights(x))
            (folder / "state.json").write_text(
                json.dumps({"x": x, "step": step, "member": member.id})
            )
            (folder / "logs" / "note.txt").write_text(f"member {member.id}")
            return pop.Directory(folder)

        member.report(step, -abs(1.0 - x), checkpoint=save)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folders = tmp_path / "folders"
    folders.mkdir()
    monkeypatch.setenv(ROOT_VARIABLE, str(folders))  # worker processes inherit it
    return folders


@pytest.fixture
def memory_url() -> Iterator[str]:
    name = f"directory-runs-{uuid.uuid4().hex[:12]}"
    yield f"memory://{name}/checkpoints"
    fsspec.filesystem("memory").rm(f"/{name}", recursive=True)


@pytest.mark.parametrize("where", ["serial", "processes", "serial-on-fsspec"])
def test_exploits_copy_folders_and_collection_keeps_what_is_needed(
    where: str, root: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    on_fsspec = where.endswith("fsspec")  # a memory:// store goes with an in-memory storage
    storage = "memory" if on_fsspec else f"sqlite:///{tmp_path / 'runs.db'}"
    checkpoints = request.getfixturevalue("memory_url") if on_fsspec else None
    result = pop.run(
        folder_climb,
        SPACE,
        storage=storage,
        name="folders",
        checkpoints=checkpoints,
        workers=2 if where == "processes" else 1,
        **SETTINGS,  # type: ignore[arg-type]
    )
    assert [(m.state, m.step) for m in result.members()] == [("finished", 16)] * 4
    restores = [json.loads(line) for line in (root / "restores.jsonl").read_text().splitlines()]
    assert any(r["member"] != r["from"] for r in restores)  # exploits restored parents' folders

    store = result.checkpoints
    record = result.storage.find_population("folders")
    assert record is not None
    keep = population_keep(result.storage, record, result.storage.members(record.id), 3)
    for ref in keep:
        check_intact(store, ref)  # every kept folder has all its files, each intact
    files = {f.ref for ref in keep for f in read_manifest(store, ref).files.values()}
    assert set(store.refs()) == keep | files  # and nothing else is left
    saved = {r.checkpoint for r in result.results() if r.checkpoint is not None}
    assert len(keep) < len(saved)  # the final collection deleted unreachable folders

    again = pop.load(result.storage if on_fsspec else storage, "folders")  # reopened
    best = again.best
    assert best is not None and best.checkpoint is not None and best.checkpoint.is_directory
    restored = best.checkpoint.load_directory(tmp_path / "best")
    state = json.loads((restored / "state.json").read_text())
    assert state["step"] == 16 and state["member"] == best.checkpoint.member
    assert sorted(p.name for p in restored.iterdir()) == ["logs", "state.json", "weights.bin"]


def test_a_damaged_file_sends_the_member_back_to_its_last_intact_folder(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = dict(
        population=2, budget=12, interval=4, storage=f"sqlite:///{tmp_path / 'r.db'}",
        name="damaged", exploit=pop.NoExploit(), explore=pop.NoExplore(),
    )  # fmt: skip
    population = pop.run(folder_climb, SPACE, workers=0, **settings)  # type: ignore[arg-type]
    trial = population.ask("tester")
    assert trial is not None and trial.member == 0
    folder = root / "member-0"
    (folder / "logs").mkdir(parents=True)
    for step in (4, 8):
        x = -float(step)  # not climb's x: the resumed member must restart from step 4's folder
        (folder / "weights.bin").write_bytes(weights(x))
        (folder / "state.json").write_text(json.dumps({"x": x, "step": step, "member": 0}))
        (folder / "logs" / "note.txt").write_text("member 0")
        population.tell(trial, step, x, checkpoint=pop.Directory(folder))
    population.release(0, "tester")
    latest = population.storage.members(population.id)[0].checkpoint
    assert latest is not None and is_directory_checkpoint(population.checkpoints, latest)
    weights_ref = read_manifest(population.checkpoints, latest).files["weights.bin"].ref
    Path(population.checkpoints.location(weights_ref)).write_bytes(b"damaged on disk")

    with caplog.at_level(logging.WARNING, logger="populace"):
        result = pop.run(folder_climb, SPACE, progress=False, **settings)  # type: ignore[arg-type]
    assert "member 0 at step 8 is damaged; the member goes back to its checkpoint" in caplog.text
    assert [(m.state, m.step) for m in result.members()] == [("finished", 12)] * 2
    steps = [r.step for r in result.results() if r.member == 0]
    assert steps == [4, *range(5, 13)]  # 5..8 trained again from step 4's folder
