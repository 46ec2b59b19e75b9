"""The ``populace`` command: train, inspect, resume, export and plot populations from a shell.

Every command is registered in one table, :data:`populace.cli._main.COMMANDS`; ``populace
<command> --help`` documents each one.
"""

from populace.cli._main import COMMANDS, cli, main

__all__ = ["COMMANDS", "cli", "main"]
