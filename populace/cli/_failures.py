"""Members that failed for good: each one's error in one line, and the exit status that says so.

A run goes on when a member's ``train`` keeps raising (the member is marked failed, the others
train on), so the command that trained it must say so in its exit status: a script or a
scheduler would otherwise take a half-failed population for a success.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from populace.analysis import MemberResult, PopulationData
from populace.cli._common import CommandError

__all__ = ["MEMBERS_FAILED", "MembersFailed", "error_line"]

MEMBERS_FAILED = 3
"""The exit status of ``populace run`` and ``resume`` when members failed; distinct from 1 (an
error stopped the command) and 2 (a usage error)."""


def error_line(traceback: str) -> str:
    """The exception a stored traceback ends with, as one line: ``RuntimeError: boom``.

    That is the line after the last frame (``  File ...`` and its indented source lines);
    further lines of a long message are left out.
    """
    lines = [line for line in traceback.splitlines() if line.strip()]
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    after = frames[-1] + 1 if frames else 0
    while after < len(lines) and lines[after].startswith("    "):
        after += 1
    return lines[after] if after < len(lines) else "(no traceback stored)"


class MembersFailed(CommandError):
    """Members failed for good: printed as one line per member on stderr, exit status 3."""

    exit_code = MEMBERS_FAILED

    def __init__(
        self, population: PopulationData, failed: Sequence[MemberResult], size: int
    ) -> None:
        show = ["populace", "show", "--storage", population.storage.url, population.name]
        member = str(failed[0].id) if len(failed) == 1 else "MEMBER"
        others = "; the others trained on" if len(failed) < size else ""
        lines = [
            f"{len(failed)} of {size} members of population {population.name!r} failed{others}:",
            *(f"  member {m.id}, after step {m.step}: {error_line(m.error or '')}" for m in failed),
            f"see the traceback with: {shlex.join(show)} {member}",
        ]
        super().__init__("\n".join(lines))
