"""``lif_ahp_input`` on the chip: its AHP compartments take a share of the input as a bias."""

import dataclasses
import json

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, pA

from ahp_models import LifAhpInputParams, get_model
from hardware_mapping.lava_export import to_lava
from hardware_mapping.neuron_mapping import MappingError, map_neuron
from hardware_mapping.parameter_files import (
    ParameterFileError,
    read_parameter_file,
    write_parameter_file,
)
from hardware_mapping.validation import validate_long_squares

#: Fast-spiking-like: rheobase about 211 pA, tonic threshold 250 pA
FAST = LifAhpInputParams(
    E_L=-70 * mV, R=100 * Mohm, tau_m=10 * ms, V_th=-50 * mV, V_reset=-60 * mV, t_ref=1 * ms,
    tau_ahp=150 * ms, b_ahp=2 * pA, input_share=0.2,
)  # fmt: skip
#: Around both thresholds: silent, a few onset spikes, then tens
AMPLITUDES = np.array([190.0, 215.0, 230.0, 245.0, 252.0, 260.0, 300.0, 400.0])


def validate(mapping):
    return validate_long_squares(
        {"cell": FAST}, {"cell": AMPLITUDES * pA}, mappings={"cell": mapping},
        search_rounds=0, floor_copies=0,
    )  # fmt: skip


def counts(mapping):
    result = validate(mapping)
    return result.sweeps.float_count.to_numpy(), result.sweeps.fixed_count.to_numpy()


@pytest.fixture(scope="module")
def mapping():
    return map_neuron(FAST, current_range=(0 * pA, 500 * pA))


def test_the_chip_fires_the_abrupt_onset_as_the_float_neuron(mapping):
    assert mapping.takes_input_share
    float_counts, fixed_counts = counts(mapping)
    # the float neuron at 1 ms: silent below the rheobase, one spike above it, a handful below
    # the tonic threshold (250 pA), tens above it
    model = get_model("lif_ahp_input")
    assert 190 < float(model.rheobase(FAST) / pA) < 215
    assert float_counts[0] == 0 and float_counts[1] == 1 and float_counts[3] <= 12
    assert float_counts[5] >= 25
    np.testing.assert_array_equal(fixed_counts, float_counts)
    # and on time: the share follows the input one step after the main bias, as the float
    # current does (switched together, spikes near the tonic threshold come late)
    assert float(validate(mapping).neurons.gamma.iloc[0]) > 0.95


def test_without_its_share_of_the_input_the_chip_fires_all_along(mapping):
    # the share is what the compartments' bias carries: dropped, the neuron is lif_ahp
    dropped = dataclasses.replace(
        mapping, aux=tuple(dataclasses.replace(c, bias_per_pA=0.0) for c in mapping.aux)
    )
    float_counts, fixed_counts = counts(dropped)
    assert fixed_counts[2] > float_counts[2] + 10


def test_the_share_survives_a_parameter_file_and_cannot_be_dropped_from_one(mapping, tmp_path):
    path = write_parameter_file(tmp_path / "fs.json", {"fs": mapping})
    assert read_parameter_file(path)["fs"] == mapping
    document = json.loads(path.read_text())
    for aux in document["neurons"][0]["aux"]:
        aux.pop("bias_per_pA")
    path.write_text(json.dumps(document))
    with pytest.raises(ParameterFileError, match=r"aux: no compartment with a nonzero bias_per_pA"):
        read_parameter_file(path)
    document["neurons"][0]["aux"][0]["bias_per_pA"] = -1e9
    path.write_text(json.dumps(document))
    with pytest.raises(ParameterFileError, match=r"aux\[0\]: .*bias_per_pA -1e\+09"):
        read_parameter_file(path)


def test_lava_export_refuses_the_share_with_its_reason(mapping):
    with pytest.raises(MappingError, match="Lava's LIF has no bias on its current u"):
        to_lava(mapping)


def test_a_population_with_a_share_maps_with_its_constant_currents():
    # map_network gives each neuron's AHP compartments its share of the neuron's own current
    from ahp_models import simulate
    from ahp_models.populations import Population
    from ahp_models.stimuli import long_square
    from hardware_mapping.loihi import Simulator
    from hardware_mapping.network_mapping import map_network

    currents = np.array([215.0, 230.0, 245.0, 260.0, 300.0, 400.0])
    mapped = map_network({"fs": Population([FAST] * currents.size, currents * pA)})
    assert all(m.takes_input_share for m in mapped.mappings["fs"])
    simulator = Simulator(mapped.network, record={"fs": slice(None)})
    simulator.set_state("fs", v=mapped.initial_v("fs"))
    fixed = simulator.run(1000).spikes["fs"].sum(axis=0)
    stimulus = long_square(currents * pA, onset=0 * ms, width=1000 * ms, duration=1000 * ms,
                           dt=1 * ms)  # fmt: skip
    params = LifAhpInputParams.concatenate([FAST] * currents.size)
    float_counts = np.asarray(simulate("lif_ahp_input", params, stimulus).spike_counts())
    assert float_counts[0] <= 3 and float_counts[-1] > 100  # onset spikes to tens
    # the biases hold from the first step (no host switches them): within a spike
    assert np.abs(fixed - float_counts).max() <= 1


def test_a_share_below_one_bias_unit_rides_on_the_main_bias(tmp_path):
    # a tiny share on a slow decay: its bias would round to 0 or 1 unit per step at every
    # current, an error of its own size; the main bias carries its mean pull instead
    tiny = dataclasses.replace(FAST, input_share=0.003, tau_ahp=2400 * ms)
    mapping = map_neuron(tiny, current_range=(0 * pA, 300 * pA))
    assert not mapping.takes_input_share
    row = mapping.report.set_index("quantity").loc["input_share"]
    assert "carried by the main bias" in row.note
    plain = map_neuron(dataclasses.replace(tiny, input_share=0.0), current_range=(0, 300) * pA)
    assert mapping.drive_per_pA < plain.drive_per_pA  # the mean pull, taken from the drive
    amplitudes = np.array([210.0, 240.0, 270.0, 300.0])
    result = validate_long_squares(
        {"cell": tiny}, {"cell": amplitudes * pA}, mappings={"cell": mapping},
        search_rounds=0, floor_copies=0,
    )  # fmt: skip
    np.testing.assert_allclose(result.sweeps.fixed_count, result.sweeps.float_count, atol=1, rtol=0)
    # a parameter file holds it without a bias_per_pA, which is allowed for such a share only
    path = write_parameter_file(tmp_path / "tiny.json", {"tiny": mapping})
    assert read_parameter_file(path)["tiny"] == mapping
