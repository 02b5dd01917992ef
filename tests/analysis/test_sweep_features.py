"""Per-sweep features: hand-computed values, edge cases, and ipfx's own code on random trains."""

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, second

from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import adaptation_index, sweep_features

START, END = 1.02 * second, 2.02 * second


def test_hand_computed_train():
    features = sweep_features([1.05, 1.10, 1.20, 1.40] * second, START, END)
    isis = np.array([0.05, 0.10, 0.20])
    assert features["spike_count"] == 4
    assert features["avg_rate_Hz"] == pytest.approx(4.0)
    assert features["latency_s"] == pytest.approx(0.03)
    assert features["first_isi_s"] == pytest.approx(0.05)
    assert features["mean_isi_s"] == pytest.approx(isis.mean())
    assert features["median_isi_s"] == pytest.approx(0.10)
    assert features["isi_cv"] == pytest.approx(isis.std() / isis.mean())
    # (0.1 - 0.05) / 0.15 and (0.2 - 0.1) / 0.3: both 1/3
    assert features["adaptation_index"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("times_s", "count", "latency", "first_isi", "cv", "ai"),
    [
        ([], 0, np.nan, np.nan, np.nan, np.nan),
        ([1.5], 1, 0.48, np.nan, np.nan, np.nan),
        ([1.1, 1.3], 2, 0.08, 0.2, 0.0, np.nan),
        ([1.1, 1.2, 1.4], 3, 0.08, 0.1, 1 / 3, 1 / 3),
        ([1.1, 1.2, 1.3, 1.4, 1.5], 5, 0.08, 0.1, 0.0, 0.0),  # equal ISIs
    ],
)
def test_edge_cases_by_spike_count(times_s, count, latency, first_isi, cv, ai):
    features = sweep_features(np.array(times_s) * second, START, END)
    assert features["spike_count"] == count
    assert features["avg_rate_Hz"] == pytest.approx(count / 1.0)
    for name, expected in (
        ("latency_s", latency),
        ("first_isi_s", first_isi),
        ("isi_cv", cv),
        ("adaptation_index", ai),
    ):
        assert features[name] == pytest.approx(expected, nan_ok=True, abs=1e-12), name


def test_window_is_inclusive_and_excludes_outside_spikes():
    features = sweep_features([0.5, 1.02, 1.52, 2.02, 2.5] * second, START, END)
    assert features["spike_count"] == 3
    assert features["latency_s"] == 0.0
    assert features["mean_isi_s"] == pytest.approx(0.5)


def test_adaptation_sign_and_units():
    assert adaptation_index([10.0, 20.0, 40.0] * ms) == pytest.approx(1 / 3)
    assert adaptation_index([40.0, 20.0, 10.0] * ms) == pytest.approx(-1 / 3)
    assert np.isnan(adaptation_index([10.0] * ms))
    with pytest.raises(SpikeTrainError, match="has no unit"):
        adaptation_index([10.0, 20.0])
    with pytest.raises(SpikeTrainError, match="positive, finite times"):
        adaptation_index([10.0, 0.0] * ms)


@pytest.mark.parametrize(
    ("times", "fragment"),
    [
        ([1.2, 1.1] * second, r"not strictly increasing: \[0\] = 1.2 s, \[1\] = 1.1 s"),
        ([1.1, 1.1] * second, "remove duplicates"),
        ([-0.1, 1.1] * second, r"\[0\] = -0.1 s is negative"),
        (np.array([1.1, np.nan]) * second, r"\[1\] = nan is not a finite time"),
        ([1.1, 1.2], "has no unit"),
        ([1.1, 1.2] * ms / ms * 1e3, "has no unit"),
        (np.ones((2, 2)) * second, "expected a 1-D array"),
    ],
)
def test_bad_spike_trains_are_rejected(times, fragment):
    with pytest.raises(SpikeTrainError, match=fragment):
        sweep_features(times, START, END)


def test_bad_window():
    with pytest.raises(SpikeTrainError, match=r"end = 1\.02 s must come after start = 2\.02 s"):
        sweep_features([] * second, END, START)


def test_matches_ipfx_on_random_trains(ipfx):
    """ipfx's basic_spike_train_features on threshold indexes of a 200 kHz time grid."""
    rng = np.random.default_rng(11)
    dt = 5e-6
    t = np.arange(round(3.0 / dt)) * dt
    start, end = 1.02, 2.02
    compared = 0
    for n_spikes in [0, 1, 2, 3, 4, 7, 15, 40, 40, 80]:
        indexes = np.sort(rng.choice(np.arange(round(0.9 / dt), round(2.2 / dt)), n_spikes, False))
        spike_times = t[indexes]
        inside = indexes[(t[indexes] >= start) & (t[indexes] <= end)]
        reference = ipfx.spike_train_features.basic_spike_train_features(
            t, pd.DataFrame({"threshold_index": inside}), start, end
        )
        ours = sweep_features(spike_times * second, start * second, end * second)
        assert ours["avg_rate_Hz"] == pytest.approx(reference["avg_rate"], rel=1e-12)
        if len(inside) == 0:
            continue
        pairs = {
            "latency": "latency_s",
            "first_isi": "first_isi_s",
            "mean_isi": "mean_isi_s",
            "median_isi": "median_isi_s",
            "isi_cv": "isi_cv",
            "adapt": "adaptation_index",
        }
        for theirs, mine in pairs.items():
            assert ours[mine] == pytest.approx(reference[theirs], rel=1e-12, nan_ok=True), theirs
        compared += 1
    assert compared >= 8
