"""Each model's hardware form is the model: its recursion reproduces the Brian2 simulation."""

import numpy as np
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import LifAhpParams, long_square, model_for_params, simulate
from ahp_models.alif import AlifParams
from ahp_models.hardware_form import refractory_steps
from ahp_models.lif_ahp import MultiAhpParams
from ahp_models.lif_ahp_input import LifAhpInputParams
from ahp_models.loihi_form import LoihiAhpParams


def form_trace(form, current_pA, spikes, steps):
    """x(t) of the form's recursion, given the model's own spike steps (x = 0 after one)."""
    x = form.rest
    traces = np.zeros(len(form.terms))
    keeps = np.array([t.keep for t in form.terms])
    inflows = np.array([t.inflow for t in form.terms])
    shares = np.zeros(len(form.inputs))  # z_j, on their terms' decays
    share_keeps = np.array([form.term_named(j.term).keep for j in form.inputs])
    share_inputs = np.array([j.per_pA for j in form.inputs])
    out = np.zeros(steps)
    for step in range(steps):
        x = form.keep_v * x + form.drive(current_pA[step]) - inflows @ traces - shares.sum()
        traces = keeps * traces
        shares = share_keeps * shares + share_inputs * current_pA[step]
        if step in spikes:
            x = 0.0
            traces = traces + 1.0
        out[step] = x
    return out


@pytest.mark.parametrize(
    "params, offset, drive",
    [
        (LifAhpParams(t_ref=0 * ms, tau_ahp=150 * ms, b_ahp=30 * pA), "V_reset", 3.0),
        (
            LifAhpInputParams(t_ref=0 * ms, tau_ahp=150 * ms, b_ahp=5 * pA, input_share=0.3),
            "V_reset",
            1.5,
        ),
        (MultiAhpParams(t_ref=0 * ms), "V_reset", 3.0),
        (AlifParams(t_ref=0 * ms), "V_reset", 3.0),
        (LoihiAhpParams(b_ahp=0.02), None, 12.0),
    ],
)
def test_the_forms_recursion_is_the_simulated_model(params, offset, drive):
    model = model_for_params(params)
    form = model.hardware_form(params, 1e-3)
    amplitude = drive * float(model.rheobase(params) / pA)
    stimulus = long_square(np.array([amplitude]) * pA, onset=20 * ms, width=0.3 * second,
                           duration=0.35 * second, dt=1 * ms)  # fmt: skip
    result = simulate(model, params, stimulus, record=["v"] + (["theta"] if offset and
                      form.terms[0].rule == "threshold" else []))  # fmt: skip
    steps = 350
    # the update of step i (input I(i dt)) gives v((i + 1) dt); a crossing in it is the spike
    # Brian2 reports at i dt, and the monitor records v(i dt) before the update
    spikes = set(np.round(np.asarray(result.spike_time_s) * 1e3).astype(int))
    assert len(spikes) > 5
    current = np.where((np.arange(steps) >= 20) & (np.arange(steps) < 320), amplitude, 0.0)
    x = form_trace(form, current, spikes, steps)
    v = np.asarray(result.trace("v"))[0]
    if offset is None:
        expected = v
    else:
        expected = (v - float(getattr(params, offset) / mV) * 1e-3) * 1e3
        if form.terms[0].rule == "threshold":  # w = v - theta
            expected -= np.asarray(result.trace("theta"))[0] * 1e3
    compared = steps - 1
    if form.terms[0].rule == "threshold":
        # the form resets w = v - theta to 0 where ALIF resets v (w = -theta): exact up to the
        # first spike, an approximation after it (as on the paper's chip)
        compared = min(spikes)
    assert np.allclose(x[:compared], expected[1 : compared + 1], atol=1e-9, rtol=1e-9)


def _stepped_intervals_ms(params, currents_pA, dt_ms):
    """Mean interspike interval (ms) per current of the model stepped at ``dt_ms``."""
    stimulus = long_square(currents_pA * pA, onset=0 * ms, width=0.5 * second,
                           duration=0.5 * second, dt=dt_ms * ms)  # fmt: skip
    result = simulate(model_for_params(params), params, stimulus)
    neurons = np.asarray(result.spike_neuron)
    times_ms = np.asarray(result.spike_time_s) * 1e3
    return np.array([np.diff(times_ms[neurons == i]).mean() for i in range(currents_pA.size)])


@pytest.mark.parametrize("t_ref_ms", [0.0, 1.0, 2.3, 2.7, 4.0])
def test_refractory_steps_keep_the_continuous_models_mean_interval(t_ref_ms):
    # without AHP an interval is t_ref plus the closed-form time from V_reset to V_th
    dt_ms = 1.0
    params = LifAhpParams(t_ref=t_ref_ms * ms, b_ahp=0 * pA, tau_m=20 * ms)
    drive_mV = np.linspace(21.5, 60.0, 45)  # R I: intervals of about 6-50 ms
    currents_pA = drive_mV / float(params.R / (mV / pA))
    E_L, V_th, V_reset = (float(getattr(params, name) / mV) for name in ("E_L", "V_th", "V_reset"))
    to_threshold_ms = 20.0 * np.log((E_L + drive_mV - V_reset) / (E_L + drive_mV - V_th))
    continuous_ms = t_ref_ms + to_threshold_ms
    steps = refractory_steps(t_ref_ms, dt_ms)
    held = params.__class__(**{**params.__dict__, "t_ref": steps * dt_ms * ms})
    error_ms = _stepped_intervals_ms(held, currents_pA, dt_ms) - continuous_ms
    # each interval is (steps - 1) held steps + ceil(time to threshold): on average the
    # continuous interval plus (steps - 1/2) dt - t_ref, never more than a step beside that
    dead_time_ms = (steps - 0.5) * dt_ms
    assert np.all(np.abs(error_ms - (dead_time_ms - t_ref_ms)) <= 0.5 * dt_ms + 1e-9)
    assert abs(error_ms.mean() - (dead_time_ms - t_ref_ms)) < 0.1 * dt_ms
    # periods of whole steps keep them; others take the next whole step
    assert steps == max(1, int(np.ceil(t_ref_ms)))
    if t_ref_ms > 1 and 0 < t_ref_ms % 1 < 0.5:  # the nearest step is most of a step short
        nearest = params.__class__(**{**params.__dict__, "t_ref": round(t_ref_ms) * ms})
        nearest_error = _stepped_intervals_ms(nearest, currents_pA, dt_ms) - continuous_ms
        assert nearest_error.mean() < -0.5 * dt_ms


def test_refractory_steps_of_arrays_and_float_noise():
    assert refractory_steps(0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    assert refractory_steps(0.0, 1.0) == 1
    periods_ms = np.array([0.3, 2.0, 2.0002, 1.9998, 2.02])  # 1e-4 relative stays on 2 steps
    np.testing.assert_array_equal(refractory_steps(periods_ms, 1.0), [1, 2, 2, 2, 3])
