"""Processes started by tests end with the test, everything they started included.

``subprocess.run(..., timeout=...)`` kills only its direct child on timeout: a benchmark's
driver, its worker processes and a database server it started would outlive the test suite.
Here every command runs as the leader of a session of its own, and however the call ends
(normally, on timeout, on an exception, or when this process is sent SIGTERM) every process of
that session gets SIGTERM, then SIGKILL after a grace period. A process group started inside the
session (a benchmark's driver and its workers) stays in the session, so it ends too. Only a
process that starts a session of its own (``setsid``) escapes: ``pg_ctl start`` does, which is
why ``tests/_postgres.py`` starts the server itself; PostgreSQL's own helper processes do too,
and end with their server. If this process dies first, the direct child gets SIGTERM (Linux's
parent-death signal).

A command starts with SIGINT at its default: Python keeps SIGINT ignored in a child whose parent
ignored it (a suite started in the background of a script), and a test that sends a driver Ctrl-C
(``os.killpg(process.pid, signal.SIGINT)``, the session's leader leads its process group too)
means the driver to get ``KeyboardInterrupt``, as it would in a terminal.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Failed",
    "end_session",
    "process_tree",
    "run",
    "session_processes",
    "started",
    "still_alive",
]

GRACE_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


class Failed(subprocess.CalledProcessError):
    """A command run with ``check=True`` failed; the message ends with what it wrote on stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stderr}"


class _Terminated(BaseException):
    """This process was sent SIGTERM while a command ran."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn a SIGTERM into an exception while the body runs (so the sessions it started are
    ended on the way out), then deliver it as it would have been."""
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or previous in (
        None,  # a handler installed by C code: leave it alone
        signal.SIG_IGN,
        _raise_terminated,  # an enclosing call's
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _in_child() -> None:
    # Runs in the child between fork and exec: two system calls, nothing that takes a lock.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # die with the parent
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C works even if the suite ignores it


def _stats() -> dict[int, list[str]]:
    """Every process's /proc stat fields after its name: state, parent, group, session, ...
    (field 3 of proc(5) onwards)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it exited meanwhile
                continue
            found[int(entry.name)] = stat[stat.rindex(")") + 2 :].split()
    return found


def _live(fields: list[str]) -> bool:
    return fields[0] not in ("Z", "X")  # a zombie has exited: it only waits to be reaped


def session_processes(session: int) -> list[int]:
    """The live processes of ``session``."""
    return [pid for pid, f in _stats().items() if int(f[3]) == session and _live(f)]


def process_tree(root: int) -> set[tuple[int, str]]:
    """``root`` and its live descendants, as (pid, start time): a reused pid does not match.

    Descendants that have since been orphaned (their parent died) are not found: take the tree
    while it is whole, and check later with :func:`still_alive`.
    """
    stats = _stats()
    tree, frontier = set(), {root}
    while frontier:
        tree |= {(pid, stats[pid][19]) for pid in frontier if pid in stats and _live(stats[pid])}
        frontier = {pid for pid, f in stats.items() if int(f[1]) in frontier}
    return tree


def still_alive(processes: set[tuple[int, str]]) -> list[int]:
    """Those of ``processes`` (from :func:`process_tree`) that run yet."""
    stats = _stats()
    return sorted(
        pid
        for pid, started in processes
        if pid in stats and stats[pid][19] == started and _live(stats[pid])
    )


def end_session(session: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every process of ``session``, SIGKILL those left after ``grace`` seconds.

    Processes started meanwhile (a driver restarting a worker) are signalled as they appear.

    Raises:
        RuntimeError: if a process of the session is still alive after SIGKILL.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        signalled: set[int] = set()
        deadline = time.monotonic() + grace
        while (left := session_processes(session)) and time.monotonic() < deadline:
            for pid in (set(left) - signalled) if sig == signal.SIGTERM else left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            signalled.update(left)
            time.sleep(0.05)
        if not left:
            return
    raise RuntimeError(f"processes {left} of session {session} outlived SIGKILL")


def _popen(command: Sequence[str], **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(command),
        text=True,
        start_new_session=True,
        preexec_fn=_in_child,
        **options,
    )


@contextlib.contextmanager
def started(
    command: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    grace: float = GRACE_SECONDS,
) -> Iterator[subprocess.Popen[str]]:
    """Start ``command`` in a session of its own; on leaving, end the session and reap it.

    Args:
        command: The program and its arguments.
        cwd: The working directory.
        env: The environment (default: this process's).
        stdin: ``subprocess.DEVNULL`` for an empty input, else inherited.
        stdout: ``subprocess.PIPE`` to read the output (text), else inherited.
        stderr: As ``stdout``; ``subprocess.STDOUT`` merges it into stdout.
        grace: Seconds between SIGTERM and SIGKILL.
    """
    with _sigterm_raises():
        process = _popen(command, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr)
        try:
            yield process
        finally:
            end_session(process.pid, grace)
            _reap(process)


def _reap(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Whatever output is left, once the session has ended; then close the pipes."""
    pipes = [pipe for pipe in (process.stdout, process.stderr) if pipe is not None]
    if process.returncode is not None and all(pipe.closed for pipe in pipes):
        return "", ""  # reaped already
    try:
        out, err = process.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError):  # a pipe held by a process that escaped
        process.kill()
        out, err = "", ""
    finally:
        for pipe in pipes:
            pipe.close()
        process.wait()
    return out or "", err or ""


def run(
    command: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = None,
    check: bool = False,
    grace: float = GRACE_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(command, capture_output=True, text=True, timeout=timeout)``, except that
    every process the command started is ended too, whatever happens.

    Args:
        command: The program and its arguments.
        timeout: Seconds the command may run.
        cwd: The working directory.
        env: The environment (default: this process's).
        stdin: ``subprocess.DEVNULL`` for an empty input, else inherited.
        check: Raise if the command fails.
        grace: Seconds between SIGTERM and SIGKILL when the session is ended.

    Returns:
        The exit status and the output (stdout and stderr apart).

    Raises:
        subprocess.TimeoutExpired: after ``timeout`` seconds (once the session has ended),
            with the output so far in ``output`` and ``stderr``.
        Failed: a ``subprocess.CalledProcessError``, if ``check`` and the command failed.
    """
    pipe = subprocess.PIPE
    with started(
        command, cwd=cwd, env=env, stdin=stdin, stdout=pipe, stderr=pipe, grace=grace
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            end_session(process.pid, grace)
            out, err = _reap(process)
            raise subprocess.TimeoutExpired(command, timeout, out, err) from None
    if check and process.returncode != 0:
        raise Failed(process.returncode, list(command), out, err)
    return subprocess.CompletedProcess(list(command), process.returncode, out, err)
