"""Where a member trains."""

from __future__ import annotations

import torch

from populace.runtime._member import Member

__all__ = ["device_for"]


def device_for(member: Member) -> torch.device:
    """Return the device an executor placed ``member`` on, or the CPU when it placed none."""
    return torch.device("cpu" if member.device is None else member.device)
