"""Running a storage operation again through transient database errors.

A database server may restart, drop a connection or pick a transaction as a deadlock victim while
workers run. Each storage operation is one transaction, so running it again is safe once it is
known whether the failed attempt took effect; see ``SQLStorage`` for writes that cannot be repeated.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Collection
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa

from populace._secrets import mask
from populace.errors import StorageError

__all__ = ["Retry", "is_transient", "retried", "retried_unless"]

_log = logging.getLogger("populace")

T = TypeVar("T")
P = ParamSpec("P")

# Serialization failure, deadlock, server shutting down or starting, too many connections.
_TRANSIENT_STATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300"})
# Refusals from a server that is up, which waiting does not cure (libpq reports no SQLSTATE).
_REFUSALS = ("authentication failed", "does not exist", "no pg_hba.conf entry")
_FIRST_DELAY, _MAX_DELAY = 0.1, 5.0


def is_transient(exc: BaseException) -> bool:
    """Whether running the same transaction again may succeed (a client-server database error)."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    if state is None:  # the server could not be reached, or refused the connection
        return not any(refusal in str(exc.orig) for refusal in _REFUSALS)
    return state in _TRANSIENT_STATES or state.startswith("08")


class Retry:
    """Runs operations until they succeed, fail for good, or ``seconds`` have passed.

    Waits 0.1 s after the first transient error, doubling up to 5 s between attempts. Disabled
    (``enabled=False``, for SQLite, which has no connection to lose) it lets every error through.
    ``url`` is the masked URL; ``secrets`` are masked in the driver's messages, which may quote
    them.
    """

    def __init__(
        self, url: str, seconds: float, *, enabled: bool, secrets: Collection[str] = ()
    ) -> None:
        self.url = url
        self.seconds = max(0.0, float(seconds))
        self._enabled = enabled
        self._secrets = secrets

    def run(self, operation: Callable[[bool], T], failure: str) -> T:
        """Return ``operation(retried)``, where ``retried`` says an earlier attempt failed.

        Raises:
            StorageError: ``failure``, the masked URL and the reason, once the time is up.
        """
        deadline = time.monotonic() + self.seconds
        delay, retried = _FIRST_DELAY, False
        while True:
            try:
                return operation(retried)
            except sa.exc.DBAPIError as exc:
                if not (self._enabled and is_transient(exc)):
                    raise
                reason, left = self.reason(exc), deadline - time.monotonic()
                if left <= 0:
                    after = f" (retried for {self.seconds:g} s)" if self.seconds else ""
                    raise StorageError(f"{failure} {self.url}{after}: {reason}") from None
                _log.warning("storage %s: %s; retrying in %.1f s", self.url, reason, delay)
                time.sleep(min(delay, left))
                delay, retried = min(2 * delay, _MAX_DELAY), True

    def reason(self, exc: BaseException) -> str:
        """The first line of the driver's message, with every secret masked."""
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return mask(text[0] if text else type(exc).__name__, self._secrets)


class _Retrying(Protocol):
    _retry: Retry


S = TypeVar("S", bound=_Retrying)


def retried(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Decorate a method to run again through transient errors, as its object's ``_retry`` allows.

    For a method that may be repeated as is: a read, or a write whose second run changes nothing.
    """
    return _retrying(method, None)


def retried_unless(
    applied: Callable[Concatenate[S, P], T | None],
) -> Callable[[Callable[Concatenate[S, P], T]], Callable[Concatenate[S, P], T]]:
    """Like ``retried``, for a write that must not run twice.

    Its acknowledgement may have been lost after it committed: before running it again,
    ``applied`` (same arguments) looks for its effect and returns its result, or None if absent.
    """
    return lambda method: _retrying(method, applied)


def _retrying(
    method: Callable[Concatenate[S, P], T],
    applied: Callable[Concatenate[S, P], T | None] | None,
) -> Callable[Concatenate[S, P], T]:
    @functools.wraps(method)
    def run(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        def attempt(retried: bool) -> T:
            if retried and applied is not None:
                done = applied(self, *args, **kwargs)
                if done is not None:
                    return done
            return method(self, *args, **kwargs)

        return self._retry.run(attempt, f"{method.__name__} failed on storage")

    return run
