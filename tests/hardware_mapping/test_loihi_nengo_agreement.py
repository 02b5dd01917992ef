"""Bit-exactness against nengo-loihi's emulator (nengo-loihi 1.1, validated against the chip)."""

import numpy as np
import pytest

from hardware_mapping.loihi import Simulator

from .random_networks import recurrent_network, single_compartment_network

pytest.importorskip("nengo_loihi", reason="nengo-loihi (test extra) is not installed")

from hardware_mapping.loihi.nengo_reference import run_nengo_loihi

# "proven": the lanes the simulator chooses (int32 for every network here); "int64": the wide
# arithmetic it falls back to when a bound does not hold, forced
LANES = ["proven", "int64"]


def assert_identical(network, steps: int, seed: int, lane: str = "proven") -> dict:
    simulator = Simulator(network, record="all", seed=seed)
    if lane == "int64":
        simulator._lane = np.int64
        simulator._pushed = simulator._pushed.astype(np.int64)
    else:
        assert simulator._lane is np.int32
    ours = simulator.run(steps)
    reference = run_nengo_loihi(network, steps, seed=seed)
    for name in network.groups:
        for key in ("u", "v", "spikes"):
            mine, theirs = getattr(ours, key)[name], getattr(reference, key)[name]
            if not np.array_equal(mine, theirs):
                step, index = np.argwhere(mine != theirs)[0]
                pytest.fail(
                    f"{key} of {name}[{index}] differs first at step {step}: "
                    f"{mine[step, index]} vs nengo-loihi {theirs[step, index]}"
                )
    return ours.counters.sum().to_dict()


@pytest.mark.long
@pytest.mark.parametrize("lane", LANES)
def test_1000_random_single_compartment_configurations(lane):
    rng = np.random.default_rng(20261122)
    network = single_compartment_network(rng, n_configs=1000, steps=300)
    totals = assert_identical(network, steps=300, seed=5, lane=lane)
    # the draw exercised what it should: spikes, wraps and saturation all happened
    assert totals["spikes"] > 1000
    assert totals["overflows"] > 100
    assert totals["saturations"] > 1000


@pytest.mark.parametrize("lane", LANES)
# one seed in `make test`, the others among the long checks
@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.long),
                                  pytest.param(3, marks=pytest.mark.long)])  # fmt: skip
def test_random_recurrent_networks(seed, lane):
    rng = np.random.default_rng(seed)
    network = recurrent_network(rng, n_total=150, steps=1000)
    assert network.n_compartments >= 100
    totals = assert_identical(network, steps=1000, seed=seed, lane=lane)
    assert totals["spikes"] > 1000
    assert totals["synaptic_ops"] > 10000


def test_large_population_takes_the_multithreaded_pass():
    """A 40 000-compartment group is updated by the parallel build of the compartment pass."""
    from hardware_mapping.loihi import CompartmentGroup, Network, SpikeInput, SynapseGroup
    from hardware_mapping.loihi.kernel import PARALLEL_MIN_COMPARTMENTS

    from .random_networks import random_registers

    rng = np.random.default_rng(7)
    n = 40_000
    assert n >= PARALLEL_MIN_COMPARTMENTS
    registers = random_registers(rng, n)
    registers["vth_mant"] = rng.integers(20, 400, n)
    network = Network()
    cells = CompartmentGroup("cells", n, **registers)
    source = SpikeInput.from_raster("source", rng.random((100, 50)) < 0.2)
    pre, post = rng.integers(0, 50, 20 * n), np.arange(20 * n) % n
    keys = np.unique(pre * n + post)
    weights = rng.integers(-128, 128, keys.size) * 2
    network.add(cells, source, SynapseGroup("syn", source, cells, keys // n, keys % n, weights))
    totals = assert_identical(network, steps=100, seed=0)
    assert totals["spikes"] > 10_000 and totals["saturations"] > 0
