"""How fast ``populace dashboard`` draws a large population, and what a live dashboard costs a run.

    python benchmarks/dashboard.py            # writes benchmarks/results/dashboard.json
    python benchmarks/dashboard.py --quick    # fewer results and repeats (for CI)

1. Render: a real run of 64 members with a trivial train() stores 50,000 results (with their
   exploits, decisions and lineage) in SQLite; ``populace dashboard`` serves it and headless
   Chromium loads the population page N times, each in a fresh context (cold: nothing cached),
   then N times reloading one page (warm: plotly.js and its compiled code cached). The figure
   is the median time from navigation start until the curves are drawn (the page sets
   ``body[data-rendered]`` once Plotly has drawn them). The JSON endpoints are timed
   server-side: the first read of the population, each request served from the cache, each
   figure rebuilt after a change, and a refresh that finds nothing new.
2. Overhead: the project's overhead job (benchmarks/overhead.py's digits CNN, 8 members, 2
   workers) runs alternately without and with a dashboard serving a headless page that polls
   it, several times interleaved; medians of the run's wall time and their ratio.

Needs the dashboard extra and Debian's Chromium at /usr/bin/chromium (Playwright drives it and
downloads no browser).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import populace as pop

from _common import RESULTS, ProcessGroups, exit_cleanly_on_signals, table, write_results

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Records when the page first marks its curves drawn, relative to navigation start.
RENDERED = """
new MutationObserver((changes, observer) => {
  if (document.body && document.body.dataset.rendered) {
    window.renderedAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-rendered"]});
"""
SPACE = pop.SearchSpace(lr=pop.LogUniform(1e-3, 0.5), momentum=pop.Uniform(0.0, 1.0))


def trivial(member: pop.Member) -> None:
    """Walk x toward 1 at the member's rate: no work but populace's own, a metric reported."""
    x = member.checkpoint.load()["x"] if member.checkpoint is not None else 0.0
    for step in range(member.step + 1, member.budget + 1):
        x += member.params["lr"] * (1.0 - x) * 0.01
        member.report(step, -abs(1.0 - x), checkpoint={"x": x}, metrics={"loss": (1 - x) ** 2})


def build(folder: Path, results: int) -> tuple[str, dict[str, Any]]:
    """A real run of 64 members storing about ``results`` results; its URL and sizes."""
    url = f"sqlite:///{folder / 'big.db'}"
    start = time.perf_counter()
    done = pop.run(trivial, SPACE, population=64, budget=-(-results // 64), interval=25,
                   name="big", storage=url, progress=False, seed=1)  # fmt: skip
    sizes = {
        "members": 64,
        "results": len(done.results()),
        "decisions": len(done.decisions()),
        "exploits": sum(d.decision.kind == "exploit" for d in done.decisions()),
        "generations": len(done.lineage()),
        "build_s": time.perf_counter() - start,
    }
    done.storage.close()
    return url, sizes


def start_dashboard(groups: ProcessGroups, url: str, *args: str) -> str:
    """Start ``populace dashboard`` on a free port; return its address once it serves."""
    command = [sys.executable, "-m", "populace.cli", "dashboard", "--storage", url, "--port", "0"]
    process = groups.start([*command, *args], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if not select.select([process.stdout], [], [], 120)[0]:
        raise RuntimeError("the dashboard printed nothing in 120 s")
    found = re.search(r"at (http://\S+/)", process.stdout.readline())
    if found is None:
        raise RuntimeError("the dashboard did not start")
    return found[1]


def _render(page: Any, address: str) -> float:
    page.goto(address)
    page.wait_for_function("window.renderedAt !== undefined", timeout=60_000)
    return float(page.evaluate("window.renderedAt")) / 1000


def render_times(browser: Any, address: str, loads: int) -> dict[str, list[float]]:
    """Seconds from navigation start to the curves drawn: ``cold``, each load in a fresh
    browser context (nothing cached); ``warm``, reloads in one context after two loads (the
    browser keeps plotly.js and, from the third load, its compiled code)."""
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_init_script(RENDERED)
        times["cold"].append(_render(context.new_page(), address))
        context.close()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(RENDERED)
    page = context.new_page()
    times["warm"] = [_render(page, address) for _ in range(loads + 2)][2:]
    context.close()
    return times


def _median_ms(call: Any, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def endpoint_times(url: str) -> dict[str, float]:
    """Server-side milliseconds: the first read, cached requests, figures rebuilt, a refresh."""
    from starlette.testclient import TestClient

    from populace.analysis import _plotly
    from populace.dashboard import LivePopulation, create_app
    from populace.dashboard._json import dumps
    from populace.storage import get_storage

    storage = get_storage(url, read_only=True)
    client = TestClient(create_app(storage, "big"))
    start = time.perf_counter()
    client.get("/api/populations/big/changes").raise_for_status()
    out = {"first_read_ms": (time.perf_counter() - start) * 1000}
    paths = ["changes", "members", "decisions", "workers", "failures"]
    paths += [f"figures/{k}" for k in ("curves", "lineage", "schedule", "params")]
    for path in paths:
        client.get(f"/api/populations/big/{path}").raise_for_status()  # built once
        get = lambda p=path: client.get(f"/api/populations/big/{p}").raise_for_status()  # noqa: E731
        out[f"cached_{path.replace('figures/', '')}_ms"] = _median_ms(get, 5)
    live = client.app.state.dashboard.population("big")  # type: ignore[attr-defined]
    view = live.view()
    for kind in ("curves", "lineage", "schedule", "params"):
        make = getattr(_plotly, f"{kind}_figure")
        out[f"rebuilt_{kind}_ms"] = _median_ms(lambda make=make: dumps(make(view)), 3)
    record = storage.find_population("big")
    assert record is not None
    fresh = LivePopulation(storage, record, every=0.0)
    fresh.refresh()
    out["refresh_nothing_new_ms"] = _median_ms(fresh.refresh, 5)
    storage.close()
    return out


def overhead_child(folder: Path, budget: int) -> None:
    """Run the overhead job into ``folder``'s database; print its wall time as JSON."""
    import _workload

    _workload.digits.splits()  # the data is loaded before timing, as in overhead.py
    start = time.perf_counter()
    pop.run(_workload.train, _workload.digits.SPACE, population=8, budget=budget, interval=2,
            workers=2, storage=f"sqlite:///{folder / 'bench.db'}", name="bench",
            progress=False, seed=0)  # fmt: skip
    print(json.dumps({"wall_s": time.perf_counter() - start}))


def overhead_run(browser: Any, budget: int, dashboard: bool) -> dict[str, Any]:
    """One run of the overhead job, with or without a dashboard and a page polling it."""
    with tempfile.TemporaryDirectory() as folder, ProcessGroups() as groups:
        url = f"sqlite:///{folder}/bench.db"
        page = context = None
        if dashboard:
            pop.storage.SQLStorage(url).close()  # the schema, so the dashboard opens first
            address = start_dashboard(groups, url)
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(f"{address}#/p/bench/overview")
        child = [sys.executable, str(Path(__file__)), "--child", folder, str(budget)]
        env = {**os.environ, "POPULACE_BENCH_DIR": folder}
        done = subprocess.run(child, capture_output=True, text=True, cwd=HERE, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the overhead job failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if page is not None:
            result["page_results_shown"] = page.text_content("#result-count")
            context.close()  # type: ignore[union-attr]
    return {"dashboard": dashboard, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer results and repeats (CI)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        overhead_child(Path(args.child[0]), int(args.child[1]))
        return
    exit_cleanly_on_signals()
    from playwright.sync_api import sync_playwright

    results, loads, repeats, budget = (5_000, 3, 2, 4) if args.quick else (50_000, 7, 5, 12)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        url, sizes = build(Path(folder), results)
        print(f"population: {sizes}")
        with ProcessGroups() as groups:
            address = start_dashboard(groups, url, "big")
            renders = render_times(browser, address, loads)
        endpoints = endpoint_times(url)
        runs = []
        for repeat in range(repeats):
            for dashboard in (repeat % 2 == 1, repeat % 2 == 0):  # alternate which goes first
                runs.append(overhead_run(browser, budget, dashboard))
                print(f"  run {len(runs)}: dashboard={dashboard} wall {runs[-1]['wall_s']:.2f} s")
        browser.close()
    render = {
        **{f"{k}_samples_s": v for k, v in renders.items()},
        **{f"{k}_median_s": statistics.median(v) for k, v in renders.items()},
    }
    without = statistics.median(r["wall_s"] for r in runs if not r["dashboard"])
    with_dashboard = statistics.median(r["wall_s"] for r in runs if r["dashboard"])
    overhead = {
        "job": {"population": 8, "budget": budget, "interval": 2, "workers": 2},
        "runs": runs,
        "median_without_s": without,
        "median_with_s": with_dashboard,
        "ratio": with_dashboard / without,
    }
    for kind, samples in renders.items():
        shown = [round(t, 3) for t in samples]
        median = statistics.median(samples)
        print(f"page load to curves drawn ({sizes['results']} results), {kind}: {median:.3f} s")
        print(f"  samples: {shown}")
    print(table("server-side, ms", ["endpoint", "ms"], [[k, v] for k, v in endpoints.items()]))
    print(f"overhead job: median {without:.2f} s without, {with_dashboard:.2f} s with a live "
          f"dashboard: ratio {overhead['ratio']:.3f}")  # fmt: skip
    path = write_results(
        "dashboard",
        {"quick": args.quick, "population": sizes, "render": render, "endpoints_ms": endpoints,
         "overhead": overhead},
        args.out,
    )  # fmt: skip
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
