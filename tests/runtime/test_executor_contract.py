"""Every executor passes the executor contract suite shipped in ``populace.testing``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from populace.executors import BaseExecutor, ProcessesExecutor, RayExecutor, SerialExecutor
from populace.testing import ExecutorSuite


class TestSerialExecutor(ExecutorSuite):
    @pytest.fixture
    def executor(self) -> BaseExecutor:
        return SerialExecutor(retries=1)


@pytest.mark.slow
class TestProcessesExecutor(ExecutorSuite):
    @pytest.fixture
    def executor(self) -> BaseExecutor:
        return ProcessesExecutor(2, retries=1)


@pytest.fixture(scope="class")
def local_ray() -> Iterator[None]:
    """One local Ray instance of two CPUs for the class: it takes seconds to start."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.mark.slow
class TestRayExecutor(ExecutorSuite):
    @pytest.fixture
    def executor(self, local_ray: None) -> BaseExecutor:
        return RayExecutor(2, retries=1)
