"""Held-out evaluation: the alternate-amplitude split and the spike-count scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fitting.holdout import (
    error_signs,
    first_ascending_series,
    first_sweep_of_each_amplitude,
    interpolated_counts,
    score_spike_counts,
    split_alternate_amplitudes,
)


def _sweeps(amplitudes, counts=None):
    amplitudes = np.asarray(amplitudes, dtype=float)
    counts = np.zeros(amplitudes.size) if counts is None else np.asarray(counts, dtype=float)
    return pd.DataFrame(
        {"sweep": np.arange(amplitudes.size), "amplitude_pA": amplitudes, "spike_count": counts}
    )


def test_alternate_amplitudes_with_repeats_and_float_noise():
    # 29.999998 is 30 pA; the second 70 pA sweep is a repeat; the order of sweeps is not sorted
    cell = _sweeps([-10.0, 29.999998, 10.0, 50.0, 70.0, 30.0, 90.0, 70.0])
    fitting, held_out = split_alternate_amplitudes({7: cell})
    # distinct amplitudes -10, 10, 30, 50, 70, 90 ranked 0..5: odd ranks 10, 50, 90 held out
    assert sorted(held_out[7].amplitude_pA.round()) == [10.0, 50.0, 90.0]
    assert sorted(fitting[7].amplitude_pA.round()) == [-10.0, 30.0, 30.0, 70.0, 70.0]
    fitting0, held_out0 = split_alternate_amplitudes({7: cell}, held_out=0)
    pd.testing.assert_frame_equal(fitting0[7], held_out[7])
    pd.testing.assert_frame_equal(held_out0[7], fitting[7])


@given(
    st.lists(st.integers(-20, 40), min_size=1, max_size=30),
    st.integers(0, 1),
)
def test_split_is_a_partition_that_alternates(steps, parity):
    amplitudes = np.array(steps, dtype=float) * 10.0
    cell = _sweeps(amplitudes)
    fitting, held_out = split_alternate_amplitudes({1: cell}, held_out=parity)
    # every sweep in exactly one half, repeats of one amplitude together
    assert sorted(fitting[1].sweep.tolist() + held_out[1].sweep.tolist()) == list(range(len(cell)))
    assert not set(fitting[1].amplitude_pA) & set(held_out[1].amplitude_pA)
    distinct = np.unique(amplitudes)
    expected = set(distinct[parity::2])
    assert set(held_out[1].amplitude_pA) == expected


def test_scores_against_hand_counts():
    table = pd.DataFrame(
        {
            "specimen_id": [1, 1, 1, 2, 2, 2],
            "spike_count": [0, 2, 10, 0, 5, 20],
            # model a: +1 on a silent sweep, exact, +4; cell 2: -1, -5 -> cell 1 over, 2 under
            "a": [1, 2, 14, 0, 4, 15],
            # model b: exact everywhere
            "b": [0, 2, 10, 0, 5, 20],
        }
    )
    scores = score_spike_counts(table, ["a", "b"])
    a = scores.loc["a"]
    # spiking sweeps: errors 0, 4, 1, 5 (the silent sweeps are not scored)
    assert a.spiking_sweeps == 4
    assert a.median_error == 2.5 and a.mean_error == 2.5
    assert a.within_1 == 0.5 and a.within_3 == 0.5
    assert a.over_cells == 0.5 and a.under_cells == 0.5 and a.same_sign == 0.5
    b = scores.loc["b"]
    assert b.mean_error == 0 and b.within_1 == 1 and b.same_sign == 0
    signs = error_signs(table, "a")
    assert signs.loc[1, "signed_error"] == 5 and signs.loc[1, "sign"] == 1
    assert signs.loc[2, "signed_error"] == -6 and signs.loc[2, "sign"] == -1
    assert signs.loc[1, "mean_abs_error"] == 2.0


def test_models_must_share_their_sweeps():
    table = pd.DataFrame({"specimen_id": [1, 1], "spike_count": [1, 2], "a": [1, np.nan]})
    with pytest.raises(ValueError, match="same sweeps"):
        score_spike_counts(table, ["a"])


def test_first_sweep_of_each_amplitude():
    table = pd.DataFrame(
        {
            "specimen_id": [1, 1, 1, 1, 2, 2],
            "sweep": [50, 65, 66, 51, 50, 40],
            "amplitude_pA": [210.0, 209.99998, 210.0, 230.0, 210.0, 210.0],
        }
    )
    first = first_sweep_of_each_amplitude(table)
    assert first.tolist() == [True, False, False, True, False, True]


def test_first_ascending_series_ends_where_the_protocol_first_steps_down():
    # cell 1 (rows given out of sweep order): -90, 10, 30, 29.999998 (the same 30 pA), 50, 70,
    # then back to 50 (series over), a negative step and a new, higher 90 pA: both later.
    # Cell 2 never steps down; its negative step after the rise does not end anything.
    table = pd.DataFrame(
        {
            "specimen_id": [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2],
            "sweep": [23, 32, 27, 28, 29, 31, 24, 33, 34, 5, 6, 7],
            "amplitude_pA": [
                *(-90.0, 50.0, 30.0, 29.999998, 50.0, 70.0, 10.0, -10.0, 90.0),
                *(20.0, 40.0, -50.0),
            ],
        }
    )
    first = first_ascending_series(table)
    expected = [True, False, True, True, True, True, True, False, False, True, True, True]
    assert first.tolist() == expected
    assert first.index.equals(table.index)
    # a table concatenated from per-cell parts repeats index labels: the answer is the same
    parts = pd.concat([table[table.specimen_id == 1], table[table.specimen_id == 2].reset_index()])
    assert first_ascending_series(parts).tolist() == expected


def test_interpolated_counts_by_hand():
    # fitted: 10 pA silent, 30 pA three times (2, 6, 13 spikes: median 6, mean 7), 70 pA 14
    fitting = {5: _sweeps([10.0, 29.999998, 30.0, 30.0, 70.0], [0, 2, 6, 13, 14])}
    held_out = {5: _sweeps([-10.0, 20.0, 50.0, 60.0, 90.0]), 6: _sweeps([20.0])}
    table = interpolated_counts(fitting, held_out)
    # -10 below the fitted range: the lowest count; 20: (0 + 6) / 2; 50: (6 + 14) / 2;
    # 60: 6 + 8 * 3/4; 90 above the range: the highest count. Cell 6 has no fitted half.
    assert table.specimen_id.tolist() == [5] * 5
    assert table.interpolated_spike_count.tolist() == [0.0, 3.0, 10.0, 12.0, 14.0]
    assert table.sweep.tolist() == list(range(5))


@given(st.lists(st.integers(0, 60), min_size=2, max_size=12, unique=True), st.integers(0, 1))
def test_interpolated_counts_reproduce_a_linear_f_i_curve(steps, parity):
    # a cell whose counts rise linearly with amplitude is predicted exactly between its
    # fitted amplitudes, and held at its ends outside them
    amplitudes = np.array(sorted(steps), dtype=float) * 10.0
    cell = _sweeps(amplitudes, 0.5 * amplitudes)
    fitting, held_out = split_alternate_amplitudes({1: cell}, held_out=parity)
    table = interpolated_counts(fitting, held_out)
    low, high = fitting[1].amplitude_pA.min(), fitting[1].amplitude_pA.max()
    expected = 0.5 * np.clip(table.amplitude_pA, low, high)
    np.testing.assert_array_equal(table.interpolated_spike_count, np.round(expected))
