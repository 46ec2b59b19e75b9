"""``populace dashboard``: a live, read-only web page over the populations of a storage."""

from __future__ import annotations

import click

from populace._imports import require
from populace.cli._common import open_storage, storage_option
from populace.runtime import load

__all__ = ["dashboard_command"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command("dashboard")
@storage_option
@click.argument("name", required=False)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any but loopback lets others on the network read the page.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0: any free port, printed).",
)
def dashboard_command(storage: str, name: str | None, host: str, port: int) -> None:
    """Serve a live web page over the populations in a storage, opening on NAME if given.

    The page shows each population's score curves stitched across exploits, its lineage tree,
    any member's hyperparameter schedule, hyperparameters against score over time, decisions
    with the comparison behind them, failed members' tracebacks and workers' heartbeats, and
    follows a run in progress without reloading. The storage is opened read-only: nothing in
    it changes. Needs: pip install 'populace[dashboard]'. Ctrl-C stops it.
    """
    require("starlette", "dashboard")
    require("uvicorn", "dashboard")
    from populace.dashboard import create_app, listen, serve

    store = open_storage(storage, read_only=True)
    try:
        if name is not None:
            load(store, name)  # an unknown name is an error naming the known ones
        sock = listen(host, port)
        app = create_app(store, name)
        if name is not None:
            app.state.dashboard.population(name)  # read it now, not on the first page load
        where = sock.getsockname()
        if host not in LOCAL_HOSTS:
            click.echo(
                f"warning: listening on {host}: anyone who can reach port {where[1]} there can "
                "read every population in this storage (the page has no login)",
                err=True,
            )
        shown = f"[{where[0]}]" if ":" in where[0] else where[0]
        click.echo(f"populace dashboard of {store.url} at http://{shown}:{where[1]}/")
        click.echo("press Ctrl-C to stop it")
        serve(app, sock)
    except KeyboardInterrupt:
        click.echo("dashboard stopped", err=True)
    finally:
        store.close()
