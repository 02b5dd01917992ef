"""Fuzzing of parameter files: every mutation of a real file is refused cleanly or changes
nothing the reader returns.

Real files (two mapped neurons, one and three AHP currents; a small trained network) are
mutated field by field: each field deleted, retyped, pushed past its bounds, made NaN, infinite
or too large for a double, nested, or given hostile text; and as whole files: truncated,
re-encoded, corrupted, deeply nested, reformatted. The oracle for each case:

- refused: a `ParameterFileError` whose one-line message starts with the file's path;
- accepted: the neurons (registers, source model, quantization report) or the network read
  back are exactly those of the unmutated file.

Anything else (another exception, a traceback, an accepted change) is a failure; each test
collects all failures of its cases and reports them together.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from brian2 import pA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ahp_models import LifAhpParams, MultiAhpParams
from hardware_mapping.neuron_mapping import map_neuron
from hardware_mapping.parameter_files import (
    ParameterFileError,
    read_network_file,
    read_parameter_file,
    write_network_file,
    write_parameter_file,
)
from hardware_mapping.trained import map_description
from hardware_mapping.trained.description import parse_description
from tests.hardware_mapping.trained.conftest import small_network
from tests.mutations import REFUSED_OR_SAME, fields, run_cases, value_at, with_value, without

RETYPED = ("text", 7, 2.5, True, None, [], {})
HOSTILE_TEXT = ("", "../../x", "/etc/passwd", "a\u0000b", "x" * 5000, "é\u202e", "cell\\..\\x")
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400")


@pytest.fixture(scope="module")
def neuron_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "neurons.json"
    mappings = {
        "one_ahp": map_neuron(LifAhpParams(), current_range=(0 * pA, 400 * pA)),
        "three_ahp": map_neuron(MultiAhpParams(), current_range=(0 * pA, 400 * pA)),
    }
    return write_parameter_file(
        path, mappings, provenance={"one_ahp": {"fit_id": "f1", "specimen_id": 7}}
    )


@pytest.fixture(scope="module")
def network_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz_network")
    description = parse_description(small_network(folder), source="small", data_folder=folder)
    return write_network_file(folder / "network.json", map_description(description))


def _literal(document, path, literal: str) -> str:
    """The document's JSON text with the value at ``path`` written as ``literal``."""
    marker = "__LITERAL_MARKER__"
    return json.dumps(with_value(document, path, marker)).replace(f'"{marker}"', literal)


def field_mutations(document, rng: random.Random, paths=None) -> list[tuple[str, bytes]]:
    """Per field: deleted, retyped, past its bounds, non-finite, nested, hostile text.

    Each field (of ``paths``, default all) gets every kind of mutation once, with a value drawn
    from that kind's list (a seeded draw: the suite is reproducible and about 1,000 cases long).
    """
    cases = []
    for path in paths if paths is not None else [p for p, _ in fields(document) if p]:
        value = value_at(document, path)
        name = "/".join(map(str, path))

        def changed(new_value, path=path):
            return json.dumps(with_value(document, path, new_value))

        cases.append((f"delete {name}", json.dumps(without(document, path))))
        cases.append((f"retype {name}", changed(rng.choice(RETYPED))))
        cases.append((f"nest {name}", changed([value])))
        if isinstance(value, int | float) and not isinstance(value, bool):
            pushed = rng.choice([value + 1, value - 1, -value, value * 1e6 + 1, 1e300, 2**63,
                                 -(2**63) - 1, 0, 0.5])  # fmt: skip
            cases.append((f"push {name} to {pushed!r}", changed(pushed)))
            literal = rng.choice(NON_FINITE)
            cases.append((f"{literal} at {name}", _literal(document, path, literal)))
        if isinstance(value, str):
            text = rng.choice(HOSTILE_TEXT)
            cases.append((f"text {text[:10]!r} at {name}", changed(text)))
    return [(label, text.encode("utf-8"), REFUSED_OR_SAME) for label, text in cases]


def file_mutations(text: str, rng: random.Random) -> list[tuple[str, bytes]]:
    """Whole-file mutations: truncations, encodings, corrupt bytes, nesting, huge numbers."""
    data = text.encode("utf-8")
    cases = [(f"truncated at {n}", data[:n]) for n in sorted(rng.sample(range(len(data)), 40))]
    cases += [
        ("empty", b""),
        ("null", b"null"),
        ("a list", b"[]"),
        ("utf-16", text.encode("utf-16")),
        ("utf-32", text.encode("utf-32")),
        ("bom", b"\xef\xbb\xbf" + data),
        ("latin-1 name", text.replace('"one_ahp"', '"caf\u00e9"').encode("latin-1")),
        ("0xff inside", data[:100] + b"\xff" + data[100:]),
        ("nul inside", data[:100] + b"\x00" + data[100:]),
        ("5000 deep", b"[" * 5000 + b"]" * 5000),
        ("5000 deep in a field", text.replace('"loihi1"', "[" * 5000 + "]" * 5000, 1).encode()),
        ("5001 digits", text.replace('"decay_u": 4096', '"decay_u": ' + "9" * 5001, 1).encode()),
        ("400 digits", text.replace('"decay_u": 4096', '"decay_u": ' + "9" * 400, 1).encode()),
        ("trailing garbage", data + b"{}"),
        ("key twice", text.replace('"decay_u": 4096', '"decay_u": 4096, "decay_u": 0', 1).encode()),
        ("pickle", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."),
    ]
    document = json.loads(text)
    cases += [
        ("reformatted", json.dumps(document, indent=4, sort_keys=True).encode()),
        ("compact", json.dumps(document, separators=(",", ":")).encode()),
        ("crlf", json.dumps(document, indent=2).replace("\n", "\r\n").encode()),
        ("escaped unicode", json.dumps(document, ensure_ascii=True).encode()),
    ]
    return [(label, data, REFUSED_OR_SAME) for label, data in cases]


def _same_neurons(got, expected) -> bool:
    return list(got) == list(expected) and all(
        got[n] == expected[n]
        and got[n].source == expected[n].source
        and got[n].report.equals(expected[n].report)
        for n in expected
    )


def _same_network(got, expected) -> bool:
    return (
        got.inputs == expected.inputs
        and got.mappings.keys() == expected.mappings.keys()
        and all(
            _same_neurons(dict(enumerate(got.mappings[p])), dict(enumerate(expected.mappings[p])))
            for p in expected.mappings
        )
        and all(np.array_equal(got.currents_pA[p], expected.currents_pA[p]) for p in got.mappings)
        and len(got.projections) == len(expected.projections)
        and all(
            a.pre == b.pre
            and a.post == b.post
            and all(
                np.array_equal(getattr(a, f), getattr(b, f))
                for f in ("pre_index", "post_index", "mantissa", "exponent", "delay", "requested")
            )
            for a, b in zip(got.projections, expected.projections, strict=True)
        )
    )


def test_every_field_mutation_of_a_neuron_file_is_refused_or_harmless(neuron_file, tmp_path):
    expected = read_parameter_file(neuron_file)
    document = json.loads(neuron_file.read_text())
    cases = field_mutations(document, random.Random(21))
    assert len(cases) >= 1000
    counts = run_cases(
        cases,
        tmp_path / "mutated.json",
        read_parameter_file,
        ParameterFileError,
        lambda got: _same_neurons(got, expected),
    )
    assert counts["refused"] > 0.9 * len(cases)


def test_every_field_mutation_of_a_network_file_is_refused_or_harmless(network_file, tmp_path):
    expected = read_network_file(network_file)
    document = json.loads(network_file.read_text())
    # the network's arrays hold hundreds of synapses and its neurons repeat the fields the
    # neuron file's test mutates: mutate every field of the network section above the array
    # entries, and seeded samples of the entries and of the neurons' fields
    rng = random.Random(22)
    paths = [p for p, _ in fields(document) if p]
    entries = [p for p in paths if p[0] == "network" and isinstance(p[-1], int) and len(p) > 4]
    neurons = [p for p in paths if p[0] == "neurons"]
    sections = [p for p in paths if p not in entries and p not in neurons]
    chosen = [p for p in sections if len(p) <= 3]  # the sections, their lists and fields
    chosen += rng.sample([p for p in sections if len(p) > 3], 25)
    chosen += rng.sample(entries, 10) + rng.sample(neurons, 10)
    cases = field_mutations(document, rng, chosen)
    run_cases(
        cases,
        tmp_path / "mutated.json",
        read_network_file,
        ParameterFileError,
        lambda got: _same_network(got, expected),
    )


def test_whole_file_mutations_are_refused_or_harmless(neuron_file, network_file, tmp_path):
    for source, read, same in (
        (neuron_file, read_parameter_file, _same_neurons),
        (network_file, read_network_file, _same_network),
    ):
        expected = read(source)
        counts = run_cases(
            file_mutations(source.read_text(), random.Random(23)),
            tmp_path / "mutated.json",
            read,
            ParameterFileError,
            lambda got, expected=expected, same=same: same(got, expected),
        )
        assert counts["accepted"] >= 5  # the reformatted, re-escaped and BOM copies


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_combined_mutations_are_refused_or_harmless(neuron_file, tmp_path, data):
    """Several fields mutated at once, drawn by hypothesis (which shrinks a failure)."""
    expected = read_parameter_file(neuron_file)
    document = json.loads(neuron_file.read_text())
    paths = [p for p, _ in fields(document) if p]
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        try:
            document = with_value(
                document, path, data.draw(st.sampled_from((*RETYPED, *HOSTILE_TEXT)))
            )
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed the path
            continue
    run_cases(
        [("combined", json.dumps(document).encode(), REFUSED_OR_SAME)],
        tmp_path / "mutated.json",
        read_parameter_file,
        ParameterFileError,
        lambda got: _same_neurons(got, expected),
    )
