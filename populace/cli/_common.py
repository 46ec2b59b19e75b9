"""What the commands share: the errors they raise, the storage option, opening storage (read-only
for the commands that only read) and plain-aware output."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from populace.errors import PopulaceError, StorageError
from populace.runtime import DEFAULT_STORAGE, Population, load
from populace.storage import BaseStorage, get_storage, mask_url
from populace.storage._sql._engine import database_file, parse_url

__all__ = [
    "CommandError",
    "OutputError",
    "format_params",
    "format_value",
    "name_argument",
    "load_population",
    "open_storage",
    "print_table",
    "schedule_lines",
    "storage_option",
    "writing_into",
]


class CommandError(click.ClickException):
    """A failure the user can fix: printed as ``error: <message>``, exit status 1.

    Not a :class:`PopulaceError`: it is how a command shows an error, never raised by the
    library, and click turns it into the exit status before any Python caller could see it
    (the command group wraps each escaping PopulaceError in one).
    """

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class OutputError(PopulaceError):
    """A file a command writes (an export, a plot) cannot be written."""


@contextmanager
def writing_into(folder: Path) -> Iterator[None]:
    """Turn a failure to write into ``folder`` into one line naming it."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"cannot write into the folder {folder}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else "")
        ) from exc


storage_option = click.option(
    "--storage",
    metavar="URL",
    default=DEFAULT_STORAGE,
    show_default=True,
    help="Storage URL (SQLAlchemy); a password in it is never printed.",
)
name_argument = click.argument("name")
out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Folder to write into (created if missing).",
)


def open_storage(url: str, *, read_only: bool = False) -> BaseStorage:
    """Open an existing storage; a SQLite file that does not exist is an error, not created.

    ``read_only`` (the commands that only show or export) changes nothing in the database.
    """
    database = database_file(parse_url(url))
    if database is not None and not Path(database).exists():
        raise StorageError(f"no database at {mask_url(url)} (the file {database} does not exist)")
    return get_storage(url, read_only=read_only)


def load_population(url: str, name: str, *, read_only: bool = False) -> Population:
    """Reopen population ``name``; an unknown name is an error listing the known ones."""
    return load(open_storage(url, read_only=read_only), name)


def format_value(value: object) -> str:
    """A param or score as text: floats to 6 significant digits, everything else as its repr."""
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


def schedule_lines(schedule: Sequence[Mapping[str, Any]]) -> list[str]:
    """A schedule (``Schedule.to_list()``) as text under a ``schedule:`` line, an entry a line."""
    return [
        "schedule:",
        *(
            f"  from step {e['step']}: {format_params(e['params'])}  "
            f"(member {e['member']}, generation {e['generation']})"
            for e in schedule
        ),
    ]


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a table on stdout: bold headers on a terminal, plain text otherwise.

    Rows are never wrapped or cut short, whatever the terminal's width: no value is lost.
    """
    terminal = sys.stdout.isatty()
    console = Console(force_terminal=terminal, no_color=not terminal, highlight=False, width=10_000)
    table = Table(*columns, box=box.SIMPLE_HEAD if terminal else None, show_edge=False)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # cells are data, never markup
    with console.capture() as captured:
        console.print(table)
    click.echo(title)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
