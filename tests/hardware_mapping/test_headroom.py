"""The proven state bound: no mapped neuron leaves it, driven anywhere in its stated range."""

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, pA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ahp_models import LifAhpInputParams, LifAhpParams
from ahp_models.lif_ahp import MultiAhpParams
from ahp_models.loihi_form import LoihiAhpParams
from hardware_mapping.headroom import STATE_LIMIT, bound_state, voltage_bound
from hardware_mapping.loihi import Network, Simulator
from hardware_mapping.neuron_mapping import MappingError, map_neuron


def drive_through_range(mapping, steps=600):
    """Rest, the top of the range, the bottom, the top again, then rest: every compartment's
    largest |v| and the run's saturation and overflow counts."""
    low, high = mapping.current_range_pA
    network = Network()
    mapping.add_to(network, "n", np.zeros(1) * pA)
    simulator = Simulator(network, record="all")
    simulator.set_state("n", v=[mapping.v_rest])
    largest = {}
    events = 0
    for current in (0.0, high, low, high, 0.0):
        simulator.set_bias("n", *mapping.bias(np.array([current]) * pA))
        # the AHP's share too, at the same step: the bound holds for any switching
        mapping.set_input_share(simulator, "n", np.array([current]) * pA)
        run = simulator.run(steps)
        events += int(run.counters["saturations"].sum() + run.counters["overflows"].sum())
        for group, v in run.v.items():
            largest[group] = max(largest.get(group, 0), int(np.abs(v).max()))
    return largest, events


def check_inside(mapping):
    bound = voltage_bound(mapping)
    assert bound.holds and bound.largest <= STATE_LIMIT
    largest, events = drive_through_range(mapping)
    assert events == 0
    assert largest["n"] <= max(bound.main_high, bound.main_low)
    for k, level in enumerate(bound.aux, start=1):
        assert largest[f"n_ahp{k}"] <= level
    return bound, largest


@pytest.mark.parametrize(
    "params",
    [LifAhpParams(), MultiAhpParams(), LifAhpParams(b_ahp=200 * pA, tau_ahp=2000 * ms),
     LoihiAhpParams(), LifAhpParams(E_L=-60 * mV, V_reset=-70 * mV),
     LifAhpInputParams(input_share=0.4), LifAhpInputParams(input_share=0.8, tau_ahp=20 * ms)],
)  # fmt: skip
def test_a_neuron_at_the_top_of_its_range_stays_inside_the_bound(params):
    mapping = map_neuron(params, current_range=(-100 * pA, 600 * pA))
    bound, largest = check_inside(mapping)
    # the scale uses the range: the bound is within 1 % + rounding of the 24-bit limit
    assert bound.headroom < 1.2
    # and the bound is not vacuous: the neuron gets within a factor of 8 of it
    assert max(largest.values()) > bound.largest / 8


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tau_m=st.floats(3, 60), r=st.floats(40, 600), tau_ahp=st.floats(5, 5000),
    b_ahp=st.floats(0, 300), high=st.floats(50, 1500), low=st.floats(-300, 0),
    t_ref=st.integers(1, 5),
)  # fmt: skip
def test_random_neurons_never_leave_their_bound(tau_m, r, tau_ahp, b_ahp, high, low, t_ref):
    params = LifAhpParams(tau_m=tau_m * ms, R=r * Mohm, tau_ahp=tau_ahp * ms, b_ahp=b_ahp * pA,
                          t_ref=t_ref * ms)  # fmt: skip
    try:
        mapping = map_neuron(params, current_range=(low * pA, high * pA))
    except MappingError as error:  # a range the registers cannot hold is refused by name
        assert "vth_mant" in str(error) or "cannot be held" in str(error)
        return
    check_inside(mapping)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tau_m=st.floats(3, 60), tau_ahp=st.floats(5, 5000), b_ahp=st.floats(0, 300),
    share=st.floats(0, 0.95), high=st.floats(50, 1500), low=st.floats(-300, 0),
)  # fmt: skip
def test_neurons_taking_a_share_of_their_input_never_leave_their_bound(
    tau_m, tau_ahp, b_ahp, share, high, low
):
    # the AHP compartments' biases follow the input, upwards for a negative current
    params = LifAhpInputParams(tau_m=tau_m * ms, tau_ahp=tau_ahp * ms, b_ahp=b_ahp * pA,
                               input_share=share)  # fmt: skip
    try:
        mapping = map_neuron(params, current_range=(low * pA, high * pA))
    except MappingError as error:
        assert "vth_mant" in str(error) or "cannot be held" in str(error)
        return
    check_inside(mapping)


def test_the_bound_of_a_neuron_silenced_by_its_ahp_covers_the_undershoot():
    # a strong, slow AHP: at the top of the range it builds up to nearly the drive, and when
    # the drive drops the membrane falls far below rest; the bound's total-AHP argument
    # (sum |v_aux| below the largest drive) is what keeps that inside the range
    params = LifAhpParams(b_ahp=400 * pA, tau_ahp=3000 * ms)
    mapping = map_neuron(params, current_range=(0 * pA, 800 * pA))
    bound, largest = check_inside(mapping)
    assert largest["n"] > 0.3 * bound.main_low


def test_a_range_the_registers_cannot_hold_is_refused_naming_cell_register_and_value():
    expected = (r"map_neuron \(cell_7\): current_range -1e\+06\.\.1e\+06 pA cannot be held: "
                r".*vth_mant \(vThMant\) = \d+, below 64")  # fmt: skip
    with pytest.raises(MappingError, match=expected):
        map_neuron(LifAhpParams(), current_range=(-1e6 * pA, 1e6 * pA), name="cell_7")


def test_bound_terms_by_hand():
    # no AHP, bias 10 per step, threshold 100: v reaches at most 100 + 10 before the check;
    # nothing pulls it below its rest of -5
    bound = bound_state(vth=100, keep_v=0.9, v_rest=-5, biases=[0, 10], refract_delay=1, aux=[])
    assert (bound.main_high, bound.main_low) == (110, 5)
    # one AHP compartment of input -20 per spike; a bias of 9 climbs to at most 90 < 100:
    # the neuron can fire at most once (from a resting state above threshold)
    one = bound_state(vth=100, keep_v=0.9, v_rest=0, biases=[0, 9], refract_delay=1,
                      aux=[(-20.0, 0.0, 0.99)])  # fmt: skip
    assert one.min_period == np.inf and one.aux == (20.0,)
    # a bias of 50 fires every 2 steps at most: an AHP that barely decays is bounded by the
    # drive plus one increment (70), not by its geometric sum (20 / (1 - 0.999**2))
    fast = bound_state(vth=100, keep_v=0.9, v_rest=0, biases=[0, 50], refract_delay=1,
                       aux=[(-20.0, 0.0, 0.999)])  # fmt: skip
    assert fast.aux == (70.0,)
    assert fast.main_low == pytest.approx(70.0 / 0.1)


def test_a_compartment_that_can_swing_both_ways_counts_on_both_sides():
    # input -50000 per spike with a bias of +1: it pulls the membrane down after a spike
    bound = bound_state(vth=6400, keep_v=0.95, v_rest=0, biases=[0, 1000], refract_delay=1,
                        aux=[(-50000.0, 1.0, 0.99)])  # fmt: skip
    assert bound.main_low >= 50000


def test_a_networks_synaptic_input_is_part_of_the_mappings_bound():
    alone = map_neuron(LifAhpParams(), current_range=(0 * pA, 300 * pA))
    wired = map_neuron(LifAhpParams(), current_range=(0 * pA, 300 * pA),
                       synaptic_input=(200 * mV, 50 * mV))  # fmt: skip
    bound = voltage_bound(wired)
    assert bound.holds and bound.main_input > 0
    assert bound.headroom < 1.2 and wired.vth_mant < alone.vth_mant
    with pytest.raises(MappingError, match="synaptic_input has 1 values"):
        map_neuron(LifAhpParams(), synaptic_input=(1 * mV,))
