"""Fixtures for the analysis tests: ipfx's feature extractor as the reference."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT

REFERENCE = ROOT / ".cache" / "reference"


@pytest.fixture(scope="session")
def ipfx():
    """ipfx 2.1.2's feature modules, extracted unchanged by `make test`."""
    if not (REFERENCE / "ipfx" / "SOURCE.txt").is_file():
        pytest.skip(
            f"ipfx reference code not found in {REFERENCE}; `make test` fetches it "
            "(python tests/reference/fetch_reference_code.py .cache/reference)"
        )
    sys.path.insert(0, str(REFERENCE))
    import ipfx.spike_train_features
    import ipfx.stimulus_protocol_analysis

    return ipfx
