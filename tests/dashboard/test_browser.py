"""The dashboard in a real headless Chromium: over a run in progress, and over a finished
population it must leave byte for byte as it was. Each view is saved to build/screenshots/."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _subprocess import started

import populace as pop
from populace.storage import get_storage
from tests.dashboard._browser import OpenModes, dashboard, screenshot, wait_for

TRAIN = '''
import math, os, time

def train(member):
    """Walk x toward 1 at the member's rate, scored with a wobble that depends on its momentum
    (a step takes $STEP_SECONDS); member 1 raises after step 3 on every try, so it fails."""
    x = member.checkpoint.load()["x"] if member.checkpoint is not None else 0.0
    for step in range(member.step + 1, member.budget + 1):
        time.sleep(float(os.environ.get("STEP_SECONDS", "0")))
        if member.id == 1 and step > 3:
            raise ValueError(f"member 1 diverged at step {step}")
        x += member.params["lr"] * (1.0 - x)
        wobble = 0.05 * math.sin(step * (0.5 + member.params["momentum"]))
        member.report(
            step, -abs(1.0 - x) + wobble, checkpoint={"x": x}, metrics={"distance": abs(1 - x)}
        )
'''
SPACE = {
    "lr": {"type": "LogUniform", "low": 1e-3, "high": 0.5},
    "momentum": {"type": "Uniform", "low": 0.0, "high": 1.0},
}


def _run_command(url: str, budget: int, workers: int) -> list[str]:
    return [
        *(sys.executable, "-m", "populace.cli", "run", "toy_train:train", "--name", "toy"),
        *("--population", "4", "--budget", str(budget), "--interval", "5", "--seed", "2"),
        *("--workers", str(workers), "--space", json.dumps(SPACE), "--storage", url, "--quiet"),
    ]


def _fingerprint(folder: Path, shared_memory: bool = True) -> dict[str, str]:
    """Every file in ``folder`` and a hash of its bytes; without ``shared_memory``, not the
    ``-shm`` file, SQLite's index of its WAL that readers of a WAL database write into."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and (shared_memory or not p.name.endswith("-shm"))
    }


def _stored(url: str) -> pop.Population:
    """The population, read the way the dashboard reads it: without changing a byte."""
    return pop.load(get_storage(url, read_only=True), "toy")


def _has_results(url: str) -> bool:
    """Whether the run has stored a result yet (its database may not exist yet)."""
    try:
        return bool(_stored(url).results())
    except pop.PopulaceError:
        return False


def _points(page: Any) -> int:
    return int(page.get_attribute("#curves", "data-points") or 0)


def _results(page: Any) -> int:
    text = page.text_content("#result-count")
    return int(text) if text and text.isdigit() else 0


def _tab(page: Any, name: str, ready: str) -> None:
    page.click(f"#tabs a[data-tab={name}]")
    page.wait_for_selector(ready, timeout=15_000)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished population (member 1 failed) in its own folder, and its storage URL."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "toy_train.py").write_text(TRAIN)
    url = f"sqlite:///{folder / 'db' / 'runs.db'}"
    done = subprocess.run(
        _run_command(url, budget=30, workers=1), cwd=folder, capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr  # member 1 failed, the others finished
    return folder, url


def test_every_view_of_a_finished_population_leaves_its_database_untouched(
    finished: tuple[Path, str], page: Any
) -> None:
    folder, url = finished
    before = _fingerprint(folder / "db")
    with dashboard(url, cwd=folder) as (address, process):
        page.goto(address)
        page.wait_for_selector("#populations tbody tr[data-name=toy]")
        assert "toy" in page.text_content("#populations")
        screenshot(page, "populations")
        page.click("#populations tbody tr[data-name=toy] a")
        page.wait_for_selector("body[data-rendered]")
        page.wait_for_selector("#members tbody tr")
        page.wait_for_selector("#schedule .main-svg")
        assert page.text_content("#result-count") == str(len(_stored(url).results()))
        screenshot(page, "scores")

        page.click("#members tbody tr[data-member='2']")
        page.wait_for_function("document.getElementById('schedule').dataset.member === '2'")
        assert page.text_content("#schedule-member") == "2"
        # A click on member 3's curve, as plotly reports it.
        page.evaluate(
            """() => { const div = document.getElementById('curves');
               const k = div.data.findIndex((t) => /^member 3\\b/.test(t.name));
               div.emit('plotly_click', {points: [{curveNumber: k, data: div.data[k]}]}); }"""
        )
        page.wait_for_function("document.getElementById('schedule').dataset.member === '3'")

        page.select_option("#metric", "distance")
        page.wait_for_function(
            "document.getElementById('curves').layout.yaxis.title.text === 'distance'"
        )

        _tab(page, "failures", ".failure[data-member='1'] .traceback")
        traceback = page.text_content(".failure[data-member='1'] .traceback")
        assert "Traceback (most recent call last)" in traceback
        assert "ValueError: member 1 diverged at step 4" in traceback
        screenshot(page, "failures")

        _tab(page, "lineage", "#lineage .main-svg")
        screenshot(page, "lineage")
        _tab(page, "params", "#params .main-svg")
        screenshot(page, "params")
        _tab(page, "decisions", "#decisions tbody tr[data-id]")
        exploit = page.locator("#decisions tbody tr[data-id]", has_text="exploit").first
        exploit.click()
        page.wait_for_selector("#decisions tr.detail .compared tbody tr")
        assert "copied" in page.text_content("#decisions tr.detail")
        screenshot(page, "decisions")
        _tab(page, "workers", "#workers tbody tr")
        screenshot(page, "workers")
        assert process.poll() is None
    assert _fingerprint(folder / "db") == before


@pytest.mark.slow
def test_the_page_follows_a_run_in_progress_and_opens_the_storage_read_only(
    tmp_path: Path, page: Any
) -> None:
    (tmp_path / "toy_train.py").write_text(TRAIN)
    database = tmp_path / "runs.db"
    url = f"sqlite:///{database}"
    slow = {**os.environ, "STEP_SECONDS": "0.1"}
    pipe = subprocess.PIPE
    with started(
        _run_command(url, budget=80, workers=2), cwd=tmp_path, env=slow, stdout=pipe, stderr=pipe
    ) as run:
        wait_for(lambda: _has_results(url), 60, "the run's first results")
        with dashboard(url, "toy", cwd=tmp_path) as (address, server):
            # SQLite opens a WAL read-write even for a read-only connection (never writing it):
            # the database file itself is what must be held read-only; the bytes of both are
            # compared below.
            with OpenModes(server.pid, {"runs.db"}) as modes:
                page.goto(address)
                page.wait_for_selector("body[data-rendered]")
                page.evaluate("window.loadedOnce = true")
                results, points = _results(page), _points(page)
                wait_for(lambda: _results(page) > results, 30, "a new result shown")
                wait_for(lambda: _points(page) > points, 30, "the curves to grow")
                assert page.evaluate("window.loadedOnce"), "the page was reloaded"
                assert run.poll() is None, "the run ended before the page followed it"
                screenshot(page, "scores-live")
                _tab(page, "workers", "#workers tbody tr")
                assert "running" in page.text_content("#workers")
                screenshot(page, "workers-live")
            assert modes.seen, "the dashboard was never seen holding the database open"
            assert not modes.writable, "the dashboard opened the database for writing"
            _out, err = run.communicate(timeout=120)
            assert run.returncode == 3, err
            # The run has ended: from now on nothing may change any file of the database.
            before = _fingerprint(tmp_path, shared_memory=False)
            _tab(page, "overview", "#curves .main-svg")
            page.wait_for_function(
                "document.getElementById('live-text').textContent === 'up to date'"
            )
            assert page.text_content("#state") == "finished"  # member 1 failed, not all
        assert _fingerprint(tmp_path, shared_memory=False) == before
