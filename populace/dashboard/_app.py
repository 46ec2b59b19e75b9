"""The dashboard's web app: one page, its static files, and a JSON API over the storage that
only reads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from populace.dashboard import _figures, _tables
from populace.dashboard._json import dumps
from populace.dashboard._live import LivePopulation
from populace.errors import ConfigurationError, PopulaceError
from populace.storage import BaseStorage

__all__ = ["Dashboard", "create_app"]

STATIC = Path(str(resources.files("populace.dashboard") / "static"))
PLOTLY_JS = ("4.1.1", STATIC / "vendor" / "plotly-basic.min.js")
"""plotly.js's partial bundle with the scatter traces every view draws (see vendor/README.md)."""
DECISIONS_SHOWN = 200
CACHED = {"Cache-Control": "public, max-age=31536000, immutable"}
"""plotly.js is served under its version: a browser keeps it, and its compiled code."""


class NotFound(LookupError):
    """A population, decision or figure the request names does not exist."""


class Dashboard:
    """The populations of one storage, each read once and then kept up to date."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._live: dict[str, LivePopulation] = {}
        self._lock = threading.Lock()

    def population(self, name: str) -> LivePopulation:
        """Population ``name``, refreshed. Raises NotFound if there is none."""
        with self._lock:
            live = self._live.get(name)
            if live is None:
                record = self.storage.find_population(name)
                if record is None:
                    raise NotFound(f"no population {name!r} in {self.storage.url}")
                live = self._live[name] = LivePopulation(self.storage, record)
        live.refresh()
        return live

    def populations(self) -> list[dict[str, Any]]:
        """A summary of every population in the storage, oldest first."""
        return [_summary(self.population(r.name)) for r in self.storage.list_populations()]


def _json(data: Any, status: int = 200) -> Response:
    """A JSON response; a ``str`` is JSON already (a figure, serialised once per version)."""
    text = data if isinstance(data, str) else dumps(data)
    return Response(text, status, media_type="application/json")


def _api(
    dashboard: Dashboard, answer: Callable[[Request, Dashboard], Any]
) -> Callable[[Request], Response]:
    """A JSON endpoint: errors are ``{"error": ...}`` with 404 (nothing by that name), 400 (an
    option names no metric, member or param) or 503 (the storage cannot be read now: the page
    says so and keeps polling)."""

    def endpoint(request: Request) -> Response:
        try:
            return _json(answer(request, dashboard))
        except NotFound as exc:
            return _json({"error": str(exc.args[0])}, 404)
        except ConfigurationError as exc:
            return _json({"error": str(exc)}, 400)
        except PopulaceError as exc:
            return _json({"error": str(exc)}, 503)

    return endpoint


def _live(request: Request, dashboard: Dashboard) -> LivePopulation:
    return dashboard.population(request.path_params["name"])


def _changes(live: LivePopulation) -> dict[str, Any]:
    """What a page polls: each part's version (it refetches the parts that moved) and the
    summary it shows at the top."""
    return {"versions": dict(live.versions), "summary": _summary(live)}


def _summary(live: LivePopulation) -> dict[str, Any]:
    return live.memo("summary", lambda: _tables.summary(live))


def _members(live: LivePopulation) -> dict[str, Any]:
    return live.memo("members", lambda: _tables.member_rows(live))


def _decisions(request: Request, dashboard: Dashboard) -> Any:
    kinds = request.query_params.get("kinds")
    chosen = None if not kinds else set(kinds.split(","))
    limit = request.query_params.get("limit", str(DECISIONS_SHOWN))
    if not limit.isdigit():
        raise ConfigurationError(f"limit must be a number of decisions, not {limit!r}")
    live = _live(request, dashboard)
    rows = lambda: _tables.decision_rows(live, int(limit), chosen)  # noqa: E731
    return live.memo(("decisions", limit, kinds), rows)


def _decision(request: Request, dashboard: Dashboard) -> Any:
    found = _tables.decision_detail(_live(request, dashboard), request.path_params["id"])
    if found is None:
        raise NotFound(f"no decision {request.path_params['id']}")
    return found


def _figure(request: Request, dashboard: Dashboard) -> Any:
    kind = request.path_params["kind"]
    if kind not in _figures.FIGURES:
        raise NotFound(f"no figure {kind!r} (one of {', '.join(_figures.FIGURES)})")
    return _figures.figure(_live(request, dashboard), kind, dict(request.query_params))


ANSWERS: dict[str, Callable[[Request, Dashboard], Any]] = {
    "/api/populations": lambda r, d: {"storage": d.storage.url, "populations": d.populations()},
    "/api/populations/{name}/changes": lambda r, d: _changes(_live(r, d)),
    "/api/populations/{name}/members": lambda r, d: _members(_live(r, d)),
    "/api/populations/{name}/decisions": _decisions,
    "/api/populations/{name}/decisions/{id:int}": _decision,
    "/api/populations/{name}/failures": lambda r, d: _tables.failure_rows(_live(r, d)),
    "/api/populations/{name}/workers": lambda r, d: _tables.worker_rows(_live(r, d)),
    "/api/populations/{name}/figures/{kind}": _figure,
}


def create_app(storage: BaseStorage, population: str | None = None) -> Starlette:
    """The dashboard over ``storage`` (opened read-only by the caller), opening on
    ``population`` when given, else on the list of populations.

    ``populace dashboard`` serves it with uvicorn; any ASGI server or test client can.

    Example:
        >>> from starlette.testclient import TestClient
        >>> from populace.storage import get_storage
        >>> client = TestClient(create_app(get_storage("memory")))
        >>> client.get("/api/populations").json()
        {'storage': 'sqlite://', 'populations': []}
    """
    dashboard = Dashboard(storage)
    version, plotly_js = PLOTLY_JS
    plotly = f"/plotly-basic-{version}.min.js"
    page = (STATIC / "index.html").read_text().replace("{{plotly}}", plotly)
    page = page.replace("{{population}}", _html_attribute(population or ""))
    routes = [
        Route("/", lambda request: HTMLResponse(page)),
        Route(plotly, lambda request: FileResponse(plotly_js, headers=CACHED)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *(Route(path, _api(dashboard, answer)) for path, answer in ANSWERS.items()),
    ]
    app = Starlette(routes=routes)
    app.state.dashboard = dashboard
    return app


def _html_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
