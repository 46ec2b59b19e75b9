"""A user's mistake is one line on stderr, never a traceback; ``populace --debug`` shows it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _damage import damage_table

import populace as pop
from tests.cli.test_cli import SETTINGS, SPACE, populace

TRAIN = "def train(member):\n    member.report(member.budget, 1.0)\n"
BROKEN_TARGETS = {
    "syntax.py": ("def train(member):\n    return (\n", "SyntaxError: '(' was never closed"),
    "bad_import.py": (
        "from os import no_such_name\n\ndef train(member):\n    pass\n",
        "ImportError: cannot import name 'no_such_name' from 'os'",
    ),
    "missing_package.py": (
        "import json\nimport no_such_package_xyz\n",
        "ModuleNotFoundError: No module named 'no_such_package_xyz'",
    ),
}


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        member.report(step, float(step), checkpoint={"step": step})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working directory with a stored population ``toy`` in runs.db and broken targets."""
    (tmp_path / "toy.py").write_text(TRAIN)
    for name, (text, _) in BROKEN_TARGETS.items():
        (tmp_path / name).write_text(text)
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    result = pop.run(
        _train, space, population=2, budget=4, interval=2, name="toy",
        storage=f"sqlite:///{tmp_path / 'runs.db'}", progress=False,
    )  # fmt: skip
    result.storage.close()
    return tmp_path


def one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Assert the command failed with one ``error:`` line, its last, holding every fragment
    (a log line such as "resuming population" may come before it)."""
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines and lines[-1].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("error:") == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[-1], done.stderr


def _target_commands(target: str) -> list[list[str]]:
    run = ["run", target, *SETTINGS, "--space", json.dumps(SPACE), "--storage", "sqlite:///n.db"]
    return [
        run,
        ["resume", "--storage", "sqlite:///runs.db", "toy", target],
        ["worker", "--storage", "sqlite:///runs.db", "toy", target],
    ]


@pytest.mark.parametrize("file", list(BROKEN_TARGETS))
def test_a_target_that_fails_to_import_is_one_line(folder: Path, file: str) -> None:
    said = BROKEN_TARGETS[file][1]
    for target in (f"{file}:train", f"{file.removesuffix('.py')}:train"):
        for command in _target_commands(target):
            one_line_error(populace(*command, cwd=folder), f"cannot import {target[:-6]}", said)
    assert not (folder / "n.db").exists()


def test_the_line_names_where_the_error_was_raised(folder: Path) -> None:
    done = populace(*_target_commands("missing_package.py:train")[0], cwd=folder)
    one_line_error(done, f"({folder / 'missing_package.py'}, line 2)")
    done = populace(*_target_commands("syntax.py:train")[0], cwd=folder)
    one_line_error(done, "(syntax.py, line 2)")


@pytest.mark.parametrize("file", list(BROKEN_TARGETS))
def test_debug_shows_the_traceback_of_a_target(folder: Path, file: str) -> None:
    done = populace("--debug", *_target_commands(f"{file}:train")[1], cwd=folder)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert f'File "{folder / file}"' in done.stderr or f'File "{file}"' in done.stderr
    assert "TargetError: cannot import" in done.stderr


def test_a_damaged_database_says_how_to_recover_it(folder: Path) -> None:
    database = folder / "runs.db"
    damage_table(database, "populace_results")
    url = f"sqlite:///{database}"
    recover = f'sqlite3 {database} ".recover" | sqlite3 recovered.db'
    for command in (
        ["status", "--storage", url, "toy"],
        ["show", "--storage", url, "toy", "0"],
        ["best", "--storage", url, "toy"],
    ):
        one_line_error(
            populace(*command, cwd=folder), f"the database {database} is damaged", recover
        )
    done = populace("resume", "--storage", url, "toy", "toy.py:train", cwd=folder)
    one_line_error(done, f"the database {database} is damaged", recover)
    debug = populace("--debug", "status", "--storage", url, "toy", cwd=folder)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert "database disk image is malformed" in debug.stderr


def test_a_write_to_a_read_only_database_is_one_line(folder: Path) -> None:
    # SQLite's read-only mode refuses writes even to root, who may write a read-only file.
    database = folder / "runs.db"
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    untrained = pop.run(
        _train, space, population=2, budget=4, interval=2, name="untrained",
        storage=f"sqlite:///{database}", workers=0, progress=False,
    )  # fmt: skip
    untrained.storage.close()
    url = f"sqlite:///file:{database}?mode=ro&uri=true"
    done = populace("resume", "--storage", url, "untrained", "toy.py:train", cwd=folder)
    one_line_error(done, f"the database {database} is read-only")


def test_export_and_plot_into_an_impossible_folder_are_one_line(folder: Path) -> None:
    (folder / "a-file").write_text("not a folder")
    out = folder / "a-file" / "out"
    url = f"sqlite:///{folder / 'runs.db'}"
    for command in (["export", "--format", "json"], ["export"], ["plot"]):
        done = populace(
            command[0], "--storage", url, "toy", *command[1:], "--out", str(out), cwd=folder
        )
        one_line_error(done, f"cannot write into the folder {out}: Not a directory")


def test_debug_is_documented(folder: Path) -> None:
    done = populace("--help", cwd=folder)
    assert "--debug" in done.stdout and "traceback" in done.stdout
