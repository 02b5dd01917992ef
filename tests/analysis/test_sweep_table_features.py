"""Allen's cell features from a sweep table equal those from the sweeps' spike trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, pA, second

from analysis.long_square import RULES, features_of_sweep_table, long_square_features
from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import sweep_features

START, END = 1.02, 2.02


def random_cell(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Amplitudes (10 pA apart in random order, some repeated, some negative) and spike trains
    that fire more for larger steps, some with spikes outside the step window."""
    steps = rng.permutation(rng.integers(4, 16))
    amplitudes = rng.choice(np.arange(-110.0, 200.0, 10.0)) + 10.0 * np.r_[steps, steps[:2]]
    trains = []
    for amplitude in amplitudes:
        count = rng.poisson(max(amplitude, 0.0) / 12.0) if rng.random() > 0.05 else 1
        inside = rng.uniform(START, END, count)
        outside = rng.uniform(0.5, START, rng.integers(0, 2))  # spontaneous, before the step
        trains.append(np.unique(np.round(np.concatenate([outside, inside]), 5)))
    return amplitudes, trains


@pytest.mark.parametrize("rules", RULES)
def test_a_sweep_table_gives_the_features_of_its_spike_trains(rules):
    rng = np.random.default_rng(31)
    heroes = 0
    for _ in range(60):
        amplitudes, trains = random_cell(rng)
        expected = long_square_features(
            amplitudes * pA, [t * second for t in trains], START * second, END * second, rules=rules
        )
        rows = [sweep_features(t * second, START * second, END * second) for t in trains]
        table = pd.DataFrame(rows).drop(columns="avg_rate_Hz").assign(amplitude_pA=amplitudes)
        ours = features_of_sweep_table(table, (END - START) * second, rules=rules)
        pd.testing.assert_series_equal(ours.cell, expected.cell, rtol=1e-12, atol=0)
        assert (ours.rheobase_sweep, ours.hero_sweep) == (
            expected.rheobase_sweep,
            expected.hero_sweep,
        )
        heroes += expected.hero_sweep >= 0
    assert heroes > 30  # the hero features were compared, not only NaN


def test_counts_alone_give_rheobase_and_slope_and_no_hero_features():
    table = pd.DataFrame(
        {"amplitude_pA": [-50.0, 50.0, 100.0, 150.0], "spike_count": [0, 0, 4, 10]}
    )
    features = features_of_sweep_table(table, 1 * second)
    # least squares of rate against amplitude over the two spiking sweeps: 6 Hz per 50 pA
    assert features.cell.threshold_i_long_square == 100.0
    assert features.cell.f_i_curve_slope == pytest.approx(0.12, rel=1e-12)
    assert features.hero_sweep == 3  # 150 pA lies in rheobase + (39, 61) pA
    assert features.cell[["adaptation", "avg_isi", "latency"]].isna().all()
    # each sweep's own width: a 0.5 s step doubles the rate
    halved = features_of_sweep_table(table, [1.0, 1.0, 0.5, 0.5] * second)
    assert halved.cell.f_i_curve_slope == pytest.approx(0.24, rel=1e-12)


@pytest.mark.parametrize(
    ("table", "width", "message"),
    [
        ({"amplitude_pA": [100.0]}, 1 * second, r"lacks column\(s\) \['spike_count'\]"),
        ({"amplitude_pA": [100.0], "spike_count": [-1]}, 1 * second, "whole numbers >= 0"),
        ({"amplitude_pA": [100.0], "spike_count": [1.5]}, 1 * second, "whole numbers >= 0"),
        ({"amplitude_pA": [np.nan], "spike_count": [1]}, 1 * second, "finite currents"),
        ({"amplitude_pA": [], "spike_count": []}, 1 * second, "non-empty"),
        ({"amplitude_pA": [100.0], "spike_count": [1]}, 0 * second, "one positive"),
        ({"amplitude_pA": [100.0], "spike_count": [1]}, 1 * pA, "wrong units"),
        ({"amplitude_pA": [100.0], "spike_count": [1]}, [1, 2] * ms, "one per sweep"),
    ],
)
def test_bad_sweep_tables_are_refused(table, width, message):
    with pytest.raises(SpikeTrainError, match=message):
        features_of_sweep_table(pd.DataFrame(table), width)
