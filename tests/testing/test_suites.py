"""The suites as a user runs them: a test module of one's own, subclassing one and providing its
fixture, in a pytest run of its own. A sound implementation passes every test; a broken one
fails the tests of the promise it breaks, and only those."""

from __future__ import annotations

import pytest

import populace.testing  # noqa: F401  # loaded once: the runs below share this process's modules

pytest_plugins = ["pytester"]

STORAGE = """
import pytest
from populace.storage import SQLStorage
from populace.testing import StorageSuite

class TestInMemorySQLite(StorageSuite):
    @pytest.fixture
    def storage(self):
        backend = SQLStorage("sqlite://")
        yield backend
        backend.close()
"""

STORES = """
import pytest
from populace.checkpoints import LocalCheckpointStore
from populace.testing import CheckpointStoreSuite

class ForgetfulStore(LocalCheckpointStore):
    def delete(self, ref, *, unless_put_after=None):
        self.exists(ref)  # refuses a malformed ref, then forgets to delete
        return True

class TestLocal(CheckpointStoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return LocalCheckpointStore(tmp_path / "store")

class TestForgetful(CheckpointStoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return ForgetfulStore(tmp_path / "store")
"""

STRATEGIES = """
import pytest
from populace.controller import PerturbExplore, TournamentExploit
from populace.testing import ExploitSuite, ExploreSuite

class SelfishExploit(TournamentExploit):
    def select(self, me, ranked, rng):
        return me, "copies itself"

class GlobalRandomExplore(PerturbExplore):
    def explore(self, params, space, rng):
        import numpy as np
        return super().explore(params, space, np.random.default_rng())

class TestTournament(ExploitSuite):
    @pytest.fixture
    def exploit(self):
        return TournamentExploit()

class TestSelfish(ExploitSuite):
    seeds = 30

    @pytest.fixture
    def exploit(self):
        return SelfishExploit()

class TestPerturb(ExploreSuite):
    @pytest.fixture
    def explore(self):
        return PerturbExplore(factors=[0.5, 2.0])

class TestGlobalRandom(ExploreSuite):
    seeds = 30

    @pytest.fixture
    def explore(self):
        return GlobalRandomExplore()
"""


def outcomes(pytester: pytest.Pytester, source: str) -> dict[str, str]:
    """Run ``source`` as a test module of its own and return each test's outcome by name."""
    pytester.makepyfile(test_user=source)
    reports = pytester.inline_run("-p", "no:cacheprovider").getreports("pytest_runtest_logreport")
    return {r.nodeid.split("::", 1)[1]: r.outcome for r in reports if r.when == "call"}


def test_a_storage_of_ones_own_runs_the_whole_contract(pytester: pytest.Pytester) -> None:
    results = outcomes(pytester, STORAGE)
    assert len(results) >= 30
    assert set(results.values()) == {"passed"}


def test_a_store_that_does_not_delete_fails_where_it_matters(
    pytester: pytest.Pytester,
) -> None:
    results = outcomes(pytester, STORES)
    failed = {name for name, outcome in results.items() if outcome == "failed"}
    assert failed == {
        "TestForgetful::test_delete_removes_a_blob_and_ignores_a_missing_one",
        "TestForgetful::test_a_collector_spares_a_blob_put_after_its_cutoff",
        "TestForgetful::test_collecting_keeps_the_files_of_kept_directory_checkpoints",
    }
    assert {n.split("::")[0] for n in results} == {"TestLocal", "TestForgetful"}


def test_strategies_that_break_their_contract_fail(pytester: pytest.Pytester) -> None:
    results = outcomes(pytester, STRATEGIES)
    failed = {name for name, outcome in results.items() if outcome == "failed"}
    assert failed == {
        "TestSelfish::test_a_parent_is_another_ranked_member_with_a_checkpoint",
        "TestSelfish::test_no_parent_when_no_other_member_has_a_checkpoint",
        "TestGlobalRandom::test_explore_is_pure",
        "TestGlobalRandom::test_explore_in_a_population_stays_in_its_dimensions_and_is_pure",
    }
    assert len(results) > len(failed) and set(results.values()) == {"passed", "failed"}
