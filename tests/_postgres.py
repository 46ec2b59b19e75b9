"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, run, delete.

PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` system user
(which Debian's ``postgresql`` package creates). The server listens on 127.0.0.1 on a free port,
with its unix socket in the temporary folder, so it never clashes with a system cluster.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_binaries"]

USER = "populace"


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: from PATH, else the newest /usr/lib/postgresql/*."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    return next((Path(f) for f in folders if Path(f, "initdb").exists()), None)


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A PostgreSQL server of its own in a temporary folder; ``url`` reaches it by password.

    Tests run it without fsync (nothing outlives them); ``durable=True`` keeps PostgreSQL's
    default durability, for benchmarks.
    """

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        self._binaries = binaries
        self._durable = durable
        self.folder = Path(tempfile.mkdtemp(prefix="populace-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.password = secrets.token_hex(8)
        self.url = f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{USER}"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            # The postgres user must own the folder it writes its data, socket and log into.
            shutil.chown(self.folder, "postgres", "postgres")
        try:
            self._initdb()
            self.start()
            self._create_user()
        except BaseException:
            self.destroy()
            raise

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._binaries / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr}\n{tail}")

    def _initdb(self) -> None:
        # The superuser is reached only through the unix socket in our folder; TCP needs a password.
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder} -c max_connections=200"
        )
        if not self._durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "start", "-w", "-t", "60", *self._log, "-o", options)

    def stop(self) -> None:
        """Stop the server the way an administrator would: connections are cut, data is kept."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut and the server comes back."""
        self._run("pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", *self._log)

    @property
    def _log(self) -> tuple[str, ...]:
        # Without a log file the server would keep pg_ctl's output pipes open, and run() waits.
        return ("-D", str(self.data), "-l", str(self.folder / "server.log"))

    def _create_user(self) -> None:
        # An ordinary user that may create databases (one per test), as a deployment would have.
        import psycopg

        with psycopg.connect(
            host=str(self.folder), port=self.port, user="postgres", dbname="postgres"
        ) as admin:
            admin.autocommit = True
            admin.execute(f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{self.password}'")
            admin.execute(f"CREATE DATABASE {USER} OWNER {USER}")

    def destroy(self) -> None:
        """Stop the server, if it runs, and delete everything it wrote."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))
        shutil.rmtree(self.folder, ignore_errors=True)
