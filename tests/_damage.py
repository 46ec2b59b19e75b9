"""Damage as a disk or a crash leaves it, for the tests of what populace does with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["damage_table"]


def damage_table(path: Path, table: str) -> None:
    """Overwrite the first page of ``table``'s b-tree in the SQLite file ``path`` with garbage."""
    with sqlite3.connect(path) as c:
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    c.close()
    with open(path, "r+b") as file:
        file.seek((root[0] - 1) * page_size)
        file.write(b"\xff" * 64)
