"""The population as tables (rows for pandas, CSV and JSON) and as TensorBoard runs."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from populace._imports import require
from populace.errors import ConfigurationError

if TYPE_CHECKING:
    from populace.analysis._data import PopulationData
    from populace.storage import ResultRecord

__all__ = ["FORMATS", "TABLES", "export", "table_rows", "to_pandas"]

TABLES = ("members", "results", "decisions", "lineage")
FORMATS = ("csv", "json", "tensorboard")


def _member_rows(data: PopulationData) -> list[dict[str, Any]]:
    return [
        {
            "member": m.id,
            "state": m.state,
            "step": m.step,
            "generation": m.generation,
            "score": m.score,
            "checkpoint": m.checkpoint.ref if m.checkpoint else None,
            "subpopulation": m.subpopulation,
            "evaluator": m.evaluator,
            **{f"param_{k}": v for k, v in m.params.items()},
            **{f"metric_{k}": v for k, v in m.metrics.items()},
        }
        for m in data.members()
    ]


def _result_row(result: ResultRecord) -> dict[str, Any]:
    """A result with each extra metric in a column of its own (empty where not reported)."""
    row = {k: v for k, v in result.__dict__.items() if k != "metrics"}
    return {**row, **{f"metric_{k}": v for k, v in result.metrics.items()}}


def _decision_rows(data: PopulationData) -> list[dict[str, Any]]:
    rows = []
    for d in data.decisions():
        decision = d.decision
        params = getattr(decision, "params", None)
        rows.append(
            {
                "id": d.id,
                "member": d.member,
                "generation": d.generation,
                "step": d.step,
                "kind": decision.kind,
                "reason": decision.reason,
                "parent": getattr(decision, "parent", None),
                "parent_step": getattr(decision, "parent_step", None),
                "child": getattr(decision, "child", None),
                "params": None if params is None else json.dumps(dict(params)),
                "compared": json.dumps([list(c) for c in d.compared]),
                "watermark": d.watermark,
                "created_at": d.created_at,
            }
        )
    return rows


def table_rows(data: PopulationData, table: str) -> list[dict[str, Any]]:
    """Return one table (``members``, ``results``, ``decisions`` or ``lineage``) as dicts.

    Raises:
        ConfigurationError: ``table`` is none of these.
    """
    if table == "members":
        return _member_rows(data)
    if table == "results":
        return [_result_row(r) for r in data.results()]
    if table == "decisions":
        return _decision_rows(data)
    if table == "lineage":
        return [{**s.__dict__, "params": json.dumps(dict(s.params))} for s in data.lineage()]
    raise ConfigurationError(f"unknown table {table!r}; choose from {TABLES}")


def to_pandas(data: PopulationData, table: str = "results") -> Any:
    """Return one table as a pandas DataFrame (needs the ``analysis`` extra).

    Raises:
        ConfigurationError: ``table`` is not one of :data:`TABLES`.
        MissingDependencyError: pandas is not installed.
    """
    pandas = require("pandas", "analysis")
    return pandas.DataFrame(table_rows(data, table))


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        fields = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _write_tensorboard(data: PopulationData, folder: Path) -> list[Path]:
    # Imported on use: populace.trackers imports populace.analysis, which imports this module.
    from populace.trackers._tensorboard import write_tensorboard
    from populace.trackers._view import TrackedPopulation

    return write_tensorboard(TrackedPopulation.from_data(data), folder / data.name)


def export(data: PopulationData, directory: str | Path, format: str = "csv") -> list[Path]:
    """Write every table to ``directory`` as CSV files or one JSON file, or the population as
    TensorBoard runs (``<directory>/<name>/member-<id>``, as the live tracker writes them);
    return the paths.

    Raises:
        ConfigurationError: ``format`` is not one of :data:`FORMATS`.
        MissingDependencyError: ``"tensorboard"`` without tensorboard installed.
    """
    if format not in FORMATS:
        raise ConfigurationError(f"format must be 'csv', 'json' or 'tensorboard', got {format!r}")
    if format == "tensorboard":
        require("tensorboard", "tensorboard")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if format == "tensorboard":
        return _write_tensorboard(data, folder)
    tables = {name: table_rows(data, name) for name in TABLES}
    if format == "json":
        path = folder / f"{data.name}.json"
        path.write_text(json.dumps({"population": data.name, **tables}, indent=1, default=str))
        return [path]
    paths = []
    for name, rows in tables.items():
        path = folder / f"{data.name}-{name}.csv"
        _write_csv(path, rows)
        paths.append(path)
    return paths
