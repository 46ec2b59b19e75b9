"""Helpers shared by the benchmarks: timing statistics, tables and JSON results."""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def summary_ms(samples_ns: list[int]) -> dict[str, float]:
    """Median, p99 and mean of nanosecond samples, in milliseconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) / 1e6,
        "p99_ms": p99 / 1e6,
        "mean_ms": statistics.fmean(ordered) / 1e6,
    }


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """A plain text table."""
    cells = [header] + [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)


def write_results(name: str, data: dict[str, Any], folder: Path = RESULTS) -> Path:
    """Write ``data`` with machine facts to ``<folder>/<name>.json`` (benchmarks/results/)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        **data,
    }
    path.write_text(json.dumps(payload, indent=1))
    return path
