"""Helpers of the dashboard tests: a ``populace dashboard`` process, screenshots under
``build/screenshots/``, waiting for a condition."""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _subprocess import started

SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
URL_LINE = re.compile(r"at (http://\S+/)")


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as ``build/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextlib.contextmanager
def dashboard(
    url: str, *args: str, cwd: Path, timeout: float = 60
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``populace dashboard --storage URL ARGS --port 0`` running; yields its address and
    process, ended with everything it started on the way out."""
    command = [sys.executable, "-m", "populace.cli", "dashboard", "--storage", url, "--port", "0"]
    pipe = subprocess.PIPE
    with started([*command, *args], cwd=cwd, stdout=pipe, stderr=pipe) as process:
        assert process.stdout is not None
        if not select.select([process.stdout], [], [], timeout)[0]:
            raise AssertionError(f"the dashboard printed nothing in {timeout} s")
        line = process.stdout.readline()
        found = URL_LINE.search(line)
        if found is None:
            process.kill()
            raise AssertionError(f"no address printed: {line!r} {process.communicate()[1]}")
        yield found[1], process


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def access_modes(pid: int, names: set[str]) -> list[int]:
    """How ``pid`` holds open each file named in ``names`` now: ``os.O_RDONLY``, ``O_WRONLY`` or
    ``O_RDWR``, once per descriptor (from /proc, Linux)."""
    modes = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            if Path(os.readlink(fd)).name in names:
                flags = (Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().split()[3]
                modes.append(int(flags, 8) & os.O_ACCMODE)
    return modes


class OpenModes:
    """Samples, on a thread, how process ``pid`` holds the files in ``names`` open, until the
    block ends: ``seen`` counts samples that found one open, ``writable`` those held for
    writing."""

    def __init__(self, pid: int, names: set[str]) -> None:
        self.pid, self.names = pid, names
        self.seen = 0
        self.writable: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> OpenModes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            with contextlib.suppress(OSError):  # the process ended
                modes = access_modes(self.pid, self.names)
                self.seen += bool(modes)
                self.writable += [m for m in modes if m != os.O_RDONLY]
