"""Notebooks run in a real Jupyter kernel: a kernelspec on this interpreter, and a run that
leaves no kernel (or worker process it started) behind, however it ends."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from _subprocess import end_session
from jupyter_client.provisioning import LocalProvisioner
from nbclient import NotebookClient

ROOT = Path(__file__).parents[1]
KERNEL = "populace-test-python"


def install_kernel(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernelspec running this interpreter (the venv's, with populace), found before any
    other; connection files in ``folder``, and this checkout importable in the kernel."""
    spec = folder / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(folder / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(folder / "runtime"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def execute(notebook: nbformat.NotebookNode, folder: Path) -> None:
    """Run every cell in a new kernel (:func:`install_kernel`'s) started in ``folder``; however
    it ends (an error, a timeout), the kernel and every process it started are gone after."""
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=120,
        startup_timeout=60,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(folder)}},
    )
    kernels: list[int] = []

    def started(notebook: nbformat.NotebookNode) -> None:
        assert client.km is not None and isinstance(client.km.provisioner, LocalProvisioner)
        assert client.km.provisioner.pid is not None
        kernels.append(client.km.provisioner.pid)

    client.on_notebook_start = started
    try:
        client.execute()
    finally:
        for pid in kernels:  # a kernel leads a session of its own; its workers are in it
            end_session(pid)
