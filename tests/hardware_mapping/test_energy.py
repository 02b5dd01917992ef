"""Energy and latency estimates against a hand computation from the published tables."""

import numpy as np
import pytest

from hardware_mapping.energy import estimate_energy
from hardware_mapping.loihi import CompartmentGroup, Network, Simulator, SynapseGroup


def small_run():
    """A bias-driven compartment (anchor 3: spikes at steps 4 and 9) and one it excites."""
    network = Network()
    source = CompartmentGroup("source", 1, bias_mant=128, vth_mant=8)
    target = CompartmentGroup("target", 1, decay_u=4096, decay_v=4096)
    network.add(source, target, SynapseGroup("syn", source, target, [0], [0], [100]))
    return Simulator(network, record="all").run(10)


def test_counters_of_the_small_network_are_the_hand_derived_ones():
    counters = small_run().counters
    assert counters["spikes"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert counters["synaptic_ops"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    # the source is active every step (bias); the target in the step its input arrives (5)
    # and the next one (its u and v of step 5 are nonzero), inactive otherwise
    assert counters["active_updates"].tolist() == [1, 1, 1, 1, 1, 2, 2, 1, 1, 1]
    assert counters["neuron_updates"].tolist() == [2] * 10


def test_energy_reproduces_the_hand_computation():
    counters = small_run().counters
    davies = estimate_energy(counters)
    # 2 synaptic ops x 23.6 + 12 active x 81 + 8 inactive x 52 + 2 spikes x 1.7 pJ
    assert davies.dynamic_J == pytest.approx((2 * 23.6 + 12 * 81 + 8 * 52 + 2 * 1.7) * 1e-12)
    # 12 x 8.4 + 8 x 5.3 + 2 x 3.5 ns on one core; 104 mW static over that time
    assert davies.latency_s == pytest.approx((12 * 8.4 + 8 * 5.3 + 2 * 3.5) * 1e-9)
    assert davies.static_J == pytest.approx(0.104 * davies.latency_s)
    assert (davies.cores, davies.chips) == (1, 1)
    sana = estimate_energy(counters, table="sana-fe")
    # 2 x 35.5 + (12 - 2) active x 72.8 + 2 spiking x 69.3 + 8 inactive x 51.2 + 2 x 76.8 pJ
    expected = 2 * 35.5 + 10 * 72.8 + 2 * 69.3 + 8 * 51.2 + 2 * 76.8
    assert sana.dynamic_J == pytest.approx(expected * 1e-12)
    assert np.isclose(sana.per_step["dynamic_pJ"].sum(), expected)


def test_cores_and_chips_follow_the_compartment_count():
    import pandas as pd

    counters = pd.DataFrame(
        {"synaptic_ops": [0], "neuron_updates": [200_000], "active_updates": [0], "spikes": [0]}
    )
    estimate = estimate_energy(counters)
    assert (estimate.cores, estimate.chips) == (196, 2)
    assert estimate.latency_s == pytest.approx(200_000 * 5.3e-9 / 196)
    with pytest.raises(ValueError, match="table = 'loihi2'; allowed: davies2018, sana-fe"):
        estimate_energy(counters, table="loihi2")
