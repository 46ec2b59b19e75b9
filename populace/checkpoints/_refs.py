"""Checkpoint refs: ``sha256:<hex>`` names for blobs, and the checks every store shares."""

from __future__ import annotations

import hashlib
import re

from populace.errors import CheckpointError

__all__ = ["describe", "digest_of", "is_ref", "ref_for", "verify"]

_REF = re.compile(r"sha256:[0-9a-f]{64}")


def ref_for(data: bytes) -> str:
    """Return the ref that addresses ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_ref(value: object) -> bool:
    """Whether ``value`` is a well-formed ref."""
    return isinstance(value, str) and _REF.fullmatch(value) is not None


def digest_of(ref: str) -> str:
    """Return the hex digest inside ``ref``, checking its syntax first."""
    if not is_ref(ref):
        raise CheckpointError(
            f"malformed checkpoint ref {ref!r:.100}: expected 'sha256:' and 64 lowercase hex digits"
        )
    return ref[len("sha256:") :]


def describe(ref: str, context: str) -> str:
    """Name a checkpoint in an error message, with the caller's context when there is one."""
    return f"checkpoint {ref} of {context}" if context else f"checkpoint {ref}"


def verify(ref: str, data: bytes, context: str) -> bytes:
    """Return ``data`` if it hashes to ``ref``."""
    actual = ref_for(data)
    if actual != ref:
        raise CheckpointError(f"{describe(ref, context)} is corrupted: its bytes hash to {actual}")
    return data
