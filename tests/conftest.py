"""Shared test fixtures: the real Allen data folder beside the project."""

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
