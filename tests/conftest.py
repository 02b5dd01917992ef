"""Shared test fixtures: the real Allen data folder beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLEN_DATA = ROOT.parent / "shared" / "data" / "allen"


@pytest.fixture(scope="session")
def allen_dir() -> Path:
    """The shared Allen Cell Types tables; skips the test when the folder is absent."""
    if not (ALLEN_DATA / "glif_teeter2018_params_summary.csv").is_file():
        pytest.skip(f"real Allen data not found at {ALLEN_DATA} (see shared/data/allen)")
    return ALLEN_DATA
