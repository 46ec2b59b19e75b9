"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, run, delete.

PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` system user
(which Debian's ``postgresql`` package creates). The server listens on 127.0.0.1 on a free port,
with its unix socket in the temporary folder, so it never clashes with a system cluster.

The server is started as a child of this process, in its process group and session: ``pg_ctl
start`` would detach it (``setsid``), so that a test run or a benchmark killed with its process
group, or its session, would leave the server running.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

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
        self._server: subprocess.Popen[bytes] | None = None
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

    @property
    def _user(self) -> dict[str, Any]:
        """What makes a child process run as the postgres user, under root."""
        if not self._as_postgres:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self._binaries / tool), *args]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=self.folder, **self._user
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr}\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        log = self.folder / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

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
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": self.folder,
            "max_connections": 200,
        }
        if not self._durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        command = [str(self._binaries / "postgres"), "-D", str(self.data)]
        command += [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]
        with open(self.folder / "server.log", "ab") as log:
            self._server = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.folder,
                **self._user,
            )  # fmt: skip
        self._wait_until_ready(self._server)

    def _wait_until_ready(self, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        # As ``pg_ctl start -w``: the server writes "ready" as the 8th line of its pid file.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"postgres exited ({server.returncode}):\n{self._log_tail()}")
            try:
                lines = (self.data / "postmaster.pid").read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[0] == str(server.pid) and lines[7].strip() == "ready":
                return
            time.sleep(0.02)
        self._end(signal.SIGQUIT)
        raise RuntimeError(f"postgres did not start in {timeout} s:\n{self._log_tail()}")

    def _end(self, how: signal.Signals, timeout: float = 60.0) -> None:
        """Send the server ``how`` and wait until it has exited (SIGKILL after ``timeout``)."""
        server, self._server = self._server, None
        if server is None or server.poll() is not None:
            return
        server.send_signal(how)
        try:
            server.wait(timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    def stop(self) -> None:
        """Stop the server the way an administrator would (``pg_ctl stop -m fast``): connections
        are cut, data is kept."""
        self._end(signal.SIGINT)

    def restart(self) -> None:
        """As ``pg_ctl restart -m fast``: every connection is cut and the server comes back."""
        self.stop()
        self.start()

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
        self._end(signal.SIGQUIT)  # an immediate shutdown: nothing is kept
        self._end_unknown_server()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _end_unknown_server(self) -> None:
        # A server started while this process was interrupted (a benchmark sent SIGTERM inside
        # start()) runs without a handle here; its pid file names it.
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            return
        deadline = time.monotonic() + 60
        while _runs(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _runs(pid):
            os.kill(pid, signal.SIGKILL)


def _runs(pid: int) -> bool:
    """Whether ``pid`` runs; a child of ours that exited is reaped."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:  # not our child
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")
