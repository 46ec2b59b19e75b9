"""``populace best --out DIR`` writes the best member's directory checkpoint out as a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import populace as pop
from tests.cli.test_cli import ok, populace

SPACE = pop.SearchSpace(lr=pop.Uniform(0.01, 0.1))
SETTINGS = dict(population=3, budget=8, interval=4, seed=1, progress=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding ``folders``, whose members report folders, and ``objects``."""
    root = tmp_path_factory.mktemp("best")
    storage = f"sqlite:///{root / 'runs.db'}"

    def folders(member: pop.Member) -> None:
        folder = root / f"member-{member.id}-{member.generation}"
        (folder / "tokenizer").mkdir(parents=True, exist_ok=True)
        for step in range(member.step + 1, member.budget + 1):
            (folder / "model.bin").write_bytes(f"{member.id} {step}".encode())
            (folder / "tokenizer" / "vocab.txt").write_text("a\nb\n")
            member.report(step, member.params["lr"] * step, checkpoint=pop.Directory(folder))

    def objects(member: pop.Member) -> None:
        for step in range(member.step + 1, member.budget + 1):
            member.report(step, float(step), checkpoint={"step": step})

    pop.run(folders, SPACE, storage=storage, **SETTINGS)  # type: ignore[arg-type]
    pop.run(objects, SPACE, storage=storage, **SETTINGS)  # type: ignore[arg-type]
    return storage


def test_out_writes_the_best_folder(trained: str, tmp_path: Path) -> None:
    out = tmp_path / "best"
    text = ok(populace("best", "--storage", trained, "folders", "--out", str(out), cwd=tmp_path))
    assert f"checkpoint folder: {out} (written)" in text
    best = pop.load(trained, "folders").best
    assert best is not None and best.checkpoint is not None
    assert (out / "model.bin").read_text() == f"{best.checkpoint.member} 8"
    assert (out / "tokenizer" / "vocab.txt").read_text() == "a\nb\n"


def test_out_with_json_names_the_folder(trained: str, tmp_path: Path) -> None:
    out = tmp_path / "best"
    command = ["best", "--storage", trained, "folders", "--out", str(out), "--json"]
    data = json.loads(ok(populace(*command, cwd=tmp_path)))
    assert data["checkpoint"]["folder"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["model.bin", "tokenizer"]


def test_out_never_overwrites_a_folder(trained: str, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("mine")
    done = populace("best", "--storage", trained, "folders", "--out", "busy", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot restore checkpoint sha256:")
    assert "busy: it is a folder that is not empty; pass a new or empty folder" in done.stderr
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["mine.txt"]


def test_out_of_an_object_checkpoint_says_how_to_load_it(trained: str, tmp_path: Path) -> None:
    done = populace("best", "--storage", trained, "objects", "--out", "best", cwd=tmp_path)
    assert done.returncode == 1
    assert "is an object, not a folder (pop.Directory)" in done.stderr
    assert "best.checkpoint.load()" in done.stderr
    assert not (tmp_path / "best").exists()
