"""Lease owners: who holds a member, and whether that process is known to be dead."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable

from populace.errors import StorageError

__all__ = ["MemberLost", "dead_owners", "new_owner"]


class MemberLost(StorageError):
    """A result was refused because its member moved on without this worker: its lease lapsed
    and another worker took the member over, or the member failed or finished meanwhile."""


def new_owner() -> str:
    """A lease owner id for this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_owners(owners: Iterable[str | None]) -> set[str]:
    """Owners on this host whose process no longer exists (their leases can be taken at once)."""
    host = socket.gethostname()
    dead = set()
    for owner in owners:
        if owner is None:
            continue
        owner_host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if (
            owner_host == host
            and pid.isdigit()
            and int(pid) != os.getpid()
            and not _pid_alive(int(pid))
        ):
            dead.add(owner)
    return dead
