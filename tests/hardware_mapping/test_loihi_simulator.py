"""Simulator behaviour: bad registers, overflow policy, delays, counters, noise, recording."""

import itertools

import numpy as np
import pytest

from hardware_mapping.loihi import (
    CompartmentGroup,
    FixedPointOverflow,
    Network,
    RegisterError,
    Simulator,
    SpikeInput,
    SynapseGroup,
    max_delay,
)


@pytest.mark.parametrize(
    ("registers", "message"),
    [
        ({"decay_u": 4097}, r"decay_u = 4097 is outside the allowed range 0..4096"),
        ({"decay_v": -1}, r"decay_v = -1 is outside the allowed range 0..4096"),
        ({"vth_mant": 2**17}, r"vth_mant \(vThMant\) = 131072 is outside .* 0..131071"),
        ({"bias_mant": 4096}, r"bias_mant \(biasMant\) = 4096 is outside .* -4095..4095"),
        ({"bias_mant": -4096}, r"bias_mant \(biasMant\) = -4096 is outside"),
        ({"bias_exp": 8}, r"bias_exp \(biasExp\) = 8 is outside .* 0..7"),
        ({"refract_delay": 0}, r"refract_delay \(refractDelay\) = 0 is outside .* 1..63"),
        ({"refract_delay": 64}, r"refract_delay \(refractDelay\) = 64 is outside .* 1..63"),
        ({"vmin_exp": 24}, r"vmin_exp \(vMinExp\) = 24 is outside"),
        ({"vth_mant": [5, 6, 2**17]}, r"vth_mant \(vThMant\)\[2\] = 131072"),
        ({"bias_mant": 1.5}, r"bias_mant \(biasMant\) = 1.5 is not an integer"),
        ({"decay_u": [1, 2]}, r"decay_u has shape \(2,\); allowed: one value or 3 values"),
    ],
)
def test_out_of_range_registers_are_rejected_with_name_value_and_range(registers, message):
    with pytest.raises(RegisterError, match=message) as error:
        CompartmentGroup("cells", 3, **registers)
    assert "CompartmentGroup 'cells'" in str(error.value)


@pytest.mark.parametrize(
    ("options", "weights", "message"),
    [
        ({"weight_exp": 8}, [2], r"weight_exp \(weightExponent\) = 8 is outside .* -8..7"),
        ({"weight_exp": -9}, [2], r"weight_exp \(weightExponent\) = -9 is outside"),
        ({}, [256], r"weight\[0\] = 256 is outside the allowed range -256..255"),
        ({"sign_mode": "excitatory"}, [-2], r"weight\[0\] = -2 is outside .* 0..255"),
        ({}, [3], r"weight\[0\] = 3 is not a multiple of 2\*\*1"),
        ({"num_weight_bits": 6}, [8, 12], r"weight\[1\] = 12 is not a multiple of 2\*\*3"),
        ({"num_weight_bits": 9}, [2], r"num_weight_bits \(numWeightBits\) = 9 is outside"),
        ({"sign_mode": "both"}, [2], r"sign_mode = 'both'; allowed: mixed, excitatory"),
    ],
)
def test_bad_synapses_are_rejected(options, weights, message):
    cells = CompartmentGroup("cells", 2)
    with pytest.raises(RegisterError, match=message):
        SynapseGroup(
            "syn", cells, cells, [0] * len(weights), [1] * len(weights), weights, **options
        )


def test_delays_beyond_the_configured_bits_are_rejected():
    assert max_delay(6) == 62 and max_delay(4) == 14
    cells = CompartmentGroup("cells", 2)
    network = Network(delay_bits=4)
    network.add(cells)
    with pytest.raises(RegisterError, match=r"delays\[0\] = 15 exceeds the 14 steps that 4 delay"):
        network.add(SynapseGroup("syn", cells, cells, [0], [1], [2], delays=15))
    with pytest.raises(RegisterError, match=r"delay_bits = 7 is outside the allowed range 0..6"):
        Network(delay_bits=7)


def test_delays_land_at_t_plus_one_plus_delay():
    """One input spike at step 3 fans out to 63 compartments with delays 0..62."""
    network = Network(delay_bits=6)
    cells = CompartmentGroup("cells", 63, decay_u=4096, decay_v=4096)
    source = SpikeInput("source", 1, steps=[3], indices=[0])
    network.add(cells, source)
    network.add(SynapseGroup("syn", source, cells, [0] * 63, range(63), [2] * 63, delays=range(63)))
    run = Simulator(network, record="all").run(70)
    arrival_steps, compartments = np.nonzero(run.u["cells"])
    assert compartments.tolist() == list(range(63))
    assert arrival_steps.tolist() == [3 + 1 + d for d in range(63)]
    assert (run.u["cells"][arrival_steps, compartments] == 2 << 6).all()


def overflowing_network() -> Network:
    """u grows by 255 << 13 (~2**21) per step and passes 2**23 at step 5."""
    network = Network()
    cells = CompartmentGroup("cells", 2, decay_u=0, decay_v=4096)
    source = SpikeInput.from_raster("source", np.ones((10, 1), dtype=bool))
    network.add(cells, source)
    network.add(SynapseGroup("syn", source, cells, [0], [1], [254], weight_exp=7))
    return network


def test_strict_mode_names_compartment_step_and_value():
    with pytest.raises(FixedPointOverflow) as error:
        Simulator(overflowing_network(), strict=True).run(10)
    message = str(error.value)
    # arrivals at steps 1..: u = k * 254 * 2**13 exceeds 2**23 - 1 at k = 5, step 5
    assert "current u (23 bits + sign)" in message
    assert "CompartmentGroup 'cells'[1] at step 5" in message
    assert f"value {5 * 254 * 2**13}" in message


def test_non_strict_mode_wraps_and_counts():
    run = Simulator(overflowing_network(), record="all").run(10)
    expected = [0]
    for _ in range(9):
        total = expected[-1] + 254 * 2**13
        expected.append((total + 2**23) % 2**24 - 2**23)
    assert run.u["cells"][:, 1].tolist() == expected
    wraps = [a + 254 * 2**13 != b for a, b in itertools.pairwise(expected)]
    assert run.counters["overflows"].tolist() == [0, *map(int, wraps)]


def test_counters_count_synaptic_ops_spikes_and_updates():
    """Three compartments fire every step (bias above threshold) into 4 + 2 + 0 synapses."""
    network = Network()
    cells = CompartmentGroup("cells", 3, bias_mant=100, vth_mant=1)
    targets = CompartmentGroup("targets", 5, vth_mant=2**17 - 1)
    network.add(cells, targets)
    network.add(
        SynapseGroup("syn", cells, targets, [0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 0, 1], [2] * 6)
    )
    run = Simulator(network).run(6)
    counters = run.counters
    assert counters["spikes"].tolist() == [3] * 6
    assert counters["synaptic_ops"].tolist() == [6] * 6
    assert counters["neuron_updates"].tolist() == [8] * 6
    # step 0: only the three biased compartments have work; then 4 targets receive input
    assert counters["active_updates"].tolist() == [3] + [7] * 5
    assert run.spike_counts["cells"].tolist() == [6, 6, 6]


def test_noise_is_reproducible_per_seed():
    def run(seed):
        network = Network()
        network.add(CompartmentGroup("cells", 50, noise_exp=10, vth_mant=50))
        return Simulator(network, seed=seed, record="all").run(200).v["cells"]

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    with pytest.raises(RegisterError, match="give seed="):
        network = Network()
        network.add(CompartmentGroup("cells", 1, noise_exp=3))
        Simulator(network)


def test_runs_continue_from_the_state_and_record_chosen_compartments():
    network = Network()
    network.add(CompartmentGroup("cells", 4, bias_mant=[10, 20, 30, 40], vth_mant=2))
    whole = Simulator(network, record={"cells": [1, 3]}).run(20)
    simulator = Simulator(network, record={"cells": [1, 3]})
    first, second = simulator.run(8), simulator.run(12)
    assert second.first_step == 8
    np.testing.assert_array_equal(
        np.vstack([first.v["cells"], second.v["cells"]]), whole.v["cells"]
    )
    events = whole.spike_events("cells")
    assert set(events["index"]) <= {1, 3}
    assert whole.recorded["cells"].tolist() == [1, 3]


def test_input_spike_twice_in_a_step_is_rejected():
    with pytest.raises(RegisterError, match="axon 1 fires twice at step 4"):
        SpikeInput("source", 3, steps=[4, 4], indices=[1, 1])


def _converging_inputs(n_synapses: int, **registers) -> tuple[Network, int]:
    """``n_synapses`` axons, each with the largest input (64 * 254 * 2**7) onto one compartment.

    Returns the network and the summed input of one step in which every axon fires.
    """
    network = Network()
    cell = CompartmentGroup("cell", 1, decay_u=4096, vth_mant=2**17 - 1, **registers)
    axons = SpikeInput("axons", n_synapses, steps=[0] * n_synapses, indices=range(n_synapses))
    weights = np.full(n_synapses, 254)
    zeros = np.zeros(n_synapses, dtype=int)
    synapses = SynapseGroup("in", axons, cell, np.arange(n_synapses), zeros, weights, weight_exp=7)
    network.add(cell, axons, synapses)
    return network, n_synapses * 64 * 254 * 2**7


@pytest.mark.parametrize(("n_synapses", "lane"), [(1000, np.int32), (1100, np.int64)])
def test_int32_lanes_only_where_the_input_bound_fits(n_synapses, lane):
    """1000 largest inputs sum to 2.08e9 < 2**31 (int32 lanes), 1100 to 2.29e9 (int64).

    Either way q wraps to 22 bits exactly as Python's unbounded integers say.
    """
    network, q = _converging_inputs(n_synapses)
    simulator = Simulator(network, record="all")
    assert simulator._lane is lane
    run = simulator.run(2)
    wrapped = (q + 2**21) % 2**22 - 2**21
    assert q >= 2**21 and run.u["cell"][1, 0] == wrapped
    assert run.counters["overflows"].tolist() == [0, 1]


def test_noise_or_many_dendrites_fall_back_to_int64_lanes():
    # 2.08e9 of input plus noise of up to (127 + 64 offset) * 2**16: within 2**31 for offset 0
    # (8.3e6), beyond it for offset 127 (5.4e8)
    network, _ = _converging_inputs(1000, noise_exp=23)
    assert Simulator(network, seed=0)._lane is np.int32
    network, _ = _converging_inputs(1000, noise_exp=23, noise_mant_offset=127)
    assert Simulator(network, seed=0)._lane is np.int64

    def joined(n_children: int) -> type:
        network = Network()
        parent = CompartmentGroup("parent", 1)
        network.add(parent)
        for index in range(n_children):
            child = CompartmentGroup(f"child{index}", 1)
            network.add(child)
            network.join(child, parent)
        return Simulator(network)._lane

    # D(v) + drive + the children's v: (2 + children) * 2**23 must stay below 2**31
    assert joined(253) is np.int32
    assert joined(254) is np.int64


def test_set_bias_rewrites_the_registers_between_runs():
    network = Network()
    network.add(CompartmentGroup("cell", 2, bias_mant=[0, 5]))
    simulator = Simulator(network, record="all")
    assert simulator.run(2).v["cell"].tolist() == [[0, 5], [0, 10]]
    simulator.set_bias("cell", [3, -1], [2, 0])  # 3 << 2 = 12
    assert simulator.run(2).v["cell"].tolist() == [[12, 9], [24, 8]]
    assert network.groups["cell"].bias_mant.tolist() == [0, 5]  # the network is untouched
    with pytest.raises(RegisterError, match=r"bias_mant \(biasMant\)\[1\] = 4096 is outside"):
        simulator.set_bias("cell", [0, 4096])
    with pytest.raises(RegisterError, match="set_bias: no group 'other'"):
        simulator.set_bias("other", 0)
