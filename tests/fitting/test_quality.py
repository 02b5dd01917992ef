"""Fractions of cells within tolerance: counted by hand on a small table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fitting.quality import fit_quality, within_tolerance

NAN = np.nan


@pytest.fixture
def tables():
    cells = pd.DataFrame(
        {
            "specimen_id": [1, 2, 3, 4, 5],
            "species": ["mouse", "mouse", "mouse", "human", "human"],
            "adaptation": [0.10, 0.10, 0.10, NAN, 0.05],
            "f_i_curve_slope": [0.20, 0.20, 0.20, 0.10, 0.10],
            "avg_isi": [50.0, 50.0, 50.0, 20.0, 20.0],
            "threshold_i_long_square": [100.0, 100.0, 100.0, 50.0, 50.0],
        }
    )
    results = pd.DataFrame(
        {
            "specimen_id": [1, 2, 3, 4, 5],
            "status": ["fitted", "fitted", "fitted", "fitted", "unfittable"],
            # cell 1 inside every tolerance, near the edges; cell 2 just outside; cell 3 lacks AI
            "model_adaptation": [0.12, 0.1201, NAN, 0.3, NAN],
            "model_f_i_curve_slope": [0.219, 0.2201, 0.185, 0.10, NAN],
            "model_avg_isi": [45.0, 55.01, 50.0, 25.0, NAN],
            "model_threshold_i_long_square": [110.0, 89.99, 100.0, 50.0, NAN],
        }
    )
    return results, cells


def test_every_verdict_by_hand(tables):
    verdicts = within_tolerance(*tables).set_index("specimen_id")
    assert verdicts.adaptation.tolist()[:3] == [True, False, False]
    assert np.isnan(verdicts.adaptation[4])  # no measured AI: not counted
    assert verdicts.adaptation[5] is False  # unfittable: a miss
    assert verdicts.f_i_curve_slope.tolist() == [True, False, True, True, False]
    assert verdicts.avg_isi.tolist() == [True, False, True, False, False]
    assert verdicts.threshold_i_long_square.tolist() == [True, False, True, True, False]


def test_fractions_per_species_and_overall(tables):
    quality = fit_quality(*tables)
    assert quality.loc["mouse", "frac_adaptation"] == pytest.approx(1 / 3)
    assert quality.loc["human", "n_adaptation"] == 1
    assert quality.loc["human", "frac_adaptation"] == 0.0
    assert quality.loc["all", "n_adaptation"] == 4
    assert quality.loc["all", "frac_adaptation"] == 0.25
    assert quality.loc["all", "frac_f_i_curve_slope"] == 0.6
    assert quality.loc["human", "n_fitted"] == 1 and quality.loc["all", "n_cells"] == 5
