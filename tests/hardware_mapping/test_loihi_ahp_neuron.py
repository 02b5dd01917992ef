"""The paper's two-compartment AHP neuron: a hand-derived trace and its AHP time constant."""

import numpy as np
import pytest

from hardware_mapping.loihi import Network, Simulator
from hardware_mapping.loihi.ahp_neuron import add_ahp_population, ahp_time_constant_steps


def run_small_case(join_target: str, decay_u: int = 4096, steps: int = 16):
    network = Network(join_target=join_target)
    add_ahp_population(
        network, "n", 1, decay_v=0, decay_ahp=2048, vth_mant=4, weight_aux=1, bias_mant=100,
        decay_u=decay_u,
    )  # fmt: skip
    return Simulator(network, record="all").run(steps)


def test_hand_derived_trace():
    """Bias 100 per step, vth 4 << 6 = 256, AHP weight 1 << 6 = 64, AHP halves each step.

    step  v_aux                         v_main
    0-2   0                             100, 200, 300 > 256: spike, 0
    3     D(0) - 64 = -64               0 + 100 - 64 = 36
    4     D(-64) = -32                  36 + 100 - 32 = 104
    5     -16                           104 + 100 - 16 = 188
    6     -8                            188 + 100 - 8 = 280 > 256: spike, 0
    7     D(-8) - 64 = -68              0 + 100 - 68 = 32
    8     -34                           32 + 100 - 34 = 98
    9     -17                           98 + 100 - 17 = 181
    10    D(-17) = -8 (toward zero)     181 + 100 - 8 = 273: spike, 0
    11..  repeats steps 7-10: period 4 instead of 3 without the AHP
    """
    run = run_small_case("v")
    assert run.v["n_aux"][:11, 0].tolist() == [0, 0, 0, -64, -32, -16, -8, -68, -34, -17, -8]
    assert run.v["n"][:11, 0].tolist() == [100, 200, 0, 36, 104, 188, 0, 32, 98, 181, 0]
    assert np.flatnonzero(run.spikes["n"][:, 0]).tolist() == [2, 6, 10, 14]
    assert not run.spikes["n_aux"].any()


def test_join_conventions_agree_when_the_parent_current_does_not_persist():
    into_v, into_u = run_small_case("v"), run_small_case("u")
    np.testing.assert_array_equal(into_v.v["n"], into_u.v["n"])
    np.testing.assert_array_equal(into_v.spikes["n"], into_u.spikes["n"])


def test_join_conventions_differ_with_a_persistent_parent_current():
    """decay_u 2048 in the parent: joined into u, the AHP is filtered by the current decay.

    step 3, "u": u = D(0) - 64 = -64, v = 0 + (-64) + 100 = 36 (as "v")
    step 4, "u": u = D(-64) + (-32) = -64, v = 36 - 64 + 100 = 72  ("v": 104)
    """
    into_v, into_u = run_small_case("v", decay_u=2048), run_small_case("u", decay_u=2048)
    assert into_v.v["n"][3:5, 0].tolist() == [36, 104]
    assert into_u.u["n"][3:5, 0].tolist() == [-64, -64]
    assert into_u.v["n"][3:5, 0].tolist() == [36, 72]


@pytest.mark.parametrize("decay", [5, 41, 205])
def test_effective_ahp_time_constant(decay):
    """The AHP decays with tau = -1/ln(1 - d/4096) steps, 4096/d to first order.

    One large AHP kick (weight 255, exponent 7 = 2**21) decays in the aux compartment; the
    e-folding time is measured from the integer trace by a log-linear fit.
    """
    network = Network()
    add_ahp_population(
        network, "n", 1, decay_v=0, decay_ahp=decay, vth_mant=0, weight_aux=255, weight_exp=7,
        bias_mant=1,
    )  # fmt: skip
    # the main compartment spikes once (v = 1 > 0), then the AHP holds it below threshold
    steps = int(3 * 4096 / decay)
    run = Simulator(network, record="all").run(steps)
    assert np.flatnonzero(run.spikes["n"][:, 0]).tolist() == [0]
    trace = -run.v["n_aux"][2:, 0].astype(float)
    slope = np.polyfit(np.arange(trace.size), np.log(trace), 1)[0]
    measured = -1 / slope
    assert measured == pytest.approx(ahp_time_constant_steps(decay), rel=2e-3)
    assert measured == pytest.approx(4096 / decay, rel=0.03)
    if decay == 5:  # the paper's tau_AHP = 700 steps, int(4096/700) = 5: 819 steps, not 700
        assert round(measured) in (818, 819)
