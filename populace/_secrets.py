"""Secrets written in URLs: which parts are secret, and masking them in everything shown.

A storage or checkpoint-store URL may carry a password in its user info
(``postgresql+psycopg://user:pw@host/db``) or in its query string (``?password=pw``,
``?sslpassword=pw``, ``?token=...``). Every error, log line and table shows URLs through
:func:`mask_url`, and every driver or filesystem message through :func:`mask`, since drivers may
quote what they were given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

__all__ = ["MASK", "is_secret_name", "mask", "mask_url", "url_secrets", "without_secrets"]

MASK = "***"
# Query parameters named like these hold secrets: password, passwd, pwd, sslpassword, passfile,
# secret, client_secret, token, sas_token, key, api_key, access_key, credential(s), auth, sig.
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|credential|auth|sig", re.IGNORECASE)
# The password of every URL in a chain (fsspec's "simplecache::s3://key:secret@bucket/prefix").
_PASSWORD = re.compile(r"(://[^/@:]*):([^/@]*)@")
_QUERY = re.compile(r"([?&])([^=&#?]+)=([^&#]*)")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter called ``name`` holds a secret."""
    return _SECRET_NAME.search(unquote_plus(name)) is not None


def url_secrets(url: str) -> set[str]:
    """The secrets written in ``url``: user-info passwords and the values of query parameters
    named like secrets, each as written and percent-decoded (a driver quotes the decoded one)."""
    written = {password for _, password in _PASSWORD.findall(url)}
    written |= {value for _, name, value in _QUERY.findall(url) if is_secret_name(name)}
    found = written | {unquote(s) for s in written} | {unquote_plus(s) for s in written}
    return {secret for secret in found if secret and secret != MASK}


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    # Longest first: a secret that contains a shorter one is replaced whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_url(url: str) -> str:
    """``url`` with its passwords and secret query values replaced by ``***``: the only form of
    a URL that may be shown."""
    url = _PASSWORD.sub(rf"\1:{MASK}@", url)
    return _QUERY.sub(
        lambda m: f"{m[1]}{m[2]}={MASK}" if is_secret_name(m[2]) else m[0],
        url,
    )


def without_secrets(url: str) -> str:
    """``url`` with its passwords and secret query parameters left out: the form that may be
    stored, so that credentials come from each process's environment instead."""
    url = _PASSWORD.sub(r"\1@", url)
    url = _QUERY.sub(lambda m: m[1] if is_secret_name(m[2]) else m[0], url)
    return re.sub(r"[?&]+(?=[&#]|$)", "", url.replace("?&", "?"))
