"""The command table and the entry point of the ``populace`` command."""

from __future__ import annotations

from typing import Any

import click

from populace import __version__
from populace.cli._best import best_command
from populace.cli._common import CommandError
from populace.cli._dashboard import dashboard_command
from populace.cli._export import export_command
from populace.cli._plot import plot_command
from populace.cli._run import resume_command, run_command
from populace.cli._show import show_command
from populace.cli._status import status_command
from populace.cli._worker import worker_command
from populace.errors import PopulaceError

__all__ = ["COMMANDS", "cli", "main"]

COMMANDS: dict[str, click.Command] = {
    "run": run_command,
    "resume": resume_command,
    "worker": worker_command,
    "status": status_command,
    "show": show_command,
    "best": best_command,
    "export": export_command,
    "plot": plot_command,
    "dashboard": dashboard_command,
}


class _PopulaceGroup(click.Group):
    """Turns every :class:`PopulaceError` into ``error: <message>`` and exit status 1; with
    ``--debug``, lets it through so that Python prints its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PopulaceError as exc:
            if ctx.params.get("debug"):
                raise
            raise CommandError(str(exc)) from None


@click.group(cls=_PopulaceGroup, commands=COMMANDS)
@click.option(
    "--debug", is_flag=True, help="Show the full traceback of an error instead of one line."
)
@click.version_option(__version__, prog_name="populace")
def cli(debug: bool) -> None:
    """Population Based Training: train, inspect, resume, export and plot populations.

    A population lives in a storage (default sqlite:///populace.db in the working directory);
    every command takes it with --storage. An error is one line; `populace --debug COMMAND ...`
    shows its traceback.
    """


def main() -> None:
    """Run the ``populace`` command (the console script's entry point)."""
    cli.main(prog_name="populace")
