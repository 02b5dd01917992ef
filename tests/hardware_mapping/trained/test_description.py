"""Descriptions are checked before anything runs: each malformed one is refused by a
`DescriptionError` naming the file, the field and what is allowed; nothing else escapes."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware_mapping.trained import DescriptionError, read_description
from hardware_mapping.trained.description import (
    BUILTIN_DESCRIPTIONS,
    BUILTIN_FOLDER,
    parse_description,
)


def _parse(raw, folder):
    return parse_description(raw, source="net.toml", data_folder=folder)


def _edit(raw, path, value):
    changed = copy.deepcopy(raw)
    target = changed
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_DELETE = object()

MALFORMED = [
    # (path, value, words the message must hold)
    (("colour",), "red", ["unknown key colour", "allowed"]),
    (("populations", 0, "tau"), 3, ["unknown key populations[0].tau"]),
    (("projections", 2, "weights"), "x", ["projections[2]", "unknown key 'weights'"]),
    (("encoder", "speed"), 1, ["encoder", "unknown key 'speed'"]),
    (("projections", 0, "exponent"), 8, ["projections[0].exponent = 8", "-8..7"]),
    (("projections", 0, "exponent"), -9, ["projections[0].exponent = -9", "-8..7"]),
    (("populations", 0, "ahp", "exponent"), 9, ["populations[0].ahp.exponent = 9", "-8..7"]),
    (("populations", 0, "ahp", "weight"), 256, ["populations[0].ahp.weight = 256", "-255..255"]),
    (
        ("projections", 0, "file"),
        "missing.npy",
        ["projections[0].file", "missing.npy", "does not exist"],
    ),
    (
        ("projections", 0, "columns"),
        [0, 5],
        ["projections[0].file", "have shape (8, 5)", "allowed: (8, 6)"],
    ),
    (("projections", 6, "orientation"), "pre,post", ["projections[6].rows = [0, 6]", "<= 3"]),
    (("projections", 6, "key"), "other", ["projections[6].key = 'other'", "readout"]),
    (("projections", 0, "rows"), [0, 9], ["projections[0].rows = [0, 9]", "<= 8"]),
    (("projections", 0, "delay"), 63, ["projections[0].delay = 63", "0..62"]),
    (("projections", 0, "post"), "pixels", ["projections[0].post = 'pixels'", "a population"]),
    (("populations", 0, "decay_v"), 4097, ["populations[0].decay_v = 4097", "0..4096"]),
    (("populations", 0, "decay_u"), 100, ["populations[0].decay_u = 100", "allowed: 4096"]),
    (("populations", 1, "vth_mant"), 131072, ["populations[1].vth_mant = 131072"]),
    (("populations", 1, "refract_delay"), 0, ["populations[1].refract_delay = 0", "1..63"]),
    (("populations", 1, "size"), 0, ["populations[1].size = 0"]),
    (("populations", 1, "name"), "adaptive", ["populations[1].name = 'adaptive'"]),
    (("populations", 1, "name"), "x_ahp1", ["populations[1].name = 'x_ahp1'"]),
    (("populations", 0, "float", "tau_v"), "14", ["tau_v"]),
    (("populations", 0, "float", "tau_v"), "-3 ms", ["populations[0].float.tau_v", ">= 0"]),
    (("time_step",), "1 mV", ["time_step"]),
    (("readout", "kind"), "mean", ["readout.kind = 'mean'", "argmax_voltage"]),
    (("readout", "population"), "nobody", ["readout.population = 'nobody'"]),
    (("reset", "policy"), "carry", ["reset.policy = 'carry'", "rest"]),
    (("encoder", "channels"), 9, ["encoder makes 9 channels", "size 8"]),
    (("encoder", "cue_channel"), 6, ["channel 6 is used by max_channel and cue_channel"]),
    (("encoder", "levels"), [5, 2], ["levels", "increasing"]),
    (("encoder", "input"), "nowhere", ["encoder.input = 'nowhere'"]),
    (("readout",), _DELETE, ["readout is missing"]),
]


@pytest.mark.parametrize(("path", "value", "words"), MALFORMED)
def test_malformed_descriptions_are_refused_naming_the_field(small, path, value, words):
    raw, folder = small
    _parse(raw, folder)  # the unchanged one is fine
    with pytest.raises(DescriptionError) as caught:
        _parse(_edit(raw, path, value), folder)
    message = str(caught.value)
    assert "net.toml" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("weight", "words"),
    [(256, ["= 256", "-255..255", "8-bit"]), (-300, ["= -300"]), (12.5, ["= 12.5", "whole"]),
     (np.nan, ["= nan"]), (np.inf, ["= inf"])],
)  # fmt: skip
def test_a_weight_beyond_eight_bits_or_not_whole_is_refused(small, weight, words):
    raw, folder = small
    weights = np.load(folder / "w_rec.npy")
    weights[7, 2] = weight
    np.save(folder / "w_rec.npy", weights)
    with pytest.raises(DescriptionError) as caught:
        _parse(raw, folder)
    message = str(caught.value)
    assert "projections[4].file" in message and "weight [7, 2]" in message
    for word in words:
        assert word in message


def test_weight_files_that_are_not_plain_arrays_are_refused(small):
    raw, folder = small
    np.save(folder / "w_in.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DescriptionError, match=r"projections\[0\]\.file .*not a numpy \.npy"):
        _parse(raw, folder)
    (folder / "w_in.npy").write_bytes(b"import os; os.remove('x')")
    with pytest.raises(DescriptionError, match=r"projections\[0\]\.file"):
        _parse(raw, folder)
    np.save(folder / "w_in.npy", np.zeros((8, 11, 2)))
    with pytest.raises(DescriptionError, match=r"shape \(8, 11, 2\); allowed: a 2-D matrix"):
        _parse(raw, folder)


def test_zero_weights_make_no_synapse_and_signs_are_kept(small):
    raw, folder = small
    description = _parse(raw, folder)
    recurrent = np.load(folder / "w_rec.npy")[0:6, 0:6]
    projection = description.projections[2]
    assert projection.mantissa.size == np.count_nonzero(recurrent)
    np.testing.assert_array_equal(
        projection.mantissa, recurrent[projection.pre_index, projection.post_index]
    )


def test_the_builtin_descriptions_parse_as_toml_with_their_layout(smnist_weights):
    for name, file in BUILTIN_DESCRIPTIONS.items():
        description = read_description(BUILTIN_FOLDER / file, data_folder=smnist_weights)
        sizes = {p: s.size for p, s in description.populations.items()}
        assert sizes["regular"] == 140 and sizes["adaptive"] == 100 and sizes["output"] == 10
        assert ("relay" in sizes) == name.endswith(("relay", "smnist"))
        assert description.n_steps == 840
        assert tomllib.loads((BUILTIN_FOLDER / file).read_text())["name"] == description.name


_PATHS = [path for path, _, _ in MALFORMED]
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True),
    st.text(max_size=8), st.lists(st.integers(-3, 300), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(_PATHS), _VALUES)
def test_any_corrupted_field_gives_a_description_error_or_a_valid_network(small, path, value):
    raw, folder = small
    try:
        description = _parse(_edit(raw, path, value), folder)
    except DescriptionError as error:
        assert "net.toml" in str(error)
        return
    assert description.populations  # accepted: a complete, checked description


def test_registers_left_out_come_from_the_float_neuron(small):
    raw, folder = small
    raw["populations"][0] = {
        "name": "adaptive",
        "size": 6,
        "float": {"tau_v": "20 ms", "v_th": 8128.0, "tau_ahp": "700 ms", "b_ahp": 384.0},
    }
    adaptive = _parse(raw, folder).populations["adaptive"]
    # nearest factors: 4096 (1 - exp(-1/20)) = 199.8, 4096 (1 - exp(-1/700)) = 5.85
    assert (adaptive.decay_v, adaptive.vth_mant) == (200, 127)
    assert (adaptive.ahp.decay, adaptive.ahp.weight, adaptive.ahp.exponent) == (6, -6, 0)
    assert adaptive.ahp.input_per_spike == -384
    assert adaptive.float_neuron.keep_v == np.exp(-1 / 20)
    raw["populations"][0]["float"]["b_ahp"] = 64 * 255 * 3.0  # needs exponent 2
    adaptive = _parse(raw, folder).populations["adaptive"]
    assert (adaptive.ahp.weight, adaptive.ahp.exponent) == (-191, 2)
    del raw["populations"][0]["float"]["tau_v"]
    with pytest.raises(DescriptionError, match=r"populations\[0\]\.decay_v is missing and cannot"):
        _parse(raw, folder)
