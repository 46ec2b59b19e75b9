"""``populace worker``: one standalone worker on a stored population, for any scheduler.

Start any number of them, on any host that reaches the storage, at any time (SLURM array jobs,
Kubernetes replicas, a shell loop): they coordinate through the storage's leases only, and each
exits with status 0 once the population is done.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

import click

from populace.cli._best import print_best
from populace.cli._common import load_population, name_argument, storage_option
from populace.cli._run import log_to_stderr, quiet_option, target_argument
from populace.errors import StorageError
from populace.runtime import Population, WorkerSettings, work
from populace.runtime._collector import BackgroundCollector, collect
from populace.runtime._retention import KEEP_BEST
from populace.runtime._store_owner import claim_store

__all__ = ["worker_command"]

_log = logging.getLogger("populace")
_FIRST_WAIT_S, _LONGEST_WAIT_S = 0.5, 5.0


def _open_when_ready(storage: str, name: str, wait_seconds: float) -> Population:
    """Open population ``name``, retrying with backoff for up to ``wait_seconds`` while the
    database is unreachable or the population not created yet (workers may start first)."""
    deadline = time.monotonic() + wait_seconds
    pause = _FIRST_WAIT_S
    while True:
        try:
            return load_population(storage, name)
        except StorageError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            _log.warning("%s; retrying in %.1f s", exc, min(pause, left))
            time.sleep(min(pause, left))
            pause = min(2 * pause, _LONGEST_WAIT_S)


def _default_device() -> str | None:
    """``cuda`` when the training code imported torch and it sees a GPU (the scheduler's
    CUDA_VISIBLE_DEVICES picks which), else None."""
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else None


def _stop_on_sigterm() -> None:
    """Schedulers stop jobs with SIGTERM: unwind like Ctrl-C, so this worker's leases are
    released and its members go to other workers at once."""

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@click.command("worker")
@storage_option
@name_argument
@target_argument
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    show_default=True,
    help="Wait up to this long for the database to answer and the population to exist.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Retries of a trial whose train() raised, before its member is marked failed.",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="How long a member stays this worker's if it stops renewing (it died).",
)
@click.option(
    "--heartbeat-seconds",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="How often this worker renews its leases.",
)
@click.option(
    "--device", metavar="DEVICE", help="member.device for train().  [default: cuda if available]"
)
@quiet_option
def worker_command(
    storage: str,
    name: str,
    target: Any,
    wait: float,
    retries: int,
    lease_seconds: float,
    heartbeat_seconds: float,
    device: str | None,
    quiet: bool | None,
) -> None:
    """Train population NAME with TARGET until it is done, beside any other workers.

    The population must exist (create it with `populace run ... --workers 0`, or any
    `populace run`); its settings come from the storage. TARGET is module:function or
    path/to/file.py:function. SIGTERM or Ctrl-C stops the worker after releasing its members,
    which other workers take over from their last checkpoints.

    \b
    Example (on each host, or as a SLURM array job):
      populace worker --storage postgresql+psycopg://pbt@db/pbt cifar train.py:train
    """
    log_to_stderr(bool(quiet))
    if heartbeat_seconds >= lease_seconds:
        raise click.BadParameter(
            f"must be shorter than --lease-seconds ({lease_seconds:g}), or leases lapse between "
            "heartbeats",
            param_hint="--heartbeat-seconds",
        )
    population = _open_when_ready(storage, name, wait)
    claim_store(population.storage, population.checkpoints, population.name)
    settings = WorkerSettings(retries, lease_seconds, heartbeat_seconds)
    _stop_on_sigterm()
    _log.info("worker joined population %r in %s", population.name, population.storage.url)
    collector = BackgroundCollector(population.storage, population.checkpoints, KEEP_BEST)
    try:
        with collector:
            work(population, target, settings, device or _default_device())
    except KeyboardInterrupt:
        click.echo("worker stopped; its members are free for the other workers", err=True)
        sys.exit(130)
    collect(population.storage, population.checkpoints, KEEP_BEST)
    if not quiet:
        print_best(population)
