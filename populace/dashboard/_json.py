"""The dashboard's JSON: compact, and strict as the browser's ``JSON.parse``."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]


def dumps(data: Any) -> str:
    """``data`` as compact JSON. NaN and infinities raise ValueError instead of writing what
    ``JSON.parse`` refuses (stored scores and metrics are finite)."""
    return json.dumps(data, allow_nan=False, separators=(",", ":"))
