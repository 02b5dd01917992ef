"""Hardware parameter files: round trip, schema, and malformed files named by field."""

import copy
import json

import numpy as np
import pytest
from brian2 import pA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ahp_models import LifAhpInputParams, LifAhpParams
from ahp_models.lif_ahp import MultiAhpParams
from hardware_mapping import parameter_files
from hardware_mapping.loihi import Network, Simulator
from hardware_mapping.neuron_mapping import map_neuron
from hardware_mapping.parameter_files import (
    ParameterFileError,
    read_parameter_file,
    write_parameter_file,
)
from tests.mutations import fields, with_value

CURRENTS = np.array([0.0, 150.0, 250.0, 400.0])


@pytest.fixture(scope="module")
def mappings():
    return {
        "one_ahp": map_neuron(LifAhpParams(), current_range=(0 * pA, 400 * pA)),
        "three_ahp": map_neuron(MultiAhpParams(), current_range=(0 * pA, 400 * pA)),
        # its AHP compartments take a share of the input: a bias per pA
        "input_share": map_neuron(
            LifAhpInputParams(input_share=0.3), current_range=(0 * pA, 400 * pA)
        ),
    }


@pytest.fixture(scope="module")
def valid_document(mappings, tmp_path_factory):
    path = tmp_path_factory.mktemp("files") / "valid.json"
    write_parameter_file(path, mappings, provenance={"one_ahp": {"fit_id": "f1", "specimen_id": 7}})
    return json.loads(path.read_text())


def simulate(mapping, steps=1500):
    network = Network()
    mapping.add_to(network, "cell", CURRENTS * pA)
    simulator = Simulator(network, record="all")
    simulator.set_state("cell", v=np.full(CURRENTS.size, mapping.v_rest))
    return simulator.run(steps)


def test_file_round_trip_simulates_bit_for_bit(mappings, tmp_path):
    path = write_parameter_file(tmp_path / "cells.json", mappings)
    loaded = read_parameter_file(path)
    assert list(loaded) == list(mappings)
    for name, mapping in mappings.items():
        assert loaded[name] == mapping  # every register and scaling value
        ours, theirs = simulate(mapping), simulate(loaded[name])
        assert ours.spikes["cell"].sum() > 50
        for group in ours.v:
            assert np.array_equal(ours.v[group], theirs.v[group])
            assert np.array_equal(ours.spikes[group], theirs.spikes[group])


def test_provenance_and_schema_are_written(valid_document):
    first = valid_document["neurons"][0]
    assert valid_document["format"] == "ahp-toolkit/loihi-parameters"
    assert valid_document["version"] == 1 and valid_document["time_step_ms"] == 1.0
    assert first["source"]["fit_id"] == "f1" and first["source"]["specimen_id"] == 7
    assert first["source"]["parameters"]["tau_m"] == {"value": 20.0, "unit": "ms"}
    schema = json.loads(parameter_files.SCHEMA_PATH.read_text())
    assert schema["properties"]["neurons"]["items"] == {"$ref": "#/$defs/neuron"}


def _field(path):
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


REGISTERS = {
    "decay_v": (0, 4096),
    "vth_mant": (0, 131071),
    "refract_delay": (1, 63),
    "v_rest": (-8388607, 8388607),
    "mant": (-255, 255),
    "exp": (-8, 7),
    "bias_mant": (-4095, 4095),
}
OPTIONAL = {"fit_id", "specimen_id", "bias_per_pA", "share_horizon_steps"}  # the last two: shares
LIMITS = {"aux": 64, "weights": 2, "quantization": 256}


def _write(tmp_path, document):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return path


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_malformed_files_are_rejected_naming_the_field(valid_document, tmp_path, data):
    paths = [p for p, _ in fields(valid_document) if p]
    kind = data.draw(st.sampled_from(["missing", "type", "range", "huge"]))
    if kind == "missing":
        path = data.draw(
            st.sampled_from(
                [p for p in paths if isinstance(p[-1], str) and p[-1] not in OPTIONAL
                 and "parameters" not in p]
            )
        )  # fmt: skip
        broken = copy.deepcopy(valid_document)
        target = broken
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
        expected = [_field(path[:-1]) or "(the document)", repr(path[-1])]
    elif kind == "type":
        path = data.draw(st.sampled_from(paths))
        value = dict(fields(valid_document))[path]
        wrong = {dict: [], list: {}, str: 5, bool: "yes", type(None): "none"}.get(type(value), "x")
        broken = with_value(valid_document, path, wrong)
        expected = [_field(path)]
    elif kind == "range":
        path = data.draw(st.sampled_from([p for p in paths if p[-1] in REGISTERS]))
        low, high = REGISTERS[path[-1]]
        value = data.draw(
            st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1))
        )
        broken = with_value(valid_document, path, value)
        expected = [_field(path), str(value)]
    else:
        path = data.draw(st.sampled_from([p for p in paths if p[-1] in LIMITS]))
        items = dict(fields(valid_document))[path]
        extra = LIMITS[path[-1]] + 1 - len(items)
        broken = with_value(valid_document, path, items + [items[0]] * extra)
        expected = [_field(path), f"allowed: at most {LIMITS[path[-1]]}"]
    with pytest.raises(ParameterFileError) as error:
        read_parameter_file(_write(tmp_path, broken))
    message = str(error.value)
    assert message.startswith(str(tmp_path / "bad.json"))
    for part in expected:
        assert part in message, (kind, part, message)


def test_not_json_objects_and_oversized_files_are_refused(valid_document, tmp_path, monkeypatch):
    path = tmp_path / "x.json"
    path.write_text('{"format": NaN}')
    with pytest.raises(ParameterFileError, match=r"format = NaN .*allowed: finite numbers"):
        read_parameter_file(path)
    path.write_text("[1, 2]")
    with pytest.raises(ParameterFileError, match="expected a JSON object"):
        read_parameter_file(path)
    with pytest.raises(ParameterFileError, match=r"cannot read .*missing"):
        read_parameter_file(tmp_path / "missing.json")
    path.write_text(json.dumps(valid_document))
    monkeypatch.setattr(parameter_files, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ParameterFileError, match="bytes; allowed: at most 1000 bytes"):
        read_parameter_file(path)


def test_source_parameters_are_checked_with_units(valid_document, tmp_path):
    path = ("neurons", 0, "source", "parameters", "tau_m", "unit")
    broken = with_value(valid_document, path, "mV")
    with pytest.raises(ParameterFileError, match="tau_m"):
        read_parameter_file(_write(tmp_path, broken))
    twice = with_value(valid_document, ("neurons", 1, "name"), "one_ahp")
    with pytest.raises(ParameterFileError, match=r"neurons\[1\]\.name = 'one_ahp' appears twice"):
        read_parameter_file(_write(tmp_path, twice))
