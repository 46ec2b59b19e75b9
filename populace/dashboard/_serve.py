"""Serving the dashboard: the port taken before anything starts, uvicorn quiet but for errors."""

from __future__ import annotations

import socket

from starlette.applications import Starlette

from populace.errors import PopulaceError

__all__ = ["PortError", "listen", "serve"]


class PortError(PopulaceError):
    """The dashboard cannot listen where it was asked to: the port is taken, or the host is not
    an address of this machine."""


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``, so that a port in use is one clear error here
    rather than in uvicorn's log.

    Raises:
        PortError: the host does not resolve, or the port is in use or not allowed.
    """
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise PortError(f"cannot listen on host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port left in TIME_WAIT is free
    try:
        sock.bind(address)
        sock.listen(128)  # a page opened before uvicorn runs waits in the backlog
    except OSError as exc:
        sock.close()
        raise PortError(
            f"cannot listen on {host}:{port}: {exc.strerror} (choose another port with --port)"
        ) from None
    return sock


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl-C (a KeyboardInterrupt once uvicorn has shut down)."""
    import uvicorn

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    uvicorn.Server(config).run(sockets=[sock])
