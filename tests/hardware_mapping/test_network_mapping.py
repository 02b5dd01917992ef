"""Networks on Loihi: statistics of float vs registers, resources, files, refusals."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import (
    LifAhpParams,
    MultiAhpParams,
    ParameterError,
    RecurrentSynapses,
    long_square,
    simulate,
)
from ahp_models.populations import Population, Projection, flatten
from hardware_mapping.loihi import Simulator
from hardware_mapping.network_mapping import (
    check_fits,
    map_network,
    map_recurrent_population,
    resource_summary,
)
from hardware_mapping.neuron_mapping import MappingError
from hardware_mapping.parameter_files import (
    ParameterFileError,
    read_network_file,
    read_parameter_file,
    write_network_file,
)


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


@pytest.mark.long
def test_population_statistics_match_the_float_network():
    neurons, currents, synapses = population(80, seed=3)
    mapped = map_recurrent_population(neurons, currents, synapses)
    simulator = Simulator(mapped.network, record={"population": slice(None)})
    simulator.set_state("population", v=mapped.initial_v("population"))
    run = simulator.run(2000)
    assert run.counters["overflows"].sum() == 0 and run.counters["saturations"].sum() == 0
    fixed_counts = run.spikes["population"].sum(axis=0)
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
    # weights small enough that all of them arriving at once fit the registers (6 mV)
    synapses = RecurrentSynapses(np.tile(np.arange(4), 60_000), post, 1e-4 * mV)
    with pytest.raises(MappingError, match=r"neuron 0 has 60004 synapses onto it .* 128 KB"):
        map_recurrent_population(neurons, currents, synapses)


def two_populations(seed=5):
    """Excitatory (60) and inhibitory (20) AHP neurons: E->E, E->I and I->E projections."""
    rng = np.random.default_rng(seed)
    exc, _, _ = population(60, seed)
    inh, _, _ = population(20, seed + 1)
    populations = {
        "exc": Population(exc, rng.uniform(150, 300, 60) * pA),
        "inh": Population(inh, rng.uniform(150, 300, 20) * pA),
    }

    def projection(pre, post, n_pre, n_post, sign):
        targets = np.repeat(np.arange(n_post), 8)
        sources = rng.integers(0, n_pre, targets.size)
        weights = sign * np.abs(rng.normal(0, 1.0, targets.size)) * mV
        return Projection(pre, post, RecurrentSynapses(
            sources, targets, weights, rng.integers(1, 6, targets.size) * ms))  # fmt: skip

    projections = [
        projection("exc", "exc", 60, 60, 1),
        projection("exc", "inh", 60, 20, 1),
        projection("inh", "exc", 20, 60, -1),
    ]
    return populations, projections


def test_populations_map_as_their_flat_network_and_match_the_float_one():
    populations, projections = two_populations()
    mapped = map_network(populations, projections)
    assert set(mapped.network.groups) >= {"exc", "inh", "exc_ahp1", "inh_ahp1"}
    assert {"projection1_exc_to_inh_excitatory", "projection2_inh_to_exc_inhibitory"} <= {
        name.rsplit("_e", 1)[0] for name in mapped.network.synapses
    }
    simulator = Simulator(mapped.network, record={"exc": slice(None), "inh": slice(None)})
    for name in populations:
        simulator.set_state(name, v=mapped.initial_v(name))
    run = simulator.run(2000)
    split_raster = np.concatenate([run.spikes["exc"], run.spikes["inh"]], axis=1)
    # the same network as one population: spike for spike the same registers
    flat = flatten(populations, projections, dt=1 * ms)
    one = map_recurrent_population(
        [*populations["exc"].neurons, *populations["inh"].neurons], flat.currents, flat.synapses
    )
    single = Simulator(one.network, record={"population": slice(None)})
    single.set_state("population", v=one.initial_v("population"))
    assert np.array_equal(single.run(2000).spikes["population"], split_raster)
    assert mapped.resources == one.resources
    # and the float network, simulated as one Brian2 group, fires alike
    stimulus = long_square(flat.currents, onset=0 * second, width=2 * second,
                           duration=2 * second, dt=1 * ms)  # fmt: skip
    result = simulate("lif_ahp", flat.params, stimulus, synapses=flat.synapses)
    float_counts = np.bincount(result.spike_neuron, minlength=80)
    fixed_counts = split_raster.sum(axis=0)
    for part in flat.ranges.values():
        assert float_counts[part].mean() > 10
        assert fixed_counts[part].mean() == pytest.approx(float_counts[part].mean(), rel=0.05)
    assert set(mapped.weights["projection"]) == {"exc->exc", "exc->inh", "inh->exc"}


def test_populations_of_different_models_map_but_do_not_flatten():
    populations, projections = two_populations()
    multi = [MultiAhpParams(tau_ahp=[50, 400] * ms, b_ahp=[10, 5] * pA) for _ in range(20)]
    populations["inh"] = Population(multi, populations["inh"].currents)
    mapped = map_network(populations, projections)
    aux = [len(m.aux) for name in ("exc", "inh") for m in mapped.mappings[name]]
    assert mapped.resources.compartments == 80 + sum(aux)
    assert max(len(m.aux) for m in mapped.mappings["inh"]) > 2  # two currents, split decays
    with pytest.raises(
        ParameterError, match=r"populations of models \['lif_ahp', 'lif_multi_ahp'\]"
    ):
        flatten(populations, projections, dt=1 * ms)


def test_projections_are_checked_against_their_populations():
    populations, projections = two_populations()
    wrong_name = Projection("exc", "inhibitory", projections[1].synapses)
    with pytest.raises(ParameterError, match=r"projections\[0\]\.post = 'inhibitory'; allowed"):
        map_network(populations, [wrong_name])
    # E->E synapses reach index 59, beyond the 20 inhibitory neurons
    too_far = Projection("exc", "inh", projections[0].synapses)
    with pytest.raises(ParameterError, match=r"synapses\.post holds 59; allowed: 0\.\.19"):
        map_network(populations, [too_far])
    # two projections between the same populations (e.g. two delay ranges) get their own groups
    twice = map_network(populations, [projections[1], projections[1]])
    assert len(twice.projections) == 2 and twice.resources.synapses > 0
    # a population may not take the name of another's AHP compartments
    clash = {"exc": populations["exc"], "exc_ahp1": populations["inh"]}
    with pytest.raises(ParameterError, match=r"'exc_ahp1'; allowed: .* not ending in _ahp"):
        map_network(clash, [])


def run_network(mapped, steps=1500):
    simulator = Simulator(mapped.network, record={name: slice(None) for name in mapped.mappings})
    for name in mapped.mappings:
        simulator.set_state(name, v=mapped.initial_v(name))
    run = simulator.run(steps)
    return {name: run.spikes[name] for name in mapped.mappings}


def test_network_file_round_trip_is_bit_exact(tmp_path):
    populations, projections = two_populations()
    mapped = map_network(populations, projections)
    path = write_network_file(tmp_path / "net.json", mapped)
    loaded = read_network_file(path)
    assert loaded.resources == mapped.resources
    pd.testing.assert_frame_equal(loaded.weights, mapped.weights)
    ours, theirs = run_network(mapped), run_network(loaded)
    assert all(np.array_equal(ours[name], theirs[name]) for name in ours)
    assert sum(s.sum() for s in ours.values()) > 1000
    # the neurons are still a plain parameter file's neurons
    assert len(read_parameter_file(path)) == 80


@pytest.fixture(scope="module")
def network_file_text(tmp_path_factory):
    """A mapped two-population network's file, written once for the malformed variants."""
    populations, projections = two_populations()
    path = tmp_path_factory.mktemp("network") / "net.json"
    return write_network_file(path, map_network(populations, projections)).read_text()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda n: n["projections"][0].update(pre="gaba"),
         r"network\.projections\[0\]\.pre = 'gaba'; allowed: one of exc, inh"),
        (lambda n: n["projections"][1]["post_index"].__setitem__(0, 20),
         r"projections\[1\]\.post_index holds 20; allowed: 0\.\.19 \(population 'inh'\)"),
        (lambda n: n["projections"][0]["delay"].pop(),
         r"projections\[0\]: arrays of lengths .*allowed: one entry per synapse"),
        (lambda n: n["projections"][0]["weight_mant"].__setitem__(3, 256),
         r"network\.projections\[0\]\.weight_mant\[3\] = 256: 256 is greater than the maximum"),
        (lambda n: n["populations"][1]["neurons"].__setitem__(0, "exc.0"),
         r"populations\[1\]\.neurons: 'exc\.0'; allowed: a neuron of the file, in one population"),
        (lambda n: n["populations"][0]["neurons"].__setitem__(1, "exc.0"),
         r"populations\[0\]\.neurons: 'exc\.0'; allowed: a neuron of the file, in one"),
        (lambda n: n["populations"][0]["currents_pA"].pop(),
         r"populations\[0\]\.currents_pA: 59 values; allowed: one per neuron \(60\)"),
    ],
)  # fmt: skip
def test_malformed_network_sections_are_refused(tmp_path, network_file_text, edit, message):
    document = json.loads(network_file_text)
    edit(document["network"])
    path = tmp_path / "net.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ParameterFileError, match=message):
        read_network_file(path)
