"""The objective: each feature's error divided by its documented tolerance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fitting.objective import (
    MISSING_PENALTY,
    feature_errors,
    sweep_count_errors,
    sweep_term_errors,
    total_cost,
)
from fitting.targets import FEATURES, SWEEP_COLUMNS, CellTargets


def _targets(sweeps=None, **changes):
    features = {
        "threshold_i_long_square": 100.0,
        "f_i_curve_slope": 0.2,
        "avg_isi": 50.0,
        "latency": 0.05,
        "adaptation": 0.05,
    } | changes
    return CellTargets(1, features, -70.0, 200.0, 20.0, sweeps)


def test_each_feature_is_divided_by_its_tolerance():
    model = pd.DataFrame(
        {
            "threshold_i_long_square": [110.0],  # +10 pA / 5 pA
            "f_i_curve_slope": [0.21],  # +5 % / 5 %
            "avg_isi": [45.0],  # -10 % / 5 %
            "latency": [0.062],  # +12 ms / (20 % of 50 ms + 2 ms)
            "adaptation": [0.06],  # +0.01 / 0.01
        }
    )
    errors = feature_errors(model, _targets())
    assert errors.iloc[0].to_dict() == pytest.approx(
        {
            "threshold_i_long_square": 2.0,
            "f_i_curve_slope": 1.0,
            "avg_isi": -2.0,
            "latency": 1.0,
            "adaptation": 1.0,
        }
    )
    assert total_cost(errors)[0] == pytest.approx(4 + 1 + 4 + 1 + 1)


def test_features_the_cell_lacks_are_left_out_and_missing_model_features_penalised():
    model = pd.DataFrame({f: [1.0, 1.0] for f in FEATURES})
    model.loc[1, "adaptation"] = math.nan  # a model with fewer than 3 spikes
    errors = feature_errors(model, _targets(avg_isi=math.nan))
    assert "avg_isi" not in errors.columns
    assert errors.adaptation.tolist()[1] == MISSING_PENALTY


def test_sweep_counts_use_two_spikes_or_ten_percent():
    sweeps = pd.DataFrame({"amplitude_pA": [100.0, 200.0], "spike_count": [4.0, 40.0]})
    model = np.array([[6.0, 44.0], [4.0, 40.0]])
    # (6 - 4) / 2 = 1 and (44 - 40) / 4 = 1: squares summed 2; an exact model costs 0
    assert sweep_count_errors(model, _targets(sweeps)) == pytest.approx([math.sqrt(2.0), 0.0])


def test_silent_sweeps_do_not_dilute_a_sweep_count_mismatch():
    # the same mismatch on one spiking sweep costs the same beside 2 or 20 silent sweeps (a
    # mean over sweeps would make it 10 times cheaper with the 20)
    costs = []
    for silent in (2, 20):
        amplitudes = np.concatenate([np.linspace(-100.0, 0.0, silent), [100.0]])
        counts = np.concatenate([np.zeros(silent), [10.0]])
        sweeps = pd.DataFrame({"amplitude_pA": amplitudes, "spike_count": counts})
        model = np.concatenate([np.zeros(silent), [16.0]])[None, :]
        costs.append(sweep_count_errors(model, _targets(sweeps))[0])
    assert costs == pytest.approx([3.0, 3.0])  # (16 - 10) / max(2, 1) = 3


def test_sweep_terms_compare_only_sweeps_where_both_have_a_value():
    sweeps = pd.DataFrame(
        {
            "amplitude_pA": [100.0, 200.0, 300.0],
            "spike_count": [0.0, 1.0, 5.0],
            "latency_s": [math.nan, 0.1, 0.02],
        }
    )
    model = np.array([[0.05, 0.1 + 0.011, 0.02 + 0.003], [math.nan, math.nan, math.nan]])
    # (0.011 / (0.01 + 0.001)) = 1, (0.003 / (0.002 + 0.001)) = 1; the model-only sweep is ignored
    errors = sweep_term_errors("latency_s", model, _targets(sweeps))
    assert errors == pytest.approx([1.0, 0.0])


def test_every_checked_sweep_column_has_a_tolerance():
    from fitting.objective import SWEEP_TERMS

    assert SWEEP_TERMS.keys() == SWEEP_COLUMNS.keys()
