"""Recurrent synapses: when the jump lands, refractory gating, and bad input."""

import numpy as np
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import LifAhpParams, ParameterError, RecurrentSynapses, long_square, simulate


def run(synapses, t_ref=2 * ms):
    stimulus = long_square(
        np.array([300.0, 0.0]) * pA, onset=0 * second, width=0.1 * second,
        duration=0.1 * second, dt=1 * ms,
    )  # fmt: skip
    params = LifAhpParams(t_ref=t_ref, b_ahp=0 * pA)
    return simulate("lif_ahp", params, stimulus, synapses=synapses, record=["v"])


@pytest.mark.parametrize("delay_steps", [1, 4])
def test_a_spike_at_step_t_moves_the_target_at_step_t_plus_delay(delay_steps):
    synapses = RecurrentSynapses(np.array([0]), np.array([1]), 5 * mV, delay_steps * ms)
    result = run(synapses)
    first = round(result.spike_time_s[result.spike_neuron == 0][0] * 1e3)
    v = result.traces_si["v"][1] * 1e3  # recorded at the start of each step
    jump = int(np.flatnonzero(v > -70 + 1e-9)[0]) - 1  # the step whose update moved it
    assert jump == first + delay_steps
    # the jump enters before the threshold check, undecayed: -70 + 5 mV exactly
    assert v[jump + 1] == pytest.approx(-65.0, abs=1e-9)


def test_a_refractory_target_ignores_its_input():
    # neuron 0 excites itself 1 step after each spike, while it is still refractory (3 steps)
    synapses = RecurrentSynapses(np.array([0]), np.array([0]), 20 * mV, 1 * ms)
    gated = run(synapses, t_ref=3 * ms)
    alone = run(RecurrentSynapses(np.zeros(0, int), np.zeros(0, int), 0 * mV), t_ref=3 * ms)
    assert np.array_equal(gated.spike_time_s, alone.spike_time_s)


def test_bad_synapses_are_refused():
    with pytest.raises(ParameterError, match=r"pre has shape .* post"):
        RecurrentSynapses(np.array([0, 1]), np.array([1]), 1 * mV)
    with pytest.raises(ParameterError, match="weight: 3 values; allowed: one, or one finite"):
        RecurrentSynapses(np.array([0, 1]), np.array([1, 0]), np.ones(3) * mV)
    synapses = RecurrentSynapses(np.array([0]), np.array([1]), 1 * mV, 0.5 * ms)
    with pytest.raises(ParameterError, match=r"delay\[0\] = 0.5 ms; allowed: a whole number"):
        synapses.check(2, 1e-3)
    with pytest.raises(ParameterError, match=r"post holds 1; allowed: 0..0"):
        RecurrentSynapses(np.array([0]), np.array([1]), 1 * mV).check(1, 1e-3)
