"""``populace run`` and ``resume`` exit with status 3 when members failed, naming each one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import populace as pop
from populace.cli._failures import MEMBERS_FAILED, error_line
from tests.cli.test_cli import SPACE, ok, populace

# Member 1 raises on every try once it passes step 2; in ``train_all`` every member raises
# before its first report.
FAILING = """
def train(member, fails=lambda member: member.id == 1, last=2):
    x = member.checkpoint.load()["x"] if member.checkpoint is not None else 0.0
    for step in range(member.step + 1, member.budget + 1):
        if step > last and fails(member):
            raise ValueError(f"member {member.id} cannot pass step {last}")
        x += member.params["lr"] * (1.0 - x)
        member.report(step, -abs(1.0 - x), checkpoint={"x": x})

def train_all(member):
    train(member, fails=lambda member: True, last=0)
"""
SETTINGS = ["--population", "3", "--budget", "6", "--interval", "3", "--space", json.dumps(SPACE)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "failing.py").write_text(FAILING)
    return tmp_path


def _run(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    url = f"sqlite:///{folder / 'runs.db'}"
    return populace(
        "run", "failing:train", "--name", "toy", "--storage", url, *SETTINGS, *extra, cwd=folder
    )


def _failure_report(done: subprocess.CompletedProcess[str], folder: Path) -> list[str]:
    """The lines of the failure report that ends stderr (log lines may come before it)."""
    assert done.returncode == MEMBERS_FAILED == 3, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("error: "))
    assert "Traceback" not in "\n".join(lines[start:]), done.stderr
    return lines[start:]


def test_a_run_whose_member_failed_exits_3_and_names_it(folder: Path) -> None:
    done = _run(folder, "--quiet")
    assert _failure_report(done, folder) == [
        "error: 1 of 3 members of population 'toy' failed; the others trained on:",
        "  member 1, after step 2: ValueError: member 1 cannot pass step 2",
        f"see the traceback with: populace show --storage sqlite:///{folder / 'runs.db'} toy 1",
    ]
    assert "best member: " in done.stdout  # the others' best is still printed
    states = [m.state for m in pop.load(f"sqlite:///{folder / 'runs.db'}", "toy").members()]
    assert states == ["finished", "failed", "finished"]


def test_with_log_lines_the_report_still_ends_stderr(folder: Path) -> None:
    done = _run(folder)
    report = _failure_report(done, folder)
    assert report[1] == "  member 1, after step 2: ValueError: member 1 cannot pass step 2"
    assert "marked failed" in done.stderr  # the log line of the failed trial came before


def test_resume_of_a_population_with_failed_members_exits_3(folder: Path) -> None:
    _run(folder, "--quiet")
    url = f"sqlite:///{folder / 'runs.db'}"
    done = populace("resume", "--storage", url, "toy", "failing:train", "--quiet", cwd=folder)
    assert _failure_report(done, folder)[1].startswith("  member 1, after step 2: ")
    assert "best member: " in done.stdout


def test_when_every_member_failed_only_the_failures_are_reported(folder: Path) -> None:
    url = f"sqlite:///{folder / 'runs.db'}"
    done = populace("run", "failing:train_all", "--storage", url, *SETTINGS, "--quiet", cwd=folder)
    report = _failure_report(done, folder)
    assert report[0] == "error: 3 of 3 members of population 'train_all' failed:"
    assert report[1:4] == [
        f"  member {i}, after step 0: ValueError: member {i} cannot pass step 0" for i in range(3)
    ]
    assert report[4].endswith(" train_all MEMBER")
    assert done.stdout == ""


def test_a_run_without_failures_exits_0(folder: Path) -> None:
    (folder / "fine.py").write_text(FAILING.replace("member.id == 1", "False"))
    assert "False" in (folder / "fine.py").read_text()
    url = f"sqlite:///{folder / 'runs.db'}"
    done = populace("run", "fine:train", "--storage", url, *SETTINGS, "--quiet", cwd=folder)
    assert "best member: " in ok(done) and done.stderr == ""


def test_the_exit_status_is_documented(folder: Path) -> None:
    for command in ("run", "resume"):
        help_text = " ".join(ok(populace(command, "--help", cwd=folder)).split())
        assert "exit status is 3" in help_text, command


@pytest.mark.parametrize(
    ("traceback", "line"),
    [
        (
            'Traceback (most recent call last):\n  File "t.py", line 1, in train\n'
            "    raise ValueError('x')\nValueError: x\n",
            "ValueError: x",
        ),
        (
            'Traceback (most recent call last):\n  File "t.py", line 1, in <module>\n'
            "    f()\n    ~^^\nRuntimeError: first line\nsecond line\n    indented third\n",
            "RuntimeError: first line",
        ),
        (
            'Traceback (most recent call last):\n  File "a.py", line 2, in f\n    g()\n'
            "KeyError: 'k'\n\nDuring handling of the above exception, another exception "
            'occurred:\n\nTraceback (most recent call last):\n  File "a.py", line 4, in f\n'
            "    raise RuntimeError('wrapped')\nRuntimeError: wrapped\n",
            "RuntimeError: wrapped",
        ),
        ("SystemExit: 3", "SystemExit: 3"),
        ("", "(no traceback stored)"),
    ],
)
def test_error_line_is_the_exception_a_traceback_ends_with(traceback: str, line: str) -> None:
    assert error_line(traceback) == line
