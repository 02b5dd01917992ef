"""Anchor vectors of the chip's arithmetic (nengo-loihi, Lava and brian2-loihi agree on them)."""

import numpy as np
import pytest

from hardware_mapping.loihi import CompartmentGroup, Network, Simulator, SpikeInput, SynapseGroup
from hardware_mapping.loihi.arithmetic import decay, scale_by_exponent, synaptic_input, wrap


def impulse_response(decay_u: int, decay_v: int, weight: int, weight_exp: int, steps: int):
    """u and v of one compartment after a single input spike (from the step it arrives)."""
    network = Network()
    cell = CompartmentGroup("cell", 1, decay_u=decay_u, decay_v=decay_v)
    source = SpikeInput("source", 1, steps=[0], indices=[0])
    network.add(
        cell, source, SynapseGroup("input", source, cell, [0], [0], [weight], weight_exp=weight_exp)
    )
    run = Simulator(network, record="all").run(steps + 1)
    # the spike of step 0 arrives at step 1
    assert run.u["cell"][0, 0] == 0
    return run.u["cell"][1:, 0].tolist(), run.v["cell"][1:, 0].tolist()


def test_anchor_1_current_decay_2048():
    # weight 128 at exponent 0 adds 128 << 6 = 8192
    assert synaptic_input(np.array([128]))[0] == 8192
    u, v = impulse_response(decay_u=2048, decay_v=0, weight=128, weight_exp=0, steps=8)
    assert u == [8192, 4096, 2048, 1024, 512, 256, 128, 64]
    assert v[:7] == [8192, 12288, 14336, 15360, 15872, 16128, 16256]


def test_anchor_2_voltage_decay_2048_with_minimal_current_decay():
    _, v = impulse_response(decay_u=1, decay_v=2048, weight=128, weight_exp=0, steps=8)
    assert v == [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]


@pytest.mark.parametrize("refract_delay", [1, 2, 3])
def test_anchor_3_bias_threshold_refractory(refract_delay):
    network = Network()
    network.add(
        CompartmentGroup(
            "cell",
            1,
            decay_u=4096,
            decay_v=0,
            bias_mant=128,
            vth_mant=512 >> 6,
            refract_delay=refract_delay,
        )
    )
    run = Simulator(network, record="all").run(3 * (5 + refract_delay - 1))
    period = [128, 256, 384, 512, 0] + [0] * (refract_delay - 1)
    assert run.v["cell"][:, 0].tolist() == period * 3
    spikes = np.flatnonzero(run.spikes["cell"][:, 0])
    assert spikes.tolist() == [4 + k * len(period) for k in range(3)]


def test_anchor_4_negative_current_truncates_toward_zero():
    expected = [-100, -50, -25, -12, -6, -3, -1]
    x = np.array([-100])
    series = [int(x[0])]
    for _ in range(6):
        x = decay(x, 2048)
        series.append(int(x[0]))
    assert series == expected
    # the same through the simulator from an initial u
    network = Network()
    network.add(CompartmentGroup("cell", 1, decay_u=2048, decay_v=0))
    simulator = Simulator(network, record="all")
    simulator.set_state("cell", u=-100)
    assert simulator.run(6).u["cell"][:, 0].tolist() == expected[1:]
    # floor would give -13 after -25; the chip gives -12
    assert decay(np.array([-25]), 2048)[0] == -12


def test_wrap_is_twos_complement():
    values = np.array([2**23 - 1, 2**23, -(2**23), -(2**23) - 1, 3 * 2**23])
    wrapped, overflowed = wrap(values, 23)
    assert wrapped.tolist() == [2**23 - 1, -(2**23), -(2**23), 2**23 - 1, -(2**23)]
    assert overflowed.tolist() == [False, True, False, True, True]


def test_weight_exponent_shift_matches_nengo_loihi_and_brian2_loihi():
    """Added input = 64 * floor(w * 2**weight_exp): nengo-loihi's two-part (lossy) shift,
    which brian2-loihi also computes; a single shift agrees whenever the bits
    below 2**-weight_exp are zero."""
    rng = np.random.default_rng(0)
    weights = rng.integers(-128, 128, 2000) * 2
    for exp in range(-8, 8):
        expected = 64 * np.floor(weights * 2.0**exp).astype(np.int64)
        np.testing.assert_array_equal(synaptic_input(weights, weight_exp=exp), expected)
        aligned = weights[weights % (1 << max(-exp, 0)) == 0]
        single_shift = np.floor(aligned * 2.0 ** (6 + exp)).astype(np.int64)
        np.testing.assert_array_equal(synaptic_input(aligned, weight_exp=exp), single_shift)


def test_negative_weight_exponents_drop_the_low_bits_first():
    """nengo-loihi's lossy shift: (w >> -e) << 6, rounding toward -inf (the sMNIST AHP synapse
    -96 with exponent -4 adds -384)."""
    negative, positive = np.array([-96, -95, -7, -255]), np.array([95, 7, 255, 1])
    for exponent in range(-8, 0):
        for mantissas, sign_mode in ((negative, "inhibitory"), (positive, "excitatory")):
            expected = np.floor(mantissas / 2.0**-exponent).astype(np.int64) * 64
            added = synaptic_input(mantissas, 8, sign_mode, exponent)
            np.testing.assert_array_equal(added, expected)
            np.testing.assert_array_equal(64 * scale_by_exponent(mantissas, exponent), expected)
    assert synaptic_input(np.array([-96]), 8, "inhibitory", -4)[0] == -384
