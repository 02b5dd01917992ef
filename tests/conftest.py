"""Shared test fixtures (the real Allen data folder beside the project) and test order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLEN_DATA = ROOT.parent / "shared" / "data" / "allen"


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
