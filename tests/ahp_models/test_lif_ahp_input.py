"""``lif_ahp_input`` against the closed-form solutions of its equations."""

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, pA, second

from ahp_models import (
    LifAhpInputParams,
    LifAhpParams,
    ParameterError,
    get_model,
    long_square,
    simulate,
)
from ahp_models.lif_ahp_input import onset_peak

MEMBRANE = {"E_L": -70 * mV, "R": 100 * Mohm, "tau_m": 10 * ms, "V_th": -50 * mV}
#: A fast-spiking-like neuron: little spike-triggered adaptation, a fifth of the input taken
FAST = LifAhpInputParams(
    **MEMBRANE, V_reset=-60 * mV, t_ref=1 * ms, tau_ahp=150 * ms, b_ahp=2 * pA, input_share=0.2
)
MODEL = get_model("lif_ahp_input")


def run(params, stimulus, **kwargs):
    return simulate("lif_ahp_input", params, stimulus, codegen_target="numpy", **kwargs)


def step_response(t, tau_m, tau_a, share):
    """(v - E_L) / (R I) of the resting neuron after a step at t = 0."""
    if tau_a == tau_m:
        transient = (t / tau_m) * np.exp(-t / tau_m)
    else:
        transient = tau_a * (np.exp(-t / tau_a) - np.exp(-t / tau_m)) / (tau_a - tau_m)
    return (1 - share) * (1 - np.exp(-t / tau_m)) + share * transient


@pytest.mark.parametrize("tau_ahp_ms", [150.0, 10.0, 4.0])
def test_subthreshold_step_response_is_the_two_exponential_solution(tau_ahp_ms):
    # tau_ahp == tau_m (10 ms) is where a naive solution divides by zero
    params = LifAhpInputParams(**MEMBRANE, tau_ahp=tau_ahp_ms * ms, input_share=0.4)
    stim = long_square([150] * pA, onset=10 * ms, width=200 * ms, duration=210 * ms)
    result = run(params, stim, record=["v", "I_ahp"])
    assert result.spike_counts()[0] == 0
    t = result.trace_time_s - 0.010
    on = t >= -1e-12
    tau_m, tau_a = 0.010, tau_ahp_ms * 1e-3
    expected_v = np.full_like(t, -0.070)
    expected_v[on] += 100e6 * 150e-12 * step_response(t[on], tau_m, tau_a, 0.4)
    expected_i = np.where(on, 0.4 * 150e-12 * (1 - np.exp(-np.maximum(t, 0) / tau_a)), 0.0)
    np.testing.assert_allclose(result.traces_si["v"][0], expected_v, rtol=0, atol=1e-13)
    np.testing.assert_allclose(result.traces_si["I_ahp"][0], expected_i, rtol=0, atol=1e-22)


@pytest.mark.parametrize(
    "tau_m, tau_a, share",
    [(0.008, 0.15, 0.2), (0.02, 0.02, 0.5), (0.02, 0.01, 0.3), (0.02, 0.005, 0.9),
     (0.01, 3.0, 0.05), (0.01, 0.3, 0.0)],
)  # fmt: skip
def test_onset_peak_is_the_step_responses_maximum(tau_m, tau_a, share):
    t = np.linspace(0, 20 * max(tau_m, tau_a), 2_000_001)
    numeric = max(step_response(t, tau_m, tau_a, share).max(), 1 - share)
    assert float(onset_peak(tau_m, tau_a, share)) == pytest.approx(numeric, rel=1e-9)


def test_the_rheobase_is_the_smallest_step_that_fires():
    rheobase = float(MODEL.rheobase(FAST) / pA)
    # between lif_ahp's (V_th - E_L) / R = 200 pA and the tonic threshold, 250 pA
    assert 200.0 < rheobase < 250.0
    stim = long_square(
        np.array([0.999, 1.001]) * rheobase * pA, onset=0 * ms, width=300 * ms,
        duration=300 * ms, dt=0.01 * ms,
    )  # fmt: skip
    assert list(run(FAST, stim).spike_counts()) == [0, 1]


def test_between_the_two_thresholds_the_spikes_stop_when_the_drive_falls_below_threshold():
    # the effective input I (1 - s (1 - exp(-t / tau_a))) falls below (V_th - E_L) / R at
    # t_end = tau_a ln(s I / (I_c - (1 - s) I)); after it v can only relax below threshold
    rheobase = float(MODEL.rheobase(FAST) / pA)
    tonic = float(MODEL.tonic_threshold(FAST) / pA)
    assert tonic == pytest.approx(250.0)
    currents = np.array([rheobase + 5, 220.0, 240.0, 248.0, 252.0, 260.0])
    stim = long_square(currents * pA, onset=0 * ms, width=1 * second, duration=1 * second)
    result = run(FAST, stim)
    counts = result.spike_counts()
    i_c, share, tau_a = 200.0, 0.2, 0.150
    for k, current in enumerate(currents[:4]):
        t_end = tau_a * np.log(share * current / (i_c - (1 - share) * current))
        spikes = np.asarray(result.spike_train(k) / second)
        assert 0 < spikes.size and spikes.max() <= t_end
    # an abrupt onset: 1 spike at the rheobase, a handful just below the tonic threshold,
    # and 4 pA above it as many again (the rate near an LIF threshold rises steeply)
    assert counts[0] == 1 and counts[3] <= 12
    assert counts[4] >= counts[3] + 5 and counts[5] >= 25
    assert np.all(np.diff(counts) >= 0)
    for k in (4, 5):  # above the tonic threshold it fires to the end of the step
        assert np.asarray(result.spike_train(k) / second).max() > 0.9


def test_without_a_share_it_is_lif_ahp():
    stim = long_square(np.array([150.0, 300.0]) * pA, onset=10 * ms, width=500 * ms,
                       duration=600 * ms)  # fmt: skip
    shared = {"tau_ahp": 80 * ms, "b_ahp": 20 * pA, "V_reset": -60 * mV, **MEMBRANE}
    ours = run(LifAhpInputParams(**shared, input_share=0.0), stim, record=["v", "I_ahp"])
    plain = simulate("lif_ahp", LifAhpParams(**shared), stim, codegen_target="numpy",
                     record=["v", "I_ahp"])  # fmt: skip
    for name in ("v", "I_ahp"):
        np.testing.assert_array_equal(ours.traces_si[name], plain.traces_si[name])
    assert np.asarray(plain.spike_counts())[1] > 5
    assert float(MODEL.rheobase(LifAhpInputParams(**shared, input_share=0.0)) / pA) == (
        pytest.approx(200.0)
    )


def test_the_share_must_lie_in_zero_to_one():
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ParameterError, match="input_share"):
            LifAhpInputParams(input_share=bad)
