"""Fit targets: Allen's protocol grid and the checks that refuse cells a fit would get wrong."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fitting.targets import CellTargets, UnfittableCell, allen_grid


def _row(**changes):
    row = {
        "specimen_id": 1,
        "species": "mouse",
        "vrest": -70.0,
        "ri": 200.0,
        "tau": 20.0,
        "threshold_i_long_square": 100.0,
        "f_i_curve_slope": 0.2,
        "avg_isi": 50.0,
        "latency": 0.05,
        "adaptation": 0.05,
    }
    return row | changes


def test_allen_grid_follows_the_20_pa_series_above_rheobase():
    # -110 + 20 k above 100 pA: 110, 130, ... 250; rheobase refined by -20, -10
    assert allen_grid(100.0).tolist() == [80, 90, 100, 110, 130, 150, 170, 190, 210, 230, 250]
    # a rheobase on the series itself: the next step is 20 pA above
    assert allen_grid(90.0).tolist() == [70, 80, 90, 110, 130, 150, 170, 190, 210, 230, 250]
    # Allen's table stores some rheobases as 209.99998 for 210: the same grid, no step twice
    near = allen_grid(209.999984741211)
    np.testing.assert_allclose(near, allen_grid(210.0), atol=1e-4)
    assert np.all(np.diff(near) >= 9.9)


@pytest.mark.parametrize("rheobase", [30.0, 100.0, 110.0, 350.0])
def test_allen_grid_puts_a_sweep_in_the_hero_window(rheobase):
    grid = allen_grid(rheobase)
    hero = grid[(grid > rheobase + 39) & (grid < rheobase + 61)]
    assert hero.size >= 1 and grid.size == 11 and np.all(np.diff(grid) > 0)


def test_targets_keep_features_passive_values_and_metadata():
    targets = CellTargets.from_row(_row(adaptation=math.nan, cre_line="Pvalb"))
    assert (targets.vrest_mV, targets.ri_MOhm, targets.tau_ms) == (-70.0, 200.0, 20.0)
    assert targets.rheobase_pA == 100.0 and math.isnan(targets.features["adaptation"])
    assert targets.metadata == {"species": "mouse", "cre_line": "Pvalb"}
    assert targets.protocol_amplitudes().tolist() == allen_grid(100.0).tolist()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tau": math.nan}, "no tau"),
        ({"ri": -5.0}, "must be > 0"),
        ({"threshold_i_long_square": math.nan}, "no rheobase"),
        ({"threshold_i_long_square": -30.0}, "not positive"),
    ],
)
def test_unfittable_cells_name_the_reason(changes, message):
    with pytest.raises(UnfittableCell, match=message):
        CellTargets.from_row(_row(**changes))


def test_measured_sweeps_replace_the_grid():
    sweeps = pd.DataFrame({"amplitude_pA": [50.0, 100.0, 150.0], "spike_count": [0, 2, 9]})
    targets = CellTargets.from_row(_row(), sweeps)
    assert targets.protocol_amplitudes().tolist() == [50.0, 100.0, 150.0]


@pytest.mark.parametrize(
    ("sweeps", "message"),
    [
        ({"amplitude_pA": [100.0]}, r"lack column\(s\) \['spike_count'\]"),
        ({"amplitude_pA": [100.0, 150.0], "spike_count": [0, -1]}, "negative spike count"),
        ({"amplitude_pA": [100.0, 150.0], "spike_count": [0, 0]}, "no sweep has a spike"),
        # latency in ms instead of s: the trap of older releases
        (
            {"amplitude_pA": [100.0, 150.0], "spike_count": [1, 5], "latency_s": [80.0, 20.0]},
            r"latency_s=80.0 .* in \[0, 1\] \(times are in seconds, not ms\)",
        ),
        (
            {"amplitude_pA": [100.0, 150.0], "spike_count": [0, 5], "latency_s": [0.1, 0.02]},
            "sweep 0 has latency_s=0.1 with 0 spikes",
        ),
        (
            {"amplitude_pA": [100.0], "spike_count": [2], "adaptation_index": [0.1]},
            "at least 3 spike",
        ),
    ],
)
def test_bad_sweeps_are_refused_with_the_sweep_and_value(sweeps, message):
    with pytest.raises(UnfittableCell, match=message):
        CellTargets.from_row(_row(), pd.DataFrame(sweeps))
