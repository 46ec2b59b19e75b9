"""An S3 server for the object-store tests: moto's S3 implementation over HTTP, in a thread."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """The storage options that reach a local S3 server holding an empty bucket ``checkpoints``.

    s3fs talks to it exactly as to AWS (HTTP, signed requests, multipart uploads), so the store
    runs its object-store code path for real.
    """
    server_module = pytest.importorskip("moto.server", reason="needs moto[server]")
    s3fs = pytest.importorskip("s3fs", reason="needs s3fs")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    s3fs.S3FileSystem(**options).mkdir("checkpoints")
    yield options
    server.stop()


@pytest.fixture
def s3_url(s3_server: dict[str, Any]) -> str:
    """A fresh prefix in the test bucket."""
    return f"s3://checkpoints/{uuid.uuid4().hex}"
