"""The dashboard's JSON API and assets, through Starlette's test client: every asset served from
the package (no CDN), JSON a browser parses, errors as ``{"error": ...}``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import populace as pop
from populace.dashboard import create_app
from populace.storage import get_storage


def _train(member: pop.Member) -> None:
    for step in range(member.step + 1, member.budget + 1):
        score = member.params["lr"] * step
        member.report(step, score, checkpoint={"step": step}, metrics={"loss": 1.0 / step})


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The dashboard over population ``toy`` (4 members, a metric ``loss``)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'runs.db'}"
    space = pop.SearchSpace(lr=pop.Uniform(0.1, 1.0))
    pop.run(_train, space, population=4, budget=12, interval=3, name="toy", storage=url,
            progress=False, seed=4).storage.close()  # fmt: skip
    return TestClient(create_app(get_storage(url, read_only=True), "toy"))


def _json(client: TestClient, path: str, status: int = 200) -> object:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.text, parse_constant=pytest.fail)  # NaN or Infinity fail


def test_the_page_and_every_asset_it_loads_come_from_this_server(client: TestClient) -> None:
    page = client.get("/").text
    assert 'data-population="toy"' in page
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert len(sources) == 3 and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    [plotly] = [s for s in sources if "plotly" in s]
    script = client.get(plotly)
    assert script.text.startswith("/**") and "plotly.js" in script.text[:200]
    assert "immutable" in script.headers["cache-control"]


def test_the_populations_and_a_population_summary(client: TestClient) -> None:
    data = _json(client, "/api/populations")
    assert isinstance(data, dict)
    [toy] = data["populations"]
    assert toy["name"] == "toy" and toy["members"] == 4 and toy["state"] == "finished"
    assert toy["metrics"] == ["loss"] and toy["params"] == ["lr"]
    changes = _json(client, "/api/populations/toy/changes")
    assert isinstance(changes, dict)
    assert set(changes["versions"]) == {"members", "segments", "results", "decisions", "workers"}
    assert changes["summary"]["results"] == 4 * 12


def test_members_and_figures(client: TestClient) -> None:
    members = _json(client, "/api/populations/toy/members")
    assert isinstance(members, dict)
    assert [m["member"] for m in members["members"]] == [0, 1, 2, 3]
    assert members["best"] in (0, 1, 2, 3)
    for kind in ("curves", "lineage", "schedule", "params"):
        figure = _json(client, f"/api/populations/toy/figures/{kind}")
        assert isinstance(figure, dict) and figure["data"], kind


def test_decisions_are_filtered_by_kind_and_their_comparison_is_best_first(
    client: TestClient,
) -> None:
    data = _json(client, "/api/populations/toy/decisions?kinds=stop&limit=2")
    assert isinstance(data, dict)
    assert data["total"] == 4 and len(data["decisions"]) == 2
    assert {d["kind"] for d in data["decisions"]} == {"stop"}
    every = _json(client, "/api/populations/toy/decisions?limit=1000")
    assert isinstance(every, dict)
    compared = next(d for d in every["decisions"] if d["compared_count"] > 1)
    detail = _json(client, f"/api/populations/toy/decisions/{compared['id']}")
    assert isinstance(detail, dict)
    scores = [c["score"] for c in detail["compared"]]
    assert len(scores) == compared["compared_count"]
    assert scores == sorted(scores, reverse=True)  # maximized: best first
    stored = next(d for d in pop.load(client.app.state.dashboard.storage, "toy").decisions()
                  if d.id == compared["id"])  # fmt: skip
    assert sorted((c["member"], c["step"], c["score"]) for c in detail["compared"]) == sorted(
        stored.compared
    )


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/populations/nope/members", 404, "no population 'nope' in sqlite:///"),
        ("/api/populations/toy/decisions/999999", 404, "no decision 999999"),
        ("/api/populations/toy/figures/pie", 404, "no figure 'pie' (one of curves, lineage"),
        ("/api/populations/toy/figures/curves?metric=acc", 400, "population 'toy' has no metric"),
        ("/api/populations/toy/figures/schedule?member=x", 400, "member must be a member id"),
        ("/api/populations/toy/figures/schedule?member=9", 400, "population 'toy' has no member 9"),
    ],
)
def test_a_bad_request_is_an_error_in_json(
    client: TestClient, path: str, status: int, error: str
) -> None:
    data = _json(client, path, status)
    assert isinstance(data, dict) and data["error"].startswith(error), data


@pytest.mark.slow
def test_the_wheel_ships_the_page_and_its_plotly_bundle(tmp_path: Path) -> None:
    root = Path(pop.__file__).parents[1]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("populace-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    static = "populace/dashboard/static/"
    shipped = {"index.html", "app.js", "style.css", "vendor/plotly-basic.min.js"}
    assert {static + name for name in shipped} <= names
    assert "populace/py.typed" in names
