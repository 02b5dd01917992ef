"""The vectorised population features equal the per-sweep and per-cell definitions."""

import numpy as np
import pandas as pd
import pytest
from brian2 import pA, second

from analysis.long_square import long_square_features
from analysis.population_features import (
    POPULATION_SWEEP_COLUMNS,
    population_cell_features,
    population_sweep_features,
)
from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import sweep_features

START, END = 0.1, 1.1


def random_population(rng, n_neurons):
    """Spike trains with 0 to 40 spikes, some outside the window, in shuffled order."""
    neurons, times = [], []
    for neuron in range(n_neurons):
        count = rng.choice([0, 1, 2, 3, rng.integers(4, 40)])
        train = np.unique(np.round(rng.uniform(0.05, 1.2, count), 4))
        neurons.append(np.full(train.size, neuron))
        times.append(train)
    neuron, time = np.concatenate(neurons), np.concatenate(times)
    shuffle = rng.permutation(neuron.size)
    return neuron[shuffle], time[shuffle]


def test_sweep_features_equal_the_per_sweep_definition():
    rng = np.random.default_rng(12)
    neuron, time = random_population(rng, 300)
    table = population_sweep_features(neuron, time, 300, START, END)
    for k in range(300):
        expected = sweep_features(np.sort(time[neuron == k]) * second, START * second, END * second)
        for column in POPULATION_SWEEP_COLUMNS:
            assert table[column].iloc[k] == pytest.approx(
                expected[column], rel=1e-12, abs=1e-15, nan_ok=True
            ), (k, column)


def test_cell_features_equal_the_long_square_rules():
    rng = np.random.default_rng(4)
    n_cells, n_amplitudes = 60, 9
    checked = 0
    for shared in (True, False):
        if shared:
            amplitudes = np.array([40.0, 50, 70, 90, 90, 110, 130, 150, 170])  # a repeat
        else:
            amplitudes = rng.choice(np.arange(0, 300, 10.0), (n_cells, n_amplitudes))
        neuron, time = random_population(rng, n_cells * n_amplitudes)
        sweeps = population_sweep_features(neuron, time, n_cells * n_amplitudes, START, END)
        cells = population_cell_features(sweeps, amplitudes)
        for c in range(n_cells):
            rows = np.arange(c * n_amplitudes, (c + 1) * n_amplitudes)
            trains = [np.sort(time[neuron == r]) * second for r in rows]
            amps = amplitudes if shared else amplitudes[c]
            expected = long_square_features(amps * pA, trains, START * second, END * second)
            for column in expected.cell.index:
                assert cells[column].iloc[c] == pytest.approx(
                    expected.cell[column], rel=1e-9, nan_ok=True
                ), (c, column)
            assert cells.rheobase_sweep.iloc[c] == expected.rheobase_sweep
            assert cells.hero_sweep.iloc[c] == expected.hero_sweep
            checked += 1
    assert checked == 2 * n_cells


def test_inputs_are_checked():
    with pytest.raises(SpikeTrainError, match=r"indexes must lie in \[0, 2\)"):
        population_sweep_features(np.array([0, 2]), np.array([0.2, 0.3]), 2, START, END)
    with pytest.raises(SpikeTrainError, match="not a whole number of cells of 4 amplitudes"):
        population_cell_features(pd.DataFrame({"avg_rate_Hz": np.zeros(6)}), np.arange(4.0))
