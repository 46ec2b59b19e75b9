"""Progress where stderr is a log (SLURM, nohup, CI): a line a minute, then the final state; a
run shorter than a minute prints nothing unless asked. In a terminal, a live bar."""

from __future__ import annotations

import re
import sys
import time

import pytest

import populace as pop
from populace.runtime import _progress

from .workloads import SPACE


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        time.sleep(0.01)
        member.report(step, float(step), checkpoint={"step": step})


SETTINGS = dict(population=2, budget=20, interval=5, storage="memory", name="logged")
LINE = re.compile(
    r"^PBT logged \(2 members\): (\d+)/40 steps \((\d+)%\) · (best [\d.]+ · )?\d/2 done · "
    r"\d+ changes · 0:00:\d\d elapsed( · ~0:\d\d:\d\d left)?$"
)


def test_a_log_gets_a_line_every_period_and_the_final_state(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress._LogLines, "every", 0.1)
    pop.run(_train, SPACE, **SETTINGS)  # type: ignore[arg-type]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3, lines
    for line in lines:
        assert LINE.match(line), line
    steps = [int(LINE.match(line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert steps == sorted(steps) and steps[-1] == 40
    assert lines[-1].endswith("elapsed")  # done: no time left to estimate
    assert "(100%) · best 20 · 2/2 done" in lines[-1]


def test_a_short_run_prints_no_progress_to_a_log(capsys: pytest.CaptureFixture[str]) -> None:
    pop.run(_train, SPACE, **SETTINGS)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""


def test_progress_true_prints_the_final_state_of_a_short_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pop.run(_train, SPACE, progress=True, **SETTINGS)  # type: ignore[arg-type]
    (line,) = capsys.readouterr().err.splitlines()
    assert LINE.match(line) and "40/40 steps (100%)" in line


def test_a_terminal_gets_a_live_bar(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    pop.run(_train, SPACE, **SETTINGS)  # type: ignore[arg-type]
    shown = capsys.readouterr().err
    assert "PBT logged (2 members)" in shown and "40/40 steps" in shown
    assert "best 20 · 2/2 done" in shown and not LINE.search(shown)
