"""``populace dashboard`` over PostgreSQL: it serves the population and never shows the
password (its session is read-only as ``populace status``'s: tests/storage/test_read_only.py)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import populace as pop
from tests.dashboard._browser import dashboard


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        member.report(step, member.params["lr"] * step, checkpoint={"step": step})


@pytest.fixture
def url(postgres_url: str, tmp_path: Path) -> str:
    """A PostgreSQL database (its URL holds a password) with population ``toy``."""
    space = pop.SearchSpace(lr=pop.Uniform(0.0, 1.0))
    pop.run(_train, space, population=3, budget=6, interval=2, name="toy", storage=postgres_url,
            checkpoints=str(tmp_path / "checkpoints"), progress=False).storage.close()  # fmt: skip
    return postgres_url


def test_the_dashboard_serves_postgresql_without_showing_the_password(
    url: str, tmp_path: Path
) -> None:
    password = make_url(url).password
    assert password
    with dashboard(url, "toy", cwd=tmp_path) as (address, process):
        with urllib.request.urlopen(f"{address}api/populations/toy/members", timeout=30) as got:
            members = json.load(got)["members"]
        assert [m["member"] for m in members] == [0, 1, 2]
        with urllib.request.urlopen(f"{address}api/populations", timeout=30) as got:
            listed = got.read().decode()
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert ":***@127.0.0.1" in json.loads(listed)["storage"]  # as the command printed it
    assert password not in out + err + listed
