"""Every bad input the hostile-user review found, one named test each: refused in one line
naming the file or option, the field, the value and what is allowed, with exit status 2."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from brian2 import pA

from ahp.cli import main
from ahp_models import LifAhpParams
from ahp_models.output_folders import LOCK_NAME, claim_output_folder
from hardware_mapping.neuron_mapping import map_neuron
from hardware_mapping.parameter_files import write_parameter_file


def refused(argv: list[str], capsys, *fragments: str) -> str:
    """Run ``ahp ARGV``; assert exit status 2 and a one-line error holding ``fragments``
    (argparse's own errors come after its usage lines)."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # argparse: an option's type refused the value
        status = exit.code
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith("ahp ") and ": error: " in error, error
    else:
        error = capsys.readouterr().err.strip()
        assert error.startswith(f"ahp {argv[0]}: error: ") and "\n" not in error, error
    assert status == 2
    for fragment in fragments:
        assert re.search(fragment, error), (fragment, error)
    return error


# -- parameter files: valid JSON, wrong inside --------------------------------------------------


@pytest.fixture(scope="module")
def parameter_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("files") / "cell.json"
    mapping = map_neuron(LifAhpParams(), current_range=(0 * pA, 400 * pA))
    return write_parameter_file(
        path, {"cell_7": mapping}, provenance={"cell_7": {"specimen_id": 7}}
    )


def changed(parameter_file: Path, tmp_path: Path, change) -> Path:
    document = json.loads(parameter_file.read_text())
    change(document)
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(document))
    return path


def test_validate_refuses_a_deleted_ahp_compartment(parameter_file, tmp_path, capsys):
    path = changed(parameter_file, tmp_path, lambda d: d["neurons"][0]["aux"].clear())
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"neurons\[0\]\.aux: 0 compartments; allowed: 1 to 2")  # fmt: skip
    assert not (tmp_path / "v").exists()


def test_validate_refuses_a_register_changed_after_mapping(parameter_file, tmp_path, capsys):
    def lower_threshold(document):
        document["neurons"][0]["main"]["vth_mant"] -= 1

    path = changed(parameter_file, tmp_path, lower_threshold)
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"neurons\[0\]\.digest = sha256:.*'cell_7' was changed after the toolkit "
            "wrote it")  # fmt: skip


def test_validate_refuses_a_deleted_source_parameter(parameter_file, tmp_path, capsys):
    path = changed(parameter_file, tmp_path, lambda d: d["neurons"][0]["source"]["parameters"]
                   .pop("tau_m"))  # fmt: skip
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"neurons\[0\]\.source\.parameters: 'tau_m' is missing",
            "none taking a default")  # fmt: skip


def test_validate_refuses_a_vanishing_time_constant(parameter_file, tmp_path, capsys):
    def tiny(document):
        document["neurons"][0]["source"]["parameters"]["tau_m"]["value"] = 1e-300

    path = changed(parameter_file, tmp_path, tiny)
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"tau_m = 1e-300 ms is outside the allowed range \[1e-06, 1e\+09\] ms")  # fmt: skip


def test_validate_refuses_a_reversed_current_range(parameter_file, tmp_path, capsys):
    def reverse(document):
        document["neurons"][0]["input"]["current_range_pA"].reverse()

    path = changed(parameter_file, tmp_path, reverse)
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"neurons\[0\]\.input\.current_range_pA = \[400, 0\]: reversed")  # fmt: skip


def test_validate_refuses_a_number_that_overflows_to_infinity(parameter_file, tmp_path, capsys):
    path = tmp_path / "huge.json"
    path.write_text(parameter_file.read_text().replace('"decay_u": 4096', '"decay_u": 1e400'))
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"neurons\[0\]\.main\.decay_u = Infinity", "allowed: finite numbers")  # fmt: skip


def test_validate_refuses_a_threshold_mantissa_of_zero(parameter_file, tmp_path, capsys):
    def zero(document):
        document["neurons"][0]["main"]["vth_mant"] = 0

    path = changed(parameter_file, tmp_path, zero)
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"neurons\[0\]\.main\.vth_mant = 0: 0 is less than the minimum of 1")  # fmt: skip


def test_validate_refuses_a_nanosecond_time_step(parameter_file, tmp_path, capsys):
    def tiny_step(document):
        document["time_step_ms"] = 1e-9

    path = changed(parameter_file, tmp_path, tiny_step)
    start = time.perf_counter()
    refused(["validate", path, "--out", tmp_path / "v"], capsys,
            r"time_step_ms = 1e-09: 1e-09 is less than the minimum of 0\.01")  # fmt: skip
    assert time.perf_counter() - start < 30  # refused before any simulation (a loose bound)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        (
            "latin1.json",
            '{"name": "caf\u00e9"}'.encode("latin-1"),
            r"byte 13 \(0xe9\) is not UTF-8",
        ),
        ("deep.json", b"[" * 5000 + b"]" * 5000, "nested too deeply; allowed: at most 32"),
        ("digits.json", b'{"version": ' + b"9" * 5001 + b"}", "an integer of 5001 digits"),
    ],
)
def test_validate_refuses_unreadable_json(tmp_path, capsys, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    refused(["validate", path, "--out", tmp_path / "v"], capsys, re.escape(str(path)), fragment)


# -- options and tables that used to end in tracebacks ------------------------------------------


@pytest.fixture
def fit_table(tmp_path) -> Path:
    rows = [
        {"status": "fitted", "specimen_id": specimen, "model": "lif_ahp", **params.to_row()}
        for specimen, params in ((11, LifAhpParams()), (12, LifAhpParams(b_ahp=40 * pA)))
    ]
    path = tmp_path / "fit_results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


WRITING_COMMANDS = [
    ["simulate"],
    ["allen-summary", "--data", "{allen}"],
    ["fit", "--allen", "{allen}"],
    ["map", "{fits}"],
    ["validate", "{file}"],
    ["pipeline"],
    ["network", "run", "rao2022-smnist"],
    ["filter-study", "demo"],
]


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_out_naming_an_existing_file_is_refused_by_every_writing_command(
    command, tmp_path, capsys, fit_table, parameter_file
):
    existing = tmp_path / "a_file"
    existing.write_text("mine")
    values = {"allen": tmp_path, "fits": fit_table, "file": parameter_file}
    argv = [part.format(**values) for part in command] + ["--out", existing]
    refused(argv, capsys, rf"--out {re.escape(str(existing))}: is a file; allowed: a folder")
    assert existing.read_text() == "mine"


def test_network_export_to_a_folder_is_refused(tmp_path, capsys):
    refused(["network", "export", "rao2022-smnist", "--out", tmp_path], capsys,
            r"is a folder; allowed: a file to write")  # fmt: skip


def test_fit_selection_that_selects_no_cell_is_refused(allen_dir, tmp_path, capsys):
    argv = ["fit", "--allen", allen_dir, "--species", "human", "--cre-line", "Sst-IRES-Cre",
            "--out", tmp_path / "fit"]  # fmt: skip
    refused(argv, capsys, "the selection --species human --cre-line Sst-IRES-Cre matches no cell")
    assert not (tmp_path / "fit").exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda t: t.iloc[0:0], r"no row of status 'fitted' \(of 0 rows\)"),
        (lambda t: t.assign(specimen_id=[np.nan, 12]), "line 2: specimen_id = nan; allowed"),
        (lambda t: t.assign(specimen_id=["abc", 12]), "line 2: specimen_id = 'abc'; allowed"),
        (lambda t: t.assign(model="hodgkin_huxley"), r"model = 'hodgkin_huxley': cannot be fitted"),
        (lambda t: t.assign(tau_m_ms=1e300), r"tau_m = 1e\+300 ms is outside the allowed range"),
        (lambda t: t.assign(specimen_id=11), "specimen_id 11 is fitted on lines 2, 3"),
    ],
    ids=["empty", "nan id", "text id", "bad model", "huge tau_m", "repeated id"],
)  # fmt: skip
def test_map_refuses_a_bad_fit_table(fit_table, tmp_path, capsys, change, fragment):
    change(pd.read_csv(fit_table)).to_csv(fit_table, index=False)
    refused(["map", fit_table, "--out", tmp_path / "hw", "--no-validate"], capsys,
            re.escape(str(fit_table)), fragment)  # fmt: skip
    assert not (tmp_path / "hw").exists()


@pytest.mark.parametrize("dt", ["inf", "nan", "-1", "0", "1e-9", "1000"])
def test_map_refuses_a_time_step_outside_the_hardware_range(fit_table, tmp_path, capsys, dt):
    refused(["map", fit_table, "--dt", dt, "--out", tmp_path / "hw"], capsys,
            rf"--dt {re.escape(str(float(dt)))}: allowed: a step from 0\.01 to 100 ms")  # fmt: skip


def test_fetch_refuses_an_address_that_is_no_url(tmp_path, capsys):
    refused(["fetch", "--api", "::::", "--cache", tmp_path / "cache"], capsys,
            r"--api '::::'; allowed: an http:// or https:// address")  # fmt: skip


def test_simulate_refuses_a_pickled_current_file(tmp_path, capsys):
    path = tmp_path / "current.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    refused(["simulate", "--protocol", "array", "--current-file", path,
             "--out", tmp_path / "sim"], capsys, r"--current-file .*: not a numpy array without "
            r"Python objects \(no pickles\)")  # fmt: skip
    marker = tmp_path / "executed"
    path.write_bytes(pickle.dumps(_Exploit(marker)))
    refused(["simulate", "--protocol", "array", "--current-file", path,
             "--out", tmp_path / "sim"], capsys, "--current-file")  # fmt: skip
    assert not marker.exists()


class _Exploit:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("amplitudes", ["nan,inf", "100,nan", "-inf", "1e300"])
def test_simulate_refuses_amplitudes_that_are_not_finite_currents(tmp_path, capsys, amplitudes):
    refused(["simulate", f"--amplitudes={amplitudes}", "--out", tmp_path / "sim"], capsys,
            r"--amplitudes .*allowed: finite amplitudes within \+-1e\+06 pA")  # fmt: skip


def test_filter_study_of_1e12_neurons_is_refused_before_building(tmp_path, capsys):
    config = tmp_path / "huge.toml"
    config.write_text(f'name = "huge"\n[population]\nsize = 1000000000000\n{TASKS}')
    refused(["filter-study", config, "--out", tmp_path / "study"], capsys,
            r"population\.size = 1000000000000; allowed: a whole number from 1 to "
            "1000000")  # fmt: skip
    config.write_text(
        f'name = "long"\n[population]\nsize = 1000000\n[signal]\nduration = "1e6 s"\n{TASKS}'
    )
    refused(["filter-study", config, "--out", tmp_path / "study"], capsys,
            r"neuron-steps; allowed: at most 1e\+12")  # fmt: skip


def test_an_empty_study_config_is_refused(tmp_path, capsys):
    config = tmp_path / "empty.toml"
    config.write_text("# nothing yet\n")
    refused(["filter-study", config, "--out", tmp_path / "study"], capsys,
            r"empty; allowed: a study config with at least a name")  # fmt: skip


# -- names that would leave the output folder -----------------------------------------------------


#: A task, so that a config is refused for the value under test, not for having none.
TASKS = '[tasks.memory]\nmax_delay = "1 s"\n'
HOSTILE_NAMES = ["..", "../../x", "/tmp/abs", "a/b", "a\\b", "a\0b", ".hidden", "", "x" * 101]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_a_study_name_that_leaves_the_output_folder_is_refused(tmp_path, capsys, name):
    config = tmp_path / "study.toml"
    config.write_text(f"name = {json.dumps(name)}\n{TASKS}")
    before = set(tmp_path.parent.iterdir())
    refused(["filter-study", config], capsys, r"name = .*allowed: 1-100 letters, digits")
    assert set(tmp_path.parent.iterdir()) == before


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_a_population_name_that_leaves_the_output_folder_is_refused(
    fit_table, tmp_path, capsys, name
):
    out = tmp_path / "deep" / "hw"
    refused(["map", fit_table, "--population", name, "--out", out, "--no-validate"], capsys,
            r"--population = .*allowed: 1-100 letters, digits")  # fmt: skip
    assert not (tmp_path / "deep").exists() or not any((tmp_path / "deep").rglob("*.json"))
    assert not list(tmp_path.parent.glob("*.json"))


@pytest.mark.parametrize("out", ["a\0b", "", " "], ids=repr)
def test_an_output_folder_with_a_nul_or_no_name_is_refused(tmp_path, capsys, out, fit_table):
    refused(["map", fit_table, f"--out={out}"], capsys, r"--out: .*allowed: a file or folder name")


# -- one run per output folder -------------------------------------------------------------


def _hold(folder: str, ready, release) -> None:
    with claim_output_folder(folder):
        ready.set()
        release.wait(60)


def test_a_second_run_into_a_folder_in_use_is_refused_at_once(fit_table, tmp_path, capsys):
    out = tmp_path / "hw"
    context = multiprocessing.get_context("fork")  # a second process, without re-importing
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(out), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        start = time.perf_counter()
        error = refused(["map", fit_table, "--out", out], capsys,
                        rf"another run is writing into it \(process {holder.pid} ",
                        re.escape(f"lock {out / LOCK_NAME}"))  # fmt: skip
        assert time.perf_counter() - start < 5, error  # at once, before any mapping
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs in the holder
        holder.join(60)
    # the kernel releases the lock with its process, even killed: now the folder is free
    assert main(["map", str(fit_table), "--out", str(out), "--no-validate",
                 "--search-rounds", "0"]) == 0  # fmt: skip
