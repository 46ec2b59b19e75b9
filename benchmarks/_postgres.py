"""A throwaway PostgreSQL server for the benchmarks: the test suite's, started the same way."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._postgres import PostgresServer, find_binaries

__all__ = ["PostgresServer", "postgres_server"]


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server on loopback in a temporary folder, with PostgreSQL's default durability
    (fsync on, synchronous commits); stop it and delete it at the end."""
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit(
            "PostgreSQL is not installed (apt-get install postgresql), or pass --postgres-url"
        )
    server = PostgresServer(binaries, durable=True)
    try:
        yield server
    finally:
        server.destroy()
