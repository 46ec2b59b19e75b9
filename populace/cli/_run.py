"""``populace run`` trains a population; ``populace resume`` carries on a stored one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from populace._run import run
from populace.cli._best import print_best
from populace.cli._common import name_argument, open_storage, storage_option
from populace.cli._config import merge, read_config, run_arguments
from populace.cli._failures import MembersFailed
from populace.cli._target import TargetType
from populace.controller import MemberState
from populace.executors._choice import EXECUTORS, check_executor, make_executor
from populace.runtime import (
    DEFAULT_STORAGE,
    KEEP_BEST,
    Population,
    open_population,
    train_population,
)

__all__ = ["log_to_stderr", "quiet_option", "resume_command", "run_command", "target_argument"]

WORKERS_HELP = (
    "Number of workers: 1 trains in this process, more start worker processes, 0 only creates "
    "the population (for `populace worker`)."
)
target_argument = click.argument("target", type=TargetType())
executor_option = click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    help="Where the workers run: in this process, in local worker processes, or as Ray actors of "
    "one CPU each (on the Ray cluster in RAY_ADDRESS or on this host, else a new local one).  "
    "[default: serial for 1 worker, else processes]",
)
quiet_option = click.option(
    "--quiet", is_flag=True, default=None, help="No progress bar and no log lines on stderr."
)


def log_to_stderr(quiet: bool) -> None:
    """Show populace's own log lines (creating, resuming, a failed trial) on stderr, or none at
    all when ``quiet``; SQLAlchemy's stay silent.

    Quiet raises the level above every record rather than leaving the logger without a handler,
    which Python would answer by printing warnings anyway; worker processes and Ray actors apply
    this process's level.
    """
    logger = logging.getLogger("populace")
    if quiet:
        logger.setLevel(logging.CRITICAL + 1)
        return
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler())


def _train(train: Any, arguments: dict[str, Any], quiet: bool) -> None:
    log_to_stderr(quiet)
    population = run(train, **arguments, progress=False if quiet else None)
    _finish(population, arguments.get("workers", 1))


def _finish(population: Population, workers: int) -> None:
    """Say where to go on: start workers (none trained here), or the best member.

    Raises:
        MembersFailed: members failed for good (exit status 3), after the best of the others.
    """
    if workers == 0:
        click.echo(
            f"population {population.name!r} is ready in {population.storage.url}; start workers "
            f"with: populace worker --storage URL {population.name} TARGET"
        )
        return
    members = population.members()
    failed = [m for m in members if m.state == MemberState.FAILED]
    if population.best is not None or not failed:
        print_best(population)
    if failed:
        raise MembersFailed(population, failed, len(members))


@click.command("run")
@target_argument
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file of settings (YAML for .yaml/.yml, with PyYAML); flags override it.",
)
@click.option(
    "--space",
    metavar="JSON",
    help='Search space as JSON: {"lr": {"type": "LogUniform", "low": 1e-4, "high": 0.1}}.',
)
@click.option("--population", type=int, metavar="N", help="Number of members.  [default: 8]")
@click.option("--budget", type=int, metavar="STEPS", help="Steps each member trains for.")
@click.option("--interval", type=int, metavar="STEPS", help="Steps between ready points.")
@click.option(
    "--storage",
    metavar="URL",
    help=f"Storage URL; a password in it is never printed.  [default: {DEFAULT_STORAGE}]",
)
@click.option(
    "--checkpoints",
    metavar="PATH_OR_URL",
    help="Checkpoint folder or fsspec URL (s3://bucket/prefix; needs populace[remote]).  "
    "[default: next to a SQLite file]",
)
@click.option(
    "--name", help="Population name; an existing one is resumed.  [default: TARGET's name]"
)
@click.option(
    "--seed",
    type=int,
    metavar="N",
    help="Seed of the initial params and of every decision.  [default: 0]",
)
@click.option("--workers", type=int, metavar="N", help=f"{WORKERS_HELP}  [default: 1]")
@executor_option
@click.option(
    "--direction",
    type=click.Choice(["maximize", "minimize"]),
    help="Whether a higher or a lower score is better.  [default: maximize]",
)
@click.option(
    "--synchronous/--asynchronous",
    default=None,
    help="Decide in generations behind a barrier.  [default: asynchronous]",
)
@click.option(
    "--exploit",
    metavar="STRATEGY",
    help="Exploit strategy: a class name (TournamentExploit) or JSON "
    '({"type": "TruncationExploit", "bottom": 0.2, "top": 0.2}).  [default: TruncationExploit]',
)
@click.option(
    "--explore",
    metavar="STRATEGY",
    help="Explore strategy: a class name (PerturbExplore) or JSON.  "
    "[default: PerturbOrResampleExplore]",
)
@quiet_option
def run_command(target: Any, config: Path | None, **flags: Any) -> None:
    """Train a population with TARGET, the training function.

    TARGET is module:function (imported from the working directory or sys.path) or
    path/to/file.py:function. The space, budget and interval are required, as flags or in the
    --config file, whose keys are the flags' names ([space] is a table of name -> dimension).
    Running again with the same name and storage resumes the population. Prints the best
    member's score, params and schedule at the end.

    A member whose train() keeps raising is marked failed and the others train on; at the end
    each failed member is named on stderr with its error, and the exit status is 3 (not 0).
    `populace show --storage URL NAME MEMBER` shows a member's traceback.

    \b
    Example:
      populace run train.py:train --population 4 --budget 20 --interval 5 \\
        --space '{"lr": {"type": "LogUniform", "low": 1e-4, "high": 0.1}}'
    """
    settings = merge(read_config(config, known=flags) if config else {}, flags)
    _train(target, run_arguments(settings), bool(settings.get("quiet")))


@click.command("resume")
@storage_option
@name_argument
@target_argument
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    metavar="N",
    default=1,
    show_default=True,
    help=WORKERS_HELP,
)
@executor_option
@quiet_option
def resume_command(
    storage: str, name: str, target: Any, workers: int, executor: str | None, quiet: bool | None
) -> None:
    """Resume population NAME, training it with TARGET and the settings stored with it.

    TARGET is module:function or path/to/file.py:function, as for run. The space, size, budget,
    interval, strategies, direction and seed come from the storage, so the population carries on
    exactly as it started; a finished population trains no further. Failed members stay
    failed: they are named on stderr and the exit status is 3, as for run.
    """
    log_to_stderr(bool(quiet))
    check_executor(executor, workers)
    population = open_population(open_storage(storage), name)
    if workers > 0:
        runner = make_executor(executor, workers, retries=2)
        train_population(
            population, target, runner, keep_best=KEEP_BEST, progress=False if quiet else None
        )
    _finish(population, workers)
