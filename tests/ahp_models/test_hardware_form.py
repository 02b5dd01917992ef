"""Each model's hardware form is the model: its recursion reproduces the Brian2 simulation."""

import numpy as np
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import LifAhpParams, long_square, model_for_params, simulate
from ahp_models.alif import AlifParams
from ahp_models.lif_ahp import MultiAhpParams
from ahp_models.loihi_form import LoihiAhpParams


def form_trace(form, current_pA, spikes, steps):
    """x(t) of the form's recursion, given the model's own spike steps (x = 0 after one)."""
    x = form.rest
    traces = np.zeros(len(form.terms))
    keeps = np.array([t.keep for t in form.terms])
    inflows = np.array([t.inflow for t in form.terms])
    out = np.zeros(steps)
    for step in range(steps):
        x = form.keep_v * x + form.drive(current_pA[step]) - inflows @ traces
        traces = keeps * traces
        if step in spikes:
            x = 0.0
            traces = traces + 1.0
        out[step] = x
    return out


@pytest.mark.parametrize(
    "params, offset, drive",
    [
        (LifAhpParams(t_ref=0 * ms, tau_ahp=150 * ms, b_ahp=30 * pA), "V_reset", 3.0),
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
