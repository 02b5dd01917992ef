"""A small synthetic trained network (delays, refractoriness, AHP, npz in both orientations,
negative exponents) against an integer and a float re-implementation written here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardware_mapping.parameter_files import (
    ParameterFileError,
    read_network_file,
    write_network_file,
)
from hardware_mapping.trained import map_description, run_fixed_point
from hardware_mapping.trained.description import parse_description
from hardware_mapping.trained.float_run import run_float

LIMIT = 2**23 - 1


def _decay(x, d):
    return np.sign(x) * ((np.abs(x) * (4096 - d)) >> 12)


def _shift(w, e):
    return w << e if e >= 0 else w >> -e


def reference(description, raster, arithmetic):
    """Run one sample from the documented step: inputs of spikes at t - 1 - delay, AHP
    compartment first, v = D(v) + u + v_ahp, clip, refractory hold, threshold, reset."""
    pops = description.populations
    steps = raster.shape[0]
    integer = arithmetic == "fixed"
    dtype = np.int64 if integer else float
    history = {name: np.zeros((steps, p.size), dtype=np.int64) for name, p in pops.items()}
    history[description.encoder.input] = raster.astype(np.int64)
    v = {name: np.zeros(p.size, dtype=dtype) for name, p in pops.items()}
    aux = {name: np.zeros(p.size, dtype=dtype) for name, p in pops.items()}
    refractory = {name: np.zeros(p.size, dtype=np.int64) for name, p in pops.items()}
    for t in range(steps):
        current = {name: np.zeros(p.size, dtype=dtype) for name, p in pops.items()}
        for proj in description.projections:
            source = t - 1 - proj.delay
            if source < 0:
                continue
            fired = history[proj.pre][source][proj.pre_index]
            added = 64 * _shift(proj.mantissa, proj.exponent) * fired
            np.add.at(current[proj.post], proj.post_index, added)
        for name, p in pops.items():
            f = p.float_neuron
            previous = history[name][t - 1] if t else np.zeros(p.size, dtype=np.int64)
            if p.ahp is not None:
                inflow = p.ahp.input_per_spike * previous
                aux[name] = (_decay(aux[name], p.ahp.decay) if integer
                             else aux[name] * f.keep_ahp) + inflow  # fmt: skip
            decayed = _decay(v[name], p.decay_v) if integer else v[name] * f.keep_v
            value = decayed + current[name] + aux[name]
            if integer:
                value = np.clip(value, -LIMIT, LIMIT)
            value = np.where(refractory[name] > 0, 0, value)
            threshold = 64 * p.vth_mant if integer else f.v_th
            fires = value > threshold
            value = np.where(fires, 0, value)
            counting = np.where(fires, p.refract_delay, refractory[name])
            refractory[name] = np.where(counting > 0, counting - 1, counting)
            v[name] = value
            history[name][t] = fires
    return v[description.readout_population], {n: int(h.sum()) for n, h in history.items()}


@pytest.fixture
def network(small):
    raw, folder = small
    return parse_description(raw, source="small.toml", data_folder=folder)


def _samples(description, count=12, seed=5):
    rng = np.random.default_rng(seed)
    return rng.integers(0, description.encoder.max_value + 1, size=(count, 12))


def test_fixed_point_matches_the_integer_reference(network):
    samples = _samples(network)
    run = run_fixed_point(network, samples, workers=2)
    raster = network.encoder.encode(samples)
    spikes = 0
    for index in range(samples.shape[0]):
        expected, counts = reference(network, raster[index], "fixed")
        np.testing.assert_array_equal(run.readout_values[index], expected)
        for name in network.populations:
            assert run.spike_counts.loc[index, name] == counts[name]
        spikes += counts["adaptive"] + counts["regular"]
    assert spikes > 50  # the network is active: the comparison means something
    assert run.mean_counters["overflows"].sum() == 0


def test_float_run_matches_the_float_reference(network):
    samples = _samples(network, count=5)
    run = run_float(network, samples, batch=3)
    raster = network.encoder.encode(samples)
    for index in range(samples.shape[0]):
        expected, counts = reference(network, raster[index], "float")
        np.testing.assert_allclose(run.readout_values[index], expected, rtol=1e-9, atol=1e-6)
        for name in network.populations:
            assert run.spike_counts.loc[index, name] == counts[name]


def test_exact_decays_and_register_factors(network):
    adaptive = network.populations["adaptive"].float_neuron
    assert adaptive.keep_v == pytest.approx(np.exp(-1 / 14), rel=1e-15)
    assert adaptive.keep_ahp == pytest.approx(np.exp(-1 / 100), rel=1e-15)
    assert adaptive.b_ahp == 64 * (200 >> 2)  # -200 >> 2 = -50: the chip's floor
    regular = network.populations["regular"].float_neuron
    assert regular.keep_v == (4096 - 600) / 4096  # no float table: the register's factor
    assert regular.v_th == 150 * 64


def test_parameter_file_round_trip_is_bit_exact(network, tmp_path):
    mapped = map_description(network)
    path = write_network_file(tmp_path / "small.json", mapped)
    back = read_network_file(path)
    a, b = mapped.network, back.network
    assert list(a.groups) == list(b.groups) and list(a.inputs) == list(b.inputs)
    for name, group in a.groups.items():
        for register in ("decay_u", "decay_v", "vth_mant", "bias_mant", "bias_exp",
                         "refract_delay", "vmin_exp", "vmax_exp"):  # fmt: skip
            expected = getattr(b.groups[name], register)
            np.testing.assert_array_equal(getattr(group, register), expected)
        assert group.spikes == b.groups[name].spikes
    assert sorted(a.synapses) == sorted(b.synapses)
    for name, synapses in a.synapses.items():
        other = b.synapses[name]
        for field in ("pre_index", "post_index", "weights", "delays", "input_values"):
            np.testing.assert_array_equal(getattr(synapses, field), getattr(other, field))
        assert (synapses.weight_exp, synapses.sign_mode) == (other.weight_exp, other.sign_mode)
    samples = _samples(network, count=4)
    np.testing.assert_array_equal(
        run_fixed_point(network, samples).readout_values,
        run_fixed_point(network, samples, mapped=back).readout_values,
    )
    # a second write of what was read gives the same registers and synapses
    again = read_network_file(write_network_file(tmp_path / "again.json", back))
    assert again.resources == back.resources


def test_spike_count_readout(small):
    raw, folder = small
    raw["readout"] = {"kind": "spike_count", "population": "regular"}
    description = parse_description(raw, source="small.toml", data_folder=folder)
    samples = _samples(description, count=6)
    run = run_fixed_point(description, samples)
    assert run.readout_values.shape == (6, 5)
    np.testing.assert_array_equal(run.readout_values.sum(axis=1), run.spike_counts["regular"])
    np.testing.assert_array_equal(run.predictions, np.argmax(run.readout_values, axis=1))


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d["network"]["inputs"][0].update(name="adaptive"),
         "network.inputs[0].name = 'adaptive' is already used"),
        (lambda d: d["network"]["inputs"][0].update(size=3),
         "network.projections[0].pre_index holds 7; allowed: 0..2 (input 'pixels')"),
        (lambda d: d["network"]["projections"][0].update(pre="camera"),
         "projections[0].pre = 'camera'; allowed: one of adaptive, regular, output, pixels"),
        (lambda d: d["network"]["inputs"][0].update(size=0), "network.inputs[0].size"),
    ],
)  # fmt: skip
def test_malformed_inputs_in_a_network_file_are_refused(network, tmp_path, edit, words):
    path = write_network_file(tmp_path / "small.json", map_description(network))
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ParameterFileError) as caught:
        read_network_file(path)
    assert words in str(caught.value)
