"""Synthetic cells shared by the fitting tests (recorded once per session)."""

from __future__ import annotations

import pytest

from fitting.synthetic import draw_lif_ahp_cells, record_cells

RECOVERY_SEED = 2026


@pytest.fixture(scope="session")
def recovery_cells():
    """20 LIF-AHP cells with known parameters, recorded on Allen's protocol."""
    params = draw_lif_ahp_cells(20, RECOVERY_SEED)
    return record_cells(params, list(range(1, 21)))
