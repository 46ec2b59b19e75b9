"""A task repeated in a background thread for as long as a block runs: heartbeats, garbage
collection, progress."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from populace.errors import PopulaceError

__all__ = ["Periodic"]

_log = logging.getLogger("populace")


class Periodic:
    """Calls ``action`` every ``every`` seconds in a daemon thread, from entering the block to
    leaving it, which waits for a call in progress to end unless ``wait`` is false.

    A :class:`~populace.errors.PopulaceError` (the storage unreachable for a moment) does not
    end the thread: the next call comes on time, and ``failure``, if given, is logged with it.
    """

    def __init__(
        self,
        action: Callable[[], object],
        every: float,
        name: str,
        failure: str | None = None,
        *,
        wait: bool = True,
    ) -> None:
        self._action = action
        self._every = every
        self._failure = failure
        self._wait = wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._action()
            except PopulaceError:
                if self._failure is not None:
                    _log.warning("%s", self._failure, exc_info=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the calls (waiting for one in progress to end, if ``wait``)."""
        self._stop.set()
        if self._wait:
            self._thread.join()

    def __enter__(self) -> Periodic:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
