"""Lava export: bit-exact where Lava's LIF can hold the mapping, listed approximations elsewhere,
and files that are checked before anything is built."""

import json
import math

import numpy as np
import pytest
from brian2 import ms, pA

from ahp_models import LifAhpParams
from ahp_models.loihi_form import LoihiAhpParams
from hardware_mapping.lava_export import read_lava_file, to_lava, write_lava_file
from hardware_mapping.loihi import Network, Simulator
from hardware_mapping.neuron_mapping import AhpCompartment, map_neuron
from hardware_mapping.parameter_files import ParameterFileError

CURRENTS = np.array([0.0, 200.0, 500.0, 1000.0]) * pA
STEPS = 3000


def paper_mapping():
    # the paper's registers: one AHP compartment (decay 5), refractory 1 step
    return map_neuron(LoihiAhpParams(), decay_rounding="paper", current_range=(0 * pA, 1000 * pA))


def run_loihi(mapping, currents, steps=STEPS):
    network = Network()
    groups = mapping.add_to(network, "cell", currents)
    simulator = Simulator(network, record={"cell": slice(None), groups.aux[0].name: slice(None)})
    simulator.set_state("cell", v=np.full(len(currents), mapping.v_rest))
    result = simulator.run(steps)
    return result.spikes["cell"], result.v["cell"], result.v[groups.aux[0].name]


def run_lava_file(path, steps=STEPS):
    exported = read_lava_file(path)
    simulator = Simulator(exported.network, mode="lava", record="all")
    for name, v in exported.initial_v.items():
        simulator.set_state(name, v=v)
    return simulator.run(steps)


def test_paper_neuron_exports_bit_exact(tmp_path):
    mapping = paper_mapping()
    lava = to_lava(mapping)
    assert lava.exact
    # Lava decays u by du + 1: the AHP compartment's decay 5 is du = 4
    assert (lava.du, lava.dv, lava.vth) == (4, 204, mapping.vth_mant)
    path = write_lava_file(tmp_path / "paper.lava.json", {"cell": mapping}, {"cell": CURRENTS})
    lava_run = run_lava_file(path)
    spikes, v, v_aux = run_loihi(mapping, CURRENTS)
    counts = spikes.sum(axis=0)
    assert counts[0] == 0 and (np.diff(counts) > 0).all() and counts[1] > 2
    assert v_aux.min() < -64 * mapping.vth_mant
    assert np.array_equal(lava_run.spikes["cell"], spikes)
    assert np.array_equal(lava_run.v["cell"], v)
    # Lava's current u is the AHP compartment's voltage, step for step
    assert np.array_equal(lava_run.u["cell"], v_aux)
    document = json.loads(path.read_text())
    lif = document["neurons"][0]["processes"][0]
    assert lif["process"] == "LIF" and set(lif["kwargs"]) == {
        "shape", "u", "v", "du", "dv", "vth", "bias_mant", "bias_exp"
    }  # fmt: skip
    assert lif["kwargs"]["bias_mant"] == [int(b) for b in mapping.bias(CURRENTS)[0]]


def test_what_lava_cannot_hold_is_merged_and_listed():
    mapping = map_neuron(LoihiAhpParams(), current_range=(0 * pA, 1000 * pA))  # split: 5 and 6
    lava = to_lava(mapping)
    assert not lava.exact
    text = " ".join(lava.approximations)
    assert "2 AHP compartments (decays 5, 6) merged into one of decay 6" in text
    assert "truncation-compensation bias dropped" in text

    # the merged compartment keeps the pair's charge over the 1 s horizon (to weight rounding)
    def charge(decay, per_spike):
        keep = (4096 - decay) / 4096
        return per_spike * (1 - keep**1000) / (1 - keep)

    pair = sum(charge(c.decay, c.input_per_spike) for c in mapping.aux)
    merged_input = sum(64 * w * 2**e for w, e in lava.feedback)
    assert charge(lava.du + 1, merged_input) == pytest.approx(pair, rel=64 / abs(merged_input))
    refractory = map_neuron(LifAhpParams(t_ref=3 * ms), split_decays=False)
    assert any(
        "refractory period of 3 steps dropped" in a for a in to_lava(refractory).approximations
    )


def test_merged_decay_is_the_charge_weighted_mean():
    from dataclasses import replace

    mapping = paper_mapping()
    aux = (AhpCompartment(10, ((-100, 0),)), AhpCompartment(30, ((-100, 0),)))
    lava = to_lava(replace(mapping, aux=aux), charge_horizon_steps=math.inf)
    # infinite horizon: charges 100 * 4096 / d, so the weights are 3:1 and the mean is 15
    assert lava.du + 1 == 15


def malformed(tmp_path, edit):
    path = write_lava_file(tmp_path / "ok.lava.json", {"cell": paper_mapping()}, {"cell": CURRENTS})
    document = json.loads(path.read_text())
    edit(document)
    bad = tmp_path / "bad.lava.json"
    bad.write_text(json.dumps(document))
    return bad


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["neurons"][0]["processes"][0]["kwargs"].update(du=4096),
         r"neurons\[0\]\.processes\[0\]\.kwargs\.du = 4096: 4096 is greater than the maximum"),
        (lambda d: d["neurons"][0]["processes"][0]["kwargs"].update(bias_mant=[1, 2]),
         r"kwargs\.bias_mant: 2 values; allowed: one, or one per neuron \(4\)"),
        (lambda d: d["neurons"][0]["processes"][1]["kwargs"].update(weights=[[-1]]),
         r"weights have shape \(1, 1\); allowed: \(4, 4\)"),
        (lambda d: d["neurons"][0]["connections"].pop(),
         r"neurons\[0\]\.connections = .*allowed: each Dense fed by cell\.s_out"),
        (lambda d: d["neurons"][0]["processes"][0]["kwargs"].update(exec="import os"),
         r"kwargs = .*Additional properties are not allowed \('exec' was unexpected\)"),
        (lambda d: d["neurons"][0]["processes"][1].update(process="Sigma"),
         r"processes\[1\]\.process = \"Sigma\""),
    ],
)  # fmt: skip
def test_malformed_files_are_refused_naming_the_field(tmp_path, edit, message):
    with pytest.raises(ParameterFileError, match=message):
        read_lava_file(malformed(tmp_path, edit))
