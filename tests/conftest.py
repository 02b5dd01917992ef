"""Shared test fixtures (the real Allen data folder beside the project) and test order."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ahp_models.backends.binary_cache import CACHE_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
ALLEN_DATA = ROOT.parent / "shared" / "data" / "allen"
#: The binary cache folder this process created (`pytest_configure`).
_BINARY_CACHE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Share compiled C++ binaries between the processes of this test session.

    Worker processes (``-n auto``) and the commands tests start compile the same projects again;
    with ``AHP_BINARY_CACHE`` set (`ahp_models.backends.binary_cache`) a project whose sources,
    flags and compiler equal one compiled before copies its binary. The main process creates the
    folder before starting workers (they and every subprocess inherit the variable) and removes
    it at the end. A value already set is kept (empty: no cache).
    """
    if CACHE_VARIABLE in os.environ or hasattr(config, "workerinput"):
        return
    folder = tempfile.mkdtemp(prefix="ahp_test_binaries_")
    os.environ[CACHE_VARIABLE] = folder
    config.stash[_BINARY_CACHE] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's binary cache (only in the process that created it)."""
    folder = config.stash.get(_BINARY_CACHE, None)
    if folder is not None:
        os.environ.pop(CACHE_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def allen_dir() -> Path:
    """The shared Allen Cell Types tables; skips the test when the folder is absent.

    CI sets ``AHP_REQUIRE_ALLEN_DATA=1`` (it always has the folder), so there a missing folder
    fails the tests instead of quietly skipping the real-data checks.
    """
    if not (ALLEN_DATA / "glif_teeter2018_params_summary.csv").is_file():
        message = f"real Allen data not found at {ALLEN_DATA} (see shared/data/allen)"
        if os.environ.get("AHP_REQUIRE_ALLEN_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return ALLEN_DATA


#: Test files that take minutes run first, so that with several workers (``make test``) none is
#: left alone with one of them at the end.
LONGEST_FIRST = (
    "tests/test_readme.py",
    "tests/ahp/test_pipeline.py",
    "tests/fitting/test_batch.py",
    "tests/fitting/test_recovery.py",
    "tests/fitting/test_distributed.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the `LONGEST_FIRST` files to the front (the rest keep their order)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
