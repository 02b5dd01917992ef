"""Spike detection on Hodgkin-Huxley traces: the same thresholds, peaks and upstrokes as ipfx."""

import numpy as np
import pytest
from brian2 import (
    ms,
    mV,
    second,
)

from analysis.spike_detection import DetectionSettings, detect_spikes
from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import sweep_features
from tests.analysis.conftest import DT_MS


def test_same_spikes_as_ipfx(ipfx, hh_traces):
    import ipfx.feature_extractor as fx

    t, traces = hh_traces
    start, end = 0.3, 1.3
    counts = []
    for v in traces:
        reference = fx.SpikeFeatureExtractor(start=start, end=end).process(t, v, np.zeros_like(t))
        ours = detect_spikes(t * second, v * mV, start * second, end * second)
        counts.append(len(ours))
        if reference.empty:
            assert ours.empty
            continue
        for column in ("threshold_index", "peak_index", "upstroke_index", "clipped"):
            np.testing.assert_array_equal(
                ours[column].to_numpy(), reference[column].to_numpy(), err_msg=column
            )
        np.testing.assert_allclose(ours.upstroke_V_per_s, reference.upstroke, rtol=1e-12)
    assert counts[0] == 0 and all(c > 5 for c in counts[2:])


def test_spike_clipped_by_the_window_end(ipfx, hh_traces):
    import ipfx.feature_extractor as fx

    t, traces = hh_traces
    v = traces[4]
    spikes = detect_spikes(t * second, v * mV, 0.3 * second, 1.3 * second)
    # end the window just after a spike's peak: that spike is clipped
    end = spikes.peak_t_s.iloc[3] + 3 * DT_MS * 1e-3
    ours = detect_spikes(t * second, v * mV, 0.3 * second, end * second)
    reference = fx.SpikeFeatureExtractor(start=0.3, end=end).process(t, v, np.zeros_like(t))
    assert ours.clipped.iloc[-1] and reference.clipped.iloc[-1]
    np.testing.assert_array_equal(ours.threshold_index, reference.threshold_index)


def test_thresholds_feed_the_sweep_features(hh_traces):
    t, traces = hh_traces
    spikes = detect_spikes(t * second, traces[3] * mV, 0.3 * second, 1.3 * second)
    features = sweep_features(spikes.threshold_t_s.to_numpy() * second, 0.3 * second, 1.3 * second)
    assert features["spike_count"] == len(spikes) and features["latency_s"] > 0
    assert np.all(spikes.threshold_v_mV < spikes.peak_v_mV - 2)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"v": np.zeros(10) * mV}, "same length"),
        ({"v": np.r_[np.zeros(10), np.nan] * mV}, r"v\[10\] = nan is not finite"),
        ({"t": np.r_[0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9] * ms}, "strictly increasing"),
        ({"v": np.zeros(11) * ms}, "wrong units"),
        ({"end": 1 * second}, r"window \[0, 1\] s must lie inside the trace"),
        (
            {
                "settings": DetectionSettings(filter_khz=50.0),
                "t": np.arange(40) * 0.1 * ms,
                "v": np.zeros(40) * mV,
            },
            "cannot low-pass at 50 kHz",
        ),
        ({}, "needs more than 15 samples, the trace has 11"),
    ],
)
def test_bad_traces_are_rejected(kwargs, fragment):
    arguments = {"t": np.arange(11) * 0.1 * ms, "v": np.zeros(11) * mV, **kwargs}
    with pytest.raises(SpikeTrainError, match=fragment):
        detect_spikes(**arguments)


def test_unfiltered_detection_on_coarse_traces(hh_traces):
    t, traces = hh_traces
    coarse_t, coarse_v = t[::5], traces[3][::5]  # 10 kHz: too coarse for the 10 kHz filter
    with pytest.raises(SpikeTrainError, match="filter_khz=None"):
        detect_spikes(coarse_t * second, coarse_v * mV)
    fine = detect_spikes(t * second, traces[3] * mV)
    coarse = detect_spikes(
        coarse_t * second, coarse_v * mV, settings=DetectionSettings(filter_khz=None)
    )
    assert len(coarse) == len(fine)
    np.testing.assert_allclose(coarse.peak_t_s, fine.peak_t_s, atol=0.5e-3)


def test_no_spikes_gives_a_typed_empty_table(hh_traces):
    t, traces = hh_traces
    silent = detect_spikes(t * second, traces[0] * mV, 0.3 * second, 1.3 * second)
    assert silent.empty and silent.threshold_index.dtype == np.int64
    features = sweep_features(silent.threshold_t_s.to_numpy() * second, 0.3 * second, 1.3 * second)
    assert features["spike_count"] == 0 and np.isnan(features["latency_s"])


def synthetic_trace(seed):
    """Spikes of three shapes at 50 kHz: normal, slowly peaking (peak > 5 ms after threshold)
    and doublets, on a noisy baseline."""
    rng = np.random.default_rng(seed)
    dt = DT_MS * 1e-3
    t = np.arange(round(1.0 / dt)) * dt
    v = -70.0 + rng.normal(0, 0.05, t.size)

    def spike(at, rise_ms, plateau_ms, peak):
        i0 = round(at / dt)
        rise = np.linspace(-70, -45, round(rise_ms / DT_MS))
        climb = np.linspace(-45, peak, round(plateau_ms / DT_MS))
        fall = np.linspace(peak, -75, round(1.0 / DT_MS))
        shape = np.concatenate([rise, climb, fall])
        v[i0 : i0 + shape.size] = shape + rng.normal(0, 0.05, shape.size)

    for k, at in enumerate(np.arange(0.05, 0.95, 0.06)):
        kind = k % 3
        if kind == 0:
            spike(at, 0.3, 0.5, 30)  # normal
        elif kind == 1:
            spike(at, 0.3, 6.5 + rng.uniform(0, 2), 10)  # peak far after threshold
        else:
            spike(at, 0.3, 0.5, 25)
            spike(at + 0.0018, 0.3, 0.5, 20)  # doublet: second spike on the first's tail
    return t, v


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_repair_paths_match_ipfx_on_slow_and_overlapping_spikes(ipfx, seed):
    import ipfx.feature_extractor as fx

    t, v = synthetic_trace(seed)
    results = {}
    for max_interval in (0.005, 1.0):  # 1 s: nothing is "too long", no repair
        reference = fx.SpikeFeatureExtractor(max_interval=max_interval).process(
            t, v, np.zeros_like(t)
        )
        ours = detect_spikes(
            t * second, v * mV, settings=DetectionSettings(max_interval_s=max_interval)
        )
        for column in ("threshold_index", "peak_index", "upstroke_index"):
            np.testing.assert_array_equal(
                ours[column].to_numpy(),
                reference[column].to_numpy(),
                err_msg=f"{column}, max_interval {max_interval}",
            )
        # ipfx also flags spikes without a fast trough (trough features are not computed here):
        # ours are the last-spike rule only, so a subset of ipfx's
        assert not (ours.clipped.to_numpy() & ~reference.clipped.to_numpy()).any()
        results[max_interval] = ours
    # the repair changed something, so it was exercised
    repaired, plain = results[0.005], results[1.0]
    assert len(repaired) != len(plain) or not repaired.threshold_index.equals(plain.threshold_index)
