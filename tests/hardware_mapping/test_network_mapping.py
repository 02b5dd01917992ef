"""A recurrent population on Loihi: statistics of float vs registers, resources, refusals."""

import math

import numpy as np
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import LifAhpParams, RecurrentSynapses, long_square, simulate
from hardware_mapping.loihi import Simulator
from hardware_mapping.network_mapping import (
    check_fits,
    map_recurrent_population,
    resource_summary,
)
from hardware_mapping.neuron_mapping import MappingError


def population(n, seed):
    rng = np.random.default_rng(seed)
    neurons = [
        LifAhpParams(
            tau_m=float(rng.uniform(10, 40)) * ms,
            tau_ahp=float(rng.uniform(50, 500)) * ms,
            b_ahp=float(rng.uniform(5, 30)) * pA,
        )
        for _ in range(n)
    ]
    currents = rng.uniform(150, 300, n) * pA
    post = np.repeat(np.arange(n), 10)
    pre = (post + rng.integers(1, n, post.size)) % n
    synapses = RecurrentSynapses(
        pre, post, rng.normal(0, 1.0, post.size) * mV, rng.integers(1, 6, post.size) * ms
    )
    return neurons, currents, synapses


def test_population_statistics_match_the_float_network():
    neurons, currents, synapses = population(80, seed=3)
    mapped = map_recurrent_population(neurons, currents, synapses)
    simulator = Simulator(mapped.network, record={mapped.name: slice(None)})
    simulator.set_state(mapped.name, v=mapped.initial_v())
    run = simulator.run(2000)
    assert run.counters["overflows"].sum() == 0 and run.counters["saturations"].sum() == 0
    fixed_counts = run.spikes[mapped.name].sum(axis=0)
    params = LifAhpParams.concatenate(neurons)
    stimulus = long_square(currents, onset=0 * second, width=2 * second, duration=2 * second,
                           dt=1 * ms)  # fmt: skip
    result = simulate("lif_ahp", params, stimulus, synapses=synapses)
    float_counts = np.bincount(result.spike_neuron, minlength=80)
    assert float_counts.mean() > 20  # the network is active
    assert fixed_counts.mean() == pytest.approx(float_counts.mean(), rel=0.05)
    assert np.corrcoef(fixed_counts, float_counts)[0, 1] > 0.99


def test_resources_by_hand():
    # 3 compartments per neuron: 341 neurons per core; 20 synapses onto each (+ 2 feedback)
    pre = np.arange(2000).repeat(20) % 2000
    post = np.repeat(np.arange(2000), 20)
    summary = resource_summary(2000, 2, pre, post, delay_bits=3)
    assert summary.synapse_bits == 8 + 3 + 10
    assert summary.cores == math.ceil(2000 / (1024 // 3)) == 6
    assert summary.binding == "compartments" and summary.compartments == 6000
    # 600 synapses onto each neuron: 128 KB * 8 / (21 bits * 604) = 82 neurons per core
    heavy_post = np.repeat(np.arange(200), 600)
    heavy = resource_summary(200, 2, heavy_post % 200, heavy_post, delay_bits=3)
    assert heavy.binding == "synapse memory"
    assert heavy.cores == math.ceil(200 / (128 * 1024 * 8 // (21 * 604)))


def test_networks_beyond_the_chips_or_a_core_are_refused():
    # 50 000 neurons of 3 compartments fill 147 cores: more than one chip's 128
    summary = resource_summary(50_000, 2, np.zeros(0, int), np.zeros(0, int), delay_bits=0)
    assert (summary.cores, summary.chips) == (147, 2)
    check_fits(summary, chips=2)
    with pytest.raises(MappingError, match=r"needs 147 cores \(bound by compartments\), 2 chips"):
        check_fits(summary, chips=1)
    # 60 000 synapses onto one neuron: 154 KB, more than a core holds
    neurons, currents, _ = population(4, seed=1)
    post = np.repeat(np.arange(4), 60_000)
    synapses = RecurrentSynapses(np.tile(np.arange(4), 60_000), post, 0.1 * mV)
    with pytest.raises(MappingError, match=r"neuron 0 has 60004 synapses onto it .* 128 KB"):
        map_recurrent_population(neurons, currents, synapses)
