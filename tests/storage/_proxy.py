"""A TCP proxy in front of a database server that can lose the answer to a COMMIT.

That is what a network failure or a server crash at the wrong moment does: the transaction is
committed, but the client never hears so and sees its connection drop.
"""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["CommitLosingProxy"]


class CommitLosingProxy:
    """Forwards 127.0.0.1:``port`` to the server; ``lose_next_commit`` arms one loss."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._armed = threading.Event()
        self._sockets: list[socket.socket] = []
        self.lost = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_commit(self) -> None:
        """Cut the connection that next sends COMMIT, right after the server answers it."""
        self._armed.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            self._sockets += [client, server]
            committing = threading.Event()
            for up in (True, False):
                pump = threading.Thread(
                    target=self._pump, args=(client, server, committing, up), daemon=True
                )
                pump.start()

    def _pump(
        self, client: socket.socket, server: socket.socket, committing: threading.Event, up: bool
    ) -> None:
        source, target = (client, server) if up else (server, client)
        while data := _receive(source):
            # psycopg commits with a simple query message: 'Q', length, "COMMIT\0".
            if up and b"COMMIT\x00" in data and self._armed.is_set():
                self._armed.clear()
                committing.set()
            elif not up and committing.is_set():  # committed, and the client will never know
                self.lost += 1
                break
            target.sendall(data)
        _close(client, server)

    def __enter__(self) -> CommitLosingProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._listener.close()
        _close(*self._sockets)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
