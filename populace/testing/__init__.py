"""Contract test suites for the plug-in points: check a backend or strategy of your own.

Each suite is a class of pytest tests. Subclass it in a test module and provide the fixture it
asks for; pytest then runs every test of the contract against your implementation, as populace's
own tests run them against every built-in one. Requires pytest (nothing in populace imports this
package, so populace itself does not)::

    import pytest
    from populace.storage import SQLStorage
    from populace.testing import StorageSuite

    class TestMyStorage(StorageSuite):
        @pytest.fixture
        def storage(self):
            backend = SQLStorage("memory")  # a new, empty storage for each test
            yield backend
            backend.close()

=====================  =============  ==========================================================
Suite                  Fixture        Contract
=====================  =============  ==========================================================
StorageSuite           ``storage``    :class:`~populace.storage.BaseStorage` (new and empty)
CheckpointStoreSuite   ``store``      :class:`~populace.checkpoints.BaseCheckpointStore` (empty)
ExploitSuite           ``exploit``    :class:`~populace.controller.BaseExploit`
ExploreSuite           ``explore``    :class:`~populace.controller.BaseExplore`
ExecutorSuite          ``executor``   :class:`~populace.executors.BaseExecutor` (``retries=1``)
=====================  =============  ==========================================================

Each lives in its own module (:mod:`.storage`, :mod:`.checkpoints`, :mod:`.strategies`,
:mod:`.executors`), with the helpers and sample data it uses.
"""

from populace.testing.checkpoints import CheckpointStoreSuite
from populace.testing.executors import ExecutorSuite
from populace.testing.storage import StorageSuite
from populace.testing.strategies import ExploitSuite, ExploreSuite

__all__ = ["CheckpointStoreSuite", "ExecutorSuite", "ExploitSuite", "ExploreSuite", "StorageSuite"]
