"""Spike detection on Hodgkin-Huxley traces: the same thresholds, peaks and upstrokes as ipfx."""

import numpy as np
import pytest
from brian2 import (
    Network,
    NeuronGroup,
    StateMonitor,
    mS,
    ms,
    mV,
    nA,
    second,
    siemens,
    ufarad,
    um,
)

from ahp_models.network import brian_prefs
from analysis.spike_detection import DetectionSettings, detect_spikes
from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import sweep_features

DT_MS = 0.02  # 50 kHz, Allen's newer recordings


@pytest.fixture(scope="module")
def hh_traces():
    """Hodgkin-Huxley neurons (Brian2's classic example) under 1 s steps of several amplitudes,
    two of them with seeded current noise; 1.5 s sampled at 50 kHz."""
    area = 20000 * um**2
    equations = """
    dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
    dm/dt = 0.32*(mV**-1)*4*mV/exprel((13.*mV-v+VT)/(4*mV))/ms*(1-m)
            - 0.28*(mV**-1)*5*mV/exprel((v-VT-40.*mV)/(5*mV))/ms*m : 1
    dn/dt = 0.032*(mV**-1)*5*mV/exprel((15.*mV-v+VT)/(5*mV))/ms*(1.-n)
            - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
    dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
    I = amplitude*int(t >= 0.3*second and t < 1.3*second)
        + noise_std*sin(2*pi*t*37*Hz + i)*int(t >= 0.3*second) : amp
    amplitude : amp (constant)
    noise_std : amp (constant)
    """
    namespace = {
        "Cm": 1 * ufarad * 1e-8 * area / um**2,
        "gl": 5e-5 * siemens * 1e-8 * area / um**2,
        "El": -65 * mV,
        "EK": -90 * mV,
        "ENa": 50 * mV,
        "VT": -63 * mV,
        "g_na": 100 * mS * 1e-8 * area / um**2,
        "g_kd": 30 * mS * 1e-8 * area / um**2,
    }
    with brian_prefs({"codegen.target": "numpy"}):
        group = NeuronGroup(
            5, equations, method="exponential_euler", dt=DT_MS * ms, namespace=namespace
        )
        group.v = -65 * mV
        group.amplitude = [0.0, 0.05, 0.2, 0.5, 0.9] * nA
        group.noise_std = [0.0, 0.0, 0.02, 0.0, 0.1] * nA
        monitor = StateMonitor(group, "v", record=True)
        Network(group, monitor).run(1.5 * second)
    return np.asarray(monitor.t_), np.asarray(monitor.v_) * 1e3  # s, mV


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
        ({"settings": DetectionSettings(filter_khz=50.0)}, "cannot low-pass at 50 kHz"),
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
