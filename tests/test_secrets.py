"""A password in a storage URL is never shown: not by any command, log line or error.

Each command runs for real, in a process of its own, against a PostgreSQL URL on a port where no
server listens; everything it writes is searched for the secret.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from _subprocess import run

import populace as pop
from populace._secrets import is_secret_name, mask, mask_url, url_secrets
from populace.errors import StorageError
from populace.storage import SQLStorage
from populace.storage import mask_url as mask_storage_url
from populace.storage._sql._engine import retry_policy

SECRET = "hunter2-Zq9"
SPACE = '{"lr": {"type": "Uniform", "low": 0.0, "high": 1.0}}'
TRAIN = "def train(member):\n    pass\n"
RUN = (
    "import sys, populace as pop\n"
    "pop.run(lambda m: None, pop.SearchSpace(lr=pop.Uniform(0.0, 1.0)), budget=2, interval=1,\n"
    "        storage=sys.argv[1], progress=False)\n"
)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free once the probe closes: nothing listens there


PORT = _closed_port()
URLS = {
    "user info": (
        f"postgresql+psycopg://alice:{SECRET}@127.0.0.1:{PORT}/db",
        "alice:***@127.0.0.1",
    ),
    "query string": (
        f"postgresql+psycopg://alice@127.0.0.1:{PORT}/db?password={SECRET}&sslpassword={SECRET}x",
        "password=***",
    ),
}


def _output(*command: str, cwd: Path) -> str:
    done = run(command, cwd=cwd, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode != 0, "the command should fail: no server listens there"
    return done.stdout + done.stderr


def _commands(url: str) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "populace.cli"]
    new_run = ["run", "toy.py:train", "--budget", "2", "--interval", "1", "--space", SPACE]
    target = ["--storage", url, "toy", "toy.py:train"]
    return {
        "populace run": [*cli, *new_run, "--storage", url],
        "populace status": [*cli, "status", "--storage", url],
        "populace status NAME": [*cli, "status", "--storage", url, "toy"],
        "populace worker --wait 2": [*cli, "worker", "--wait", "2", *target],
        "populace --debug resume": [*cli, "--debug", "resume", *target],
        "pop.run": [sys.executable, "-c", RUN, url],
    }


@pytest.mark.parametrize("where", list(URLS))
def test_no_command_shows_the_password(where: str, tmp_path: Path) -> None:
    url, shown = URLS[where]
    (tmp_path / "toy.py").write_text(TRAIN)
    for name, command in _commands(url).items():
        output = _output(*command, cwd=tmp_path)
        assert SECRET not in output, f"{name} showed the password:\n{output}"
        assert shown in output, f"{name} does not show the masked URL:\n{output}"
        if "worker" in name:
            assert "retrying in" in output, output  # the retry log lines were searched too


def test_a_url_shows_every_secret_masked() -> None:
    url = (
        "postgresql+psycopg://u:pw%40x@h/db?application_name=app&password=a%26b&sslpassword=c"
        "&api_key=k&access_key=ak&token=t&client_secret=s&credentials=cr&auth=au"
    )
    assert mask_url(url) == (
        "postgresql+psycopg://u:***@h/db?application_name=app&password=***&sslpassword=***"
        "&api_key=***&access_key=***&token=***&client_secret=***&credentials=***&auth=***"
    )
    assert {"pw@x", "pw%40x", "a&b", "a%26b", "c", "k", "ak", "t", "s", "cr", "au"} <= url_secrets(
        url
    )
    assert "app" not in url_secrets(url)
    assert mask_url("simplecache::s3://key:sec@bucket/p?sig=xyz") == (
        "simplecache::s3://key:***@bucket/p?sig=***"
    )


@pytest.mark.parametrize(
    "name", ["password", "PASSWD", "pwd", "sslpassword", "secret", "token", "key", "auth"]
)
def test_names_like_secrets_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["host", "application_name", "connect_timeout", "sslmode"])
def test_other_names_are_not(name: str) -> None:
    assert not is_secret_name(name)


def test_mask_replaces_the_longest_secret_first() -> None:
    assert mask("a abc ab", ["ab", "abc"]) == "a *** ***"
    assert mask("nothing", [""]) == "nothing"


def test_storage_urls_are_masked_as_sqlalchemy_renders_them() -> None:
    url = f"postgresql+psycopg://alice:{SECRET}@h:5432/db?sslpassword={SECRET}&sslmode=require"
    assert mask_storage_url(url) == (
        "postgresql+psycopg://alice:***@h:5432/db?sslmode=require&sslpassword=***"
    )


def test_driver_messages_lose_every_secret() -> None:
    url = f"postgresql+psycopg://alice:p%2Fw@h/db?password={SECRET}&token=a+b"
    retry = retry_policy(url, 0)
    said = f"could not connect with password {SECRET}, p/w and token a b\nsecond line"
    error = sa.exc.OperationalError("SELECT 1", {}, Exception(said))
    assert retry.reason(error) == "could not connect with password ***, *** and token ***"


def test_a_storage_error_never_chains_the_driver_error() -> None:
    url, _ = URLS["query string"]
    with pytest.raises(StorageError) as info:
        SQLStorage(url, retry_seconds=0)
    assert SECRET not in str(info.value) and "password=***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_status_shows_the_masked_url(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = sa.engine.make_url(postgres_url)
    password = str(parsed.password)
    in_query = parsed.set(password=None).update_query_dict({"password": password})
    url = in_query.render_as_string(hide_password=False)
    monkeypatch.chdir(tmp_path)
    population = pop.run(
        lambda member: None, pop.SearchSpace(lr=pop.Uniform(0.0, 1.0)), budget=2, interval=1,
        storage=url, name="toy", workers=0, progress=False,
    )  # fmt: skip
    assert password not in repr(population.storage) + population.storage.url
    for command in (["status", "--storage", url], ["status", "--storage", url, "toy"]):
        done = run(
            [sys.executable, "-m", "populace.cli", *command],
            timeout=120,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
        assert "password=***" in done.stdout
