"""Lava's published gold vectors (lava-nc/lava tests/lava/proc/{lif,dense}/test_models.py).

Lava needs Python < 3.11, so its test cases are rebuilt here with `lava_lif` / `lava_dense` and
run by the simulator's Lava mode; the expected arrays are Lava's, unchanged. Lava's test
senders deliver activations to a LIF in the same step; here they come from a SpikeInput one step
earlier, so the step index of a LIF quantity is Lava's time_step - 1 in both.
"""

import numpy as np
import pytest

from hardware_mapping.loihi import Network, RegisterError, Simulator, SpikeInput
from hardware_mapping.loihi.lava import lava_dense, lava_dense_weights, lava_lif


def lif_impulse(du: int, dv: int, activation: int, steps: int) -> tuple[list, list]:
    """Lava's VecSend (activation at time_step 1) into one LIF; u and v per time step."""
    network = Network()
    lif = lava_lif("lif", 1, du=du, dv=dv, bias_mant=0, bias_exp=1, vth=256)
    sender = SpikeInput("send", 1, steps=[0], indices=[0])
    # a Dense of weight `activation` passes the activation on unchanged
    network.add(lif, sender, lava_dense("a_in", sender, lif, np.array([[activation]])))
    run = Simulator(network, mode="lava", record="all").run(steps + 1)
    return run.u["lif"][1:, 0].tolist(), run.v["lif"][1:, 0].tolist()


def test_bitacc_pm_no_decay():
    network = Network()
    network.add(lava_lif("lif", 10, du=0, dv=0, bias_mant=2, bias_exp=6, vth=8))
    run = Simulator(network, mode="lava", record="all").run(10)
    expected = np.zeros((10, 10))
    expected[4:10:5, :] = 1
    np.testing.assert_array_equal(run.spikes["lif"], expected)


def test_bitacc_pm_impulse_du():
    u, _ = lif_impulse(du=2047, dv=0, activation=128, steps=8)
    assert u == [1 << (13 - j) for j in range(8)]
    assert (np.array(u) >> 6).tolist() == [1 << (7 - j) for j in range(8)]


def test_bitacc_pm_impulse_dv():
    _, v = lif_impulse(du=0, dv=2048, activation=128, steps=8)
    assert v == [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]
    as_float = np.right_shift(np.array(v), 6)
    as_float[1:] += 1  # Lava's compensation of the dsOffset drift
    assert as_float.tolist() == [128, 192, 224, 240, 248, 252, 254, 255]


def test_bitacc_pm_negative_impulses():
    """TernaryLIF's negative impulse gold vectors (same subthreshold model as LIF)."""
    u, _ = lif_impulse(du=2047, dv=0, activation=-128, steps=8)
    assert u == [(-1) << (13 - j) for j in range(8)]
    _, v = lif_impulse(du=0, dv=2048, activation=-128, steps=8)
    assert v == [-8192, -12286, -14331, -15351, -15859, -16111, -16235, -16295]


def test_bitacc_pm_scaling_of_bias():
    # Lava's test uses vth = 2**17, one more than the 17-bit register holds (rejected here);
    # the largest legal threshold leaves the check unchanged.
    network = Network()
    network.add(lava_lif("lif", 1, du=0, dv=0, bias_mant=2**12 - 1, bias_exp=5, vth=2**17 - 1))
    run = Simulator(network, mode="lava", record="all").run(1)
    assert run.v["lif"][0, 0] == (2**12 - 1) * 2**5
    with pytest.raises(RegisterError, match="vth_mant"):
        lava_lif("lif", 1, vth=2**17)


def dense_a_out(weights, delays=0, **dense_options) -> np.ndarray:
    """a_out of a (3, 4) Dense whose 4 inputs all spike at time_step 4, per time step."""
    steps = 8
    network = Network(delay_bits=2)
    # du = 4095 clears u each step, so u = a_out << 6 shows the activation of that step
    probe = lava_lif("probe", 3, du=4095, dv=0, vth=2**17 - 1)
    sender = SpikeInput("send", 4, steps=[3] * 4, indices=range(4))
    dense = lava_dense("dense", sender, probe, weights, delays=delays, **dense_options)
    network.add(probe, sender, dense)
    run = Simulator(network, mode="lava", record="all").run(steps)
    assert (run.u["probe"] % 64 == 0).all()
    return run.u["probe"] // 64


def fan_out(column_values):
    weights = np.zeros((3, 4))
    weights[:, 2] = column_values
    return weights


def expected_at(step: int, values, steps: int = 8) -> np.ndarray:
    expected = np.zeros((steps, 3))
    expected[step, :] = values
    return expected


def test_bitacc_pm_fan_out_excitatory():
    a_out = dense_a_out(fan_out([0.5, 300, 40]), sign_mode="excitatory", lossy=True)
    np.testing.assert_array_equal(a_out, expected_at(4, [0, 255, 40]))


def test_bitacc_pm_fan_out_mixed_sign():
    a_out = dense_a_out(fan_out([300, -300, 39]), sign_mode="mixed", lossy=True)
    np.testing.assert_array_equal(a_out, expected_at(4, [254, -256, 38]))


def test_bitacc_pm_fan_out_weight_exp():
    a_out = dense_a_out(fan_out([300, -300, 39]), weight_exp=1, lossy=True)
    np.testing.assert_array_equal(a_out, expected_at(4, [508, -512, 76]))


def test_bitacc_pm_fan_out_weight_precision():
    a_out = dense_a_out(fan_out([300, -300, 39]), num_weight_bits=7, lossy=True)
    np.testing.assert_array_equal(a_out, expected_at(4, [252, -256, 36]))


def test_bitacc_pm_fan_in_mixed_sign():
    weights = np.zeros((3, 4))
    weights[2, :] = [300, -300, 39, -0.4]
    a_out = dense_a_out(weights, sign_mode="mixed", lossy=True)
    expected = np.zeros((8, 3))
    expected[4, 2] = 36
    np.testing.assert_array_equal(a_out, expected)


def test_bitacc_pm_delay_dense():
    """DelayDense gold vectors: delays 0, 1, 2 and a shared delay of 2."""
    delays = np.zeros((3, 4), dtype=int)
    delays[:, 2] = [0, 1, 2]
    a_out = dense_a_out(fan_out([0.5, 300, 40]), delays, sign_mode="excitatory", lossy=True)
    expected = np.zeros((8, 3))
    expected[4, 0], expected[5, 1], expected[6, 2] = 0, 255, 40
    np.testing.assert_array_equal(a_out, expected)
    a_out = dense_a_out(fan_out([300, -300, 39]), delays, weight_exp=1, lossy=True)
    expected[4, 0], expected[5, 1], expected[6, 2] = 508, -512, 76
    np.testing.assert_array_equal(a_out, expected)
    a_out = dense_a_out(fan_out([300, -300, 39]), 2, num_weight_bits=7, lossy=True)
    np.testing.assert_array_equal(a_out, expected_at(6, [252, -256, 36]))


def test_weight_exp_applies_to_the_sum():
    """Dense shifts the summed input: 3 + 3 >> 1 is 3, per-synapse shifts would give 2."""
    network = Network()
    probe = lava_lif("probe", 1, du=4095, dv=0, vth=2**17 - 1)
    sender = SpikeInput("send", 2, steps=[0, 0], indices=[0, 1])
    network.add(
        probe, sender, lava_dense("dense", sender, probe, np.array([[3, 3]]), weight_exp=-1)
    )
    run = Simulator(network, mode="lava", record="all").run(2)
    assert run.u["probe"][1, 0] == (6 >> 1) << 6


def test_lossy_conversion_is_an_error_unless_asked_for():
    with pytest.raises(RegisterError, match=r"weights\[1\] = -300 is outside -256..255"):
        lava_dense_weights(np.array([254, -300]))
    with pytest.raises(RegisterError, match=r"weights\[0\] = 39 has nonzero low bits"):
        lava_dense_weights(np.array([39, -2]))
    with pytest.raises(RegisterError, match="is not an integer"):
        lava_dense_weights(np.array([0.5, 2]))
    converted = lava_dense_weights(np.array([300, -300, 39, 0.5]), lossy=True)
    assert converted.weights.tolist() == [254, -256, 38, 0]
    assert (converted.cast, converted.clipped, converted.truncated) == (1, 2, 2)


def test_lava_wraps_u_with_its_own_rule():
    """u = 2**23 stays (Lava wraps only above it); 2**23 + 8192 wraps to -(2**23) + 8192."""
    network = Network()
    lif = lava_lif("lif", 2, du=4095, dv=4095, vth=2**17 - 1)
    sender = SpikeInput("send", 8, steps=[0] * 8, indices=range(8))
    weights = np.full((2, 8), 128)
    weights[1, 0] = 129  # sums 1024 and 1025, times 2**7 (weight_exp) times 2**6
    network.add(lif, sender, lava_dense("dense", sender, lif, weights, weight_exp=7))
    run = Simulator(network, mode="lava", record="all").run(2)
    assert run.u["lif"][1].tolist() == [2**23, -(2**23) + 8192]
    # the chip's two's complement would have wrapped both; Lava counts one overflow
    assert run.counters["overflows"].sum() == 1
