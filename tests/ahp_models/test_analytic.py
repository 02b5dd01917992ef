"""Simulations against closed-form results of the models' equations."""

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, nS, pA, second
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ahp_models import (
    AlifParams,
    ConductanceAhpParams,
    LifAhpParams,
    LoihiAhpParams,
    MultiAhpParams,
    from_array,
    long_square,
    simulate,
)

MEMBRANE = {"E_L": -70 * mV, "R": 100 * Mohm, "tau_m": 20 * ms, "V_th": -50 * mV}


def run(model, params, stimulus, **kwargs):
    return simulate(model, params, stimulus, codegen_target="numpy", **kwargs)


def test_subthreshold_step_response_is_exact():
    params = LifAhpParams(**MEMBRANE)
    stim = long_square([150] * pA, onset=10 * ms, width=100 * ms, duration=150 * ms)
    result = run("lif_ahp", params, stim, record="v")
    t = result.trace_time_s
    v = result.traces_si["v"][0]
    assert result.spike_counts()[0] == 0
    on, off = 0.010, 0.110
    expected = np.full_like(t, -0.070)
    during = (t >= on - 1e-12) & (t <= off + 1e-12)
    expected[during] = -0.070 + 0.015 * (1 - np.exp(-(t[during] - on) / 0.020))
    v_off = -0.070 + 0.015 * (1 - np.exp(-(off - on) / 0.020))
    after = t > off + 1e-12
    expected[after] = -0.070 + (v_off + 0.070) * np.exp(-(t[after] - off) / 0.020)
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("tau_ahp_ms", [20.0, 300.0, 5.0])
def test_ahp_current_acts_on_v_as_the_two_exponential_solution(tau_ahp_ms):
    # tau_ahp == tau_m (20 ms) is the case where Brian2's `exact` method divides by zero
    params = LifAhpParams(**MEMBRANE, tau_ahp=tau_ahp_ms * ms)
    stim = long_square([0] * pA, onset=0 * ms, width=100 * ms, duration=100 * ms)
    result = run("lif_ahp", params, stim, record=["v", "I_ahp"], initial_state={"I_ahp": 50 * pA})
    t = result.trace_time_s
    tau_m, tau_a, r_i0 = 0.020, tau_ahp_ms * 1e-3, 100e6 * 50e-12
    if tau_a == tau_m:
        dv = -r_i0 * (t / tau_m) * np.exp(-t / tau_m)
    else:
        dv = -r_i0 * tau_a * (np.exp(-t / tau_a) - np.exp(-t / tau_m)) / (tau_a - tau_m)
    assert np.all(np.isfinite(result.traces_si["v"]))
    np.testing.assert_allclose(result.traces_si["v"][0], -0.070 + dv, rtol=0, atol=1e-13)
    np.testing.assert_allclose(
        result.traces_si["I_ahp"][0], 50e-12 * np.exp(-t / tau_a), rtol=1e-12, atol=0
    )


LIF = LifAhpParams(**MEMBRANE, V_reset=-65 * mV, t_ref=2 * ms, b_ahp=0 * pA)
CURRENTS_PA = np.array([250.0, 300.0, 400.0, 600.0, 1000.0])


def lif_period_s(current_pa):
    """Closed-form LIF interspike interval without refractoriness."""
    drive = 100e6 * current_pa * 1e-12
    return 0.020 * np.log((drive - 0.070 + 0.065) / (drive - 0.070 + 0.050))


def interspike_intervals(result, neuron):
    return np.diff(np.asarray(result.spike_train(neuron) / second))


def test_lif_interspike_intervals_are_the_exact_discrete_values():
    # Spikes are reported at the start of the step in which v crosses V_th (the continuous
    # crossing time rounded down to the grid); integration restarts from V_reset exactly t_ref
    # after that, so each interval is t_ref + floor(T / dt) steps.
    dt = 1e-4
    stim = long_square(CURRENTS_PA * pA, onset=0 * ms, width=1 * second, duration=1 * second)
    result = run("lif_ahp", LIF, stim)
    refractory_steps = 20
    for k, current in enumerate(CURRENTS_PA):
        steps = refractory_steps + np.floor(lif_period_s(current) / dt)
        isi = interspike_intervals(result, k)
        assert len(isi) > 10
        np.testing.assert_allclose(isi, steps * dt, rtol=0, atol=1e-12)


def test_lif_f_i_curve_matches_the_closed_form_rate_within_one_percent():
    stim = long_square(
        CURRENTS_PA * pA, onset=0 * ms, width=1 * second, duration=1 * second, dt=0.01 * ms
    )
    result = run("lif_ahp", LIF, stim)
    for k, current in enumerate(CURRENTS_PA):
        measured_rate = 1.0 / interspike_intervals(result, k).mean()
        closed_form_rate = 1.0 / (0.002 + lif_period_s(current))
        assert measured_rate == pytest.approx(closed_form_rate, rel=0.01)
    assert result.spike_counts()[0] > 0  # above rheobase (200 pA)


def test_ahp_current_converges_to_the_steady_state_balance():
    b, tau_a, t_ref, current = 20e-12, 0.2, 0.002, 500e-12
    params = LifAhpParams(
        **MEMBRANE, V_reset=-65 * mV, t_ref=2 * ms, tau_ahp=200 * ms, b_ahp=20 * pA
    )
    stim = long_square([500] * pA, onset=0 * ms, width=6 * second, duration=6 * second)
    result = run("lif_ahp", params, stim, record="I_ahp")

    # Periodic orbit of the continuous model: after each spike I_ahp = I_plus = b/(1-e^-T/tau_a),
    # v restarts from V_reset when the refractory period ends, and reaches V_th after T.
    tau_m, v_inf, v_reset, v_th = 0.020, -0.070 + 100e6 * current, -0.065, -0.050

    def voltage(s, i_start):
        coupling = 100e6 * i_start * tau_a * (np.exp(-s / tau_a) - np.exp(-s / tau_m))
        return v_inf + (v_reset - v_inf) * np.exp(-s / tau_m) - coupling / (tau_a - tau_m)

    def mismatch(period):
        i_plus = b / (1 - np.exp(-period / tau_a))
        return voltage(period - t_ref, i_plus * np.exp(-t_ref / tau_a)) - v_th

    period = brentq(mismatch, t_ref + 1e-4, 0.5)
    isi = interspike_intervals(result, 0)
    assert abs(isi[-1] - period) <= 1e-4 + 1e-12  # within one time step
    # balance: mean AHP current over whole periods = b * rate * tau_a
    spikes = np.asarray(result.spike_train(0) / second)
    t = result.trace_time_s
    window = (t >= spikes[-21]) & (t < spikes[-1])
    mean_current = result.traces_si["I_ahp"][0][window].mean()
    assert mean_current == pytest.approx(b * tau_a / period, rel=0.01)
    # discrete orbit: the current right after a spike is b / (1 - a^N), N steps per period
    n_steps = round(isi[-1] / 1e-4)
    after_spike = result.traces_si["I_ahp"][0][np.searchsorted(t, spikes[-1] + 1e-4 / 2)]
    assert after_spike == pytest.approx(b / (1 - np.exp(-1e-4 / tau_a) ** n_steps), rel=1e-9)


def test_multi_ahp_reduces_to_single_ahp():
    single = LifAhpParams(tau_ahp=150 * ms, b_ahp=12 * pA)
    multi = MultiAhpParams(
        tau_ahp=np.array([150.0, 40.0, 900.0]) * ms, b_ahp=np.array([12.0, 0.0, 0.0]) * pA
    )
    stim = long_square([160, 220, 400] * pA, onset=50 * ms, width=800 * ms, duration=1 * second)
    one = run("lif_ahp", single, stim, record="v")
    three = run("lif_multi_ahp", multi, stim, record=["v", "I_ahp"])
    assert one.spike_counts().sum() > 20
    np.testing.assert_array_equal(one.spike_time_s, three.spike_time_s)
    np.testing.assert_array_equal(one.spike_neuron, three.spike_neuron)
    np.testing.assert_array_equal(one.traces_si["v"], three.traces_si["v"])


def test_alif_and_conductance_models_reduce_to_plain_lif():
    stim = long_square([250, 400] * pA, onset=20 * ms, width=500 * ms, duration=600 * ms)
    lif = run("lif_ahp", LifAhpParams(b_ahp=0 * pA), stim, record="v")
    alif = run("alif", AlifParams(delta_theta=0 * mV), stim, record="v")
    conductance = run("lif_cond_ahp", ConductanceAhpParams(delta_g=0 * nS), stim, record="v")
    for other in (alif, conductance):
        np.testing.assert_array_equal(lif.spike_time_s, other.spike_time_s)
        np.testing.assert_array_equal(lif.traces_si["v"], other.traces_si["v"])


def test_alif_threshold_jumps_and_decays():
    params = AlifParams(tau_a=100 * ms, delta_theta=3 * mV)
    stim = long_square([400] * pA, onset=0 * ms, width=300 * ms, duration=300 * ms)
    result = run("alif", params, stim, record="theta")
    spikes = np.asarray(result.spike_train(0) / second)
    theta = result.traces_si["theta"][0]
    t = result.trace_time_s
    # theta just after the first spike is delta_theta; before the second, it has decayed exactly
    first, second_ = spikes[0], spikes[1]
    after = np.searchsorted(t, first + 0.5e-4)
    before = np.searchsorted(t, second_ + 0.5e-4) - 1
    assert theta[after] == pytest.approx(3e-3, rel=1e-12)
    assert theta[before] == pytest.approx(3e-3 * np.exp(-(t[before] - t[after]) / 0.1), rel=1e-9)


def test_conductance_step_is_second_order():
    params = ConductanceAhpParams(**MEMBRANE, E_K=-90 * mV, tau_ahp=30 * ms)
    g0, current = 5e-9, 100e-12

    def rhs(_, y):
        v, g = y
        return [(-0.070 - v + 100e6 * (current - g * (v + 0.090))) / 0.020, -g / 0.030]

    t_end = 0.048
    reference = solve_ivp(rhs, (0, t_end), [-0.070, g0], method="DOP853", rtol=1e-13, atol=1e-16)
    errors = []
    for dt_ms in (0.4, 0.2, 0.1):
        steps = round(t_end / (dt_ms * 1e-3))
        stim = from_array(np.full(steps + 1, current * 1e12) * pA, dt=dt_ms * ms)
        result = run(
            "lif_cond_ahp",
            params,
            stim,
            duration=(steps + 1) * dt_ms * ms,
            record="v",
            initial_state={"g_ahp": g0 * 1e9 * nS},
        )
        v_end = result.traces_si["v"][0][steps]  # state at t_end
        errors.append(abs(v_end - reference.y[0, -1]))
    assert errors[0] < 1e-5  # volts: under 10 uV at dt = 0.4 ms
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


def test_glif3_exact_scheme_is_the_two_exponential_solution():
    from ahp_models import Glif3, Glif3Params

    params = Glif3Params(R=200 * Mohm, asc_tau=np.array([20.0, 5.0]) * ms)
    stim = long_square([0] * pA, onset=0 * ms, width=80 * ms, duration=80 * ms)
    result = run(
        Glif3(scheme="exact"),
        params,
        stim,
        record="v",
        initial_state={"I_asc_1": -50 * pA, "I_asc_2": 30 * pA},
    )
    t = result.trace_time_s
    tau_m = 200e6 * 95e-12  # R C = 19 ms
    dv = sum(
        200e6 * i0 * tau * (np.exp(-t / tau) - np.exp(-t / tau_m)) / (tau - tau_m)
        for i0, tau in ((-50e-12, 0.020), (30e-12, 0.005))
    )
    np.testing.assert_allclose(result.traces_si["v"][0], -0.073 + dv, rtol=0, atol=1e-13)


def test_loihi_form_follows_the_papers_recurrence():
    params = LoihiAhpParams(tau_v=20 * ms, tau_ahp=700 * ms, b_ahp=0.756, input_gain=0.02 / pA)
    current = np.r_[np.zeros(10), np.full(590, 150.0), np.zeros(200)]
    stim = from_array(current * pA, dt=1 * ms)
    result = run("loihi_ahp", params, stim, record=["v", "v_aux"])
    v, aux, s_prev = 0.0, 0.0, 0.0
    v_ref, aux_ref, spike_steps = [], [], []
    for step, i_ext in enumerate(current):
        aux = aux * (1 - 1 / 700) - 0.756 * s_prev
        v = v * (1 - 1 / 20) + 0.02 * i_ext + aux
        s_prev = 1.0 if v > 1.0 else 0.0
        if s_prev:
            v = 0.0
            spike_steps.append(step)
        v_ref.append(v)
        aux_ref.append(aux)
    assert len(spike_steps) >= 5
    np.testing.assert_array_equal(np.round(result.spike_time_s / 1e-3).astype(int), spike_steps)
    # the monitor samples at the start of each step: sample k+1 is the state after step k
    np.testing.assert_allclose(result.traces_si["v"][0][1:], v_ref[:-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.traces_si["v_aux"][0][1:], aux_ref[:-1], rtol=0, atol=1e-12)
