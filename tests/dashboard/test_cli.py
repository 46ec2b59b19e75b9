"""``populace dashboard`` from the command line: each bad input is one line on stderr and exit
status 1, a host other than loopback is warned about, Ctrl-C stops it cleanly."""

from __future__ import annotations

import json
import select
import signal
import socket
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import populace as pop
from tests.cli.test_cli import populace
from tests.dashboard._browser import dashboard


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        member.report(step, float(step), checkpoint={"step": step})


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite storage holding the population ``toy``."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'runs.db'}"
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    result = pop.run(
        _train, space, population=2, budget=4, interval=2, name="toy", storage=url, progress=False
    )
    result.storage.close()
    return url


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def _error(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command wrote on stderr."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_missing_database_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    done = populace("dashboard", "--storage", f"sqlite:///{missing}", cwd=tmp_path)
    assert _error(done) == (
        f"error: no database at sqlite:///{missing} (the file {missing} does not exist)"
    )
    assert not missing.exists()


def test_an_unreachable_server_is_an_error_that_hides_the_password(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://me:s3cret-pw@127.0.0.1:1/db?connect_timeout=2"
    line = _error(populace("dashboard", "--storage", url, cwd=tmp_path))
    assert line.startswith("error: cannot open storage postgresql+psycopg://me:***@127.0.0.1:1/db")
    assert "s3cret-pw" not in line


def test_an_unparseable_url_is_an_error(tmp_path: Path) -> None:
    line = _error(populace("dashboard", "--storage", "not a url", cwd=tmp_path))
    assert line.startswith("error: cannot parse storage URL")


def test_a_database_of_another_program_is_an_error_and_left_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "other.db"
    with sqlite3.connect(database) as c:
        c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    c.close()
    before = database.read_bytes()
    done = populace("dashboard", "--storage", f"sqlite:///{database}", cwd=tmp_path)
    assert _error(done) == (
        f"error: storage sqlite:///{database} is not a populace database (it has no populace "
        "tables)"
    )
    assert database.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_an_unknown_population_is_an_error_naming_the_known_ones(url: str, tmp_path: Path) -> None:
    done = populace("dashboard", "--storage", url, "nope", cwd=tmp_path)
    assert _error(done) == f"error: no population named 'nope' in {url}; populations there: ['toy']"


def test_a_port_in_use_is_an_error(url: str, taken_port: int, tmp_path: Path) -> None:
    done = populace("dashboard", "--storage", url, "--port", str(taken_port), cwd=tmp_path)
    assert _error(done) == (
        f"error: cannot listen on 127.0.0.1:{taken_port}: Address already in use (choose "
        "another port with --port)"
    )


def test_a_host_that_does_not_resolve_is_an_error(url: str, tmp_path: Path) -> None:
    done = populace("dashboard", "--storage", url, "--host", "no-such-host.invalid", cwd=tmp_path)
    assert _error(done).startswith("error: cannot listen on host 'no-such-host.invalid': ")


def test_listening_beyond_loopback_warns_and_ctrl_c_stops_cleanly(url: str, tmp_path: Path) -> None:
    with dashboard(url, "toy", "--host", "0.0.0.0", cwd=tmp_path) as (address, process):
        assert address.startswith("http://0.0.0.0:")
        assert process.stderr is not None
        assert select.select([process.stderr], [], [], 10)[0]
        port = address.rstrip("/").rpartition(":")[2]
        assert process.stderr.readline() == (
            f"warning: listening on 0.0.0.0: anyone who can reach port {port} there can read "
            "every population in this storage (the page has no login)\n"
        )
        port_url = f"http://127.0.0.1:{port}/api/populations"
        with urllib.request.urlopen(port_url, timeout=30) as response:  # it serves
            assert json.load(response)["populations"][0]["name"] == "toy"
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert err == "dashboard stopped\n"
