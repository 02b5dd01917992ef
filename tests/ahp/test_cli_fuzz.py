"""Fuzzing of the command line: every option of every command, given hostile values.

Each case is a command that would run if one option were right, with that option given a bad
value: not a number, NaN, an infinity, negative, zero where zero means nothing, absurdly large,
a missing, empty, binary, non-UTF-8 or wrongly shaped file, a folder for a file, a file for a
folder, a name that leaves the output folder. The oracle for each case:

- exit status 2 with one line ``ahp COMMAND: error: ...`` naming the option or file (or
  argparse's usage and error lines, for a value its type refuses);
- no other exception, no traceback, no work started (each case is refused in seconds);
- nothing written outside the case's output folder (the current folder stays empty).

All failures are collected and reported together.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from brian2 import pA

from ahp.cli import main
from ahp_models import LifAhpParams
from fitting.synthetic import draw_lif_ahp_cells, record_cells, write_allen_tables
from hardware_mapping.neuron_mapping import map_neuron
from hardware_mapping.parameter_files import write_parameter_file
from tests.hardware_mapping.trained.conftest import small_network

NUMBER = ["nan", "inf", "-inf", "abc", "", "1e300", "-1e300"]
COUNT = ["0", "-1", "nan", "1.5", "abc", ""]  # (a huge limit or top N means "all": valid)
HUGE = "99999999999999999999999"
DURATION = ["nan s", "inf s", "-1 s", "abc", "5 mV", "1e300 s", ""]
NAMES = ["..", "../../x", "/tmp/abs", "a/b", "a\\b", "a\0b", ".hidden", "", "x" * 101]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Valid inputs of every command, and bad files of every kind."""
    folder = tmp_path_factory.mktemp("inputs")
    files = {"folder": folder / "a_folder", "allen": folder / "allen"}
    files["folder"].mkdir()
    cells = record_cells(draw_lif_ahp_cells(2, seed=5), [1, 2])
    write_allen_tables(cells, files["allen"])
    rows = [{"status": "fitted", "specimen_id": 11, "model": "lif_ahp", **LifAhpParams().to_row()}]
    files["fits"] = folder / "fit_results.csv"
    pd.DataFrame(rows).to_csv(files["fits"], index=False)
    mapping = map_neuron(LifAhpParams(), current_range=(0 * pA, 400 * pA))
    files["parameters"] = write_parameter_file(folder / "cell.json", {"cell_11": mapping})
    files["study"] = folder / "study.toml"
    files["study"].write_text('name = "fuzz"\n[signal]\nduration = "20 s"\n')
    network = folder / "network"
    network.mkdir()
    files["network"] = network / "small.toml"
    files["network"].write_text(_toml(small_network(network)))
    files["samples"] = network / "samples.npy"
    np.save(files["samples"], np.random.default_rng(0).integers(0, 10, (4, 12)).astype(float))
    files["labels"] = network / "labels.npy"
    np.save(files["labels"], np.array([0, 1, 2, 0]))
    for name, content in {
        "missing": None,
        "empty_csv": b"",
        "garbage_csv": bytes(range(256)) * 4,
        "latin1_csv": "caf\u00e9,1\n".encode("latin-1"),
        "text_npy": b"not numpy",
        "pickle_npy": np.lib.format.magic(1, 0) + b"\x46\x00{'descr': '|O', 'fortran_order': "
        b"False, 'shape': (1,), }" + b" " * 20 + b"\n" + b"\x80\x04N.",
        "deep_json": b"[" * 5000 + b"]" * 5000,
        "nan_json": b'{"model": "lif_ahp", "parameters": {"tau_m": NaN}}',
        "deep_toml": b"a = " + b"[" * 5000 + b"]" * 5000,
        "inf_toml": b'name = "x"\n[population]\nsize = inf\n',
        "huge_toml": b'name = "x"\n[population]\nsize = ' + b"9" * 5001 + b"\n",
        "latin1_toml": 'name = "caf\u00e9"\n'.encode("latin-1"),
    }.items():
        files[name] = folder / ".".join(name.rsplit("_", 1))  # garbage_csv -> garbage.csv
        if content is not None:
            files[name].write_bytes(content)
    files["existing_file"] = folder / "existing_file"
    files["existing_file"].write_text("mine")
    return files


def _toml(description: dict) -> str:
    """TOML text of a description of plain tables, lists, strings and numbers."""

    def value(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return json.dumps(v)

    lines = [f"{k} = {value(v)}" for k, v in description.items() if not isinstance(v, list)]
    for key, entries in ((k, v) for k, v in description.items() if isinstance(v, list)):
        for entry in entries:
            lines += [f"[[{key}]]", *(f"{k} = {value(v)}" for k, v in entry.items())]
    return "\n".join(lines) + "\n"


def bad_files(*kinds: str) -> list[str]:
    return [f"{{{kind}}}" for kind in kinds]


INPUT_FILES = bad_files("missing", "folder", "empty_csv", "garbage_csv", "latin1_csv")
NUMPY_FILES = bad_files("missing", "folder", "text_npy", "pickle_npy", "empty_csv")
JSON_FILES = bad_files("missing", "folder", "deep_json", "nan_json", "garbage_csv", "latin1_csv")
TOML_FILES = bad_files(
    "missing", "deep_toml", "inf_toml", "huge_toml", "latin1_toml", "garbage_csv"
)

#: command -> (the rest of a valid command line, {option: bad values}); an option None is the
#: first positional argument.
COMMANDS = {
    "simulate": (["--no-figure"], {
        "--n-currents": COUNT, "--params": JSON_FILES,
        "--set": ["tau_m=-1 ms", "tau_m=nan ms", "nosuch=1", "tau_m", "=", "tau_m=1e300 ms"],
        "--amplitudes": [*NUMBER, ","], "--onset": DURATION, "--width": DURATION,
        "--duration": DURATION, "--seed": ["-1", "abc", "1.5", str(2**64)],
        "--dt": ["nan ms", "0 ms", "-1 ms", "inf ms", "abc", "1e-12 ms", "1e300 ms"],
        "--record": ["nosuch", "v,v", ",", "v,nosuch"],
        "--record-dt": ["0 ms", "-1 ms", "nan ms", "abc"],
        "--out": bad_files("existing_file"),
    }),
    "simulate --protocol array": (["--no-figure"], {
        "--current-file": [*INPUT_FILES, *NUMPY_FILES], "--current-unit": ["parsec", "", "mV"],
    }),
    "simulate --protocol noise": (["--no-figure"], {
        "--mean": ["nan pA", "inf pA", "1e300 pA", "5 ms"], "--std": ["-1 pA", "nan pA", "abc"],
        "--tau": ["nan s", "inf s", "-1 s", "0 s", "abc", "5 mV", ""],
    }),
    "simulate --protocol ramp": (["--no-figure"], {"--slope": ["nan pA/s", "inf pA/s", "5 ms"]}),
    "allen-summary": (["--data", "{allen}"], {
        "--data": bad_files("missing", "existing_file", "folder"), "--top": COUNT,
        "--by": ["nosuch", ""], "--out": bad_files("existing_file"),
    }),
    "fit": (["--allen", "{allen}", "--generations", "2", "--popsize", "4"], {
        "--allen": bad_files("missing", "existing_file", "folder"),
        "--specimen": ["abc", "99999999", "-1", ""], "--cre-line": ["nosuch"],
        "--layer": ["nosuch"], "--limit": COUNT, "--sweeps": INPUT_FILES,
        "--nwb": bad_files("missing", "existing_file"), "--seed": ["-1", "abc", str(2**64)],
        "--generations": [*COUNT, HUGE], "--popsize": ["0", "1", "-1", "abc", "99999999999"],
        "--restarts": ["-1", "abc", "1000000"], "--attempts": ["0", "-1"],
        "--refit-restarts": ["-1"], "--slots": ["0", "-1"], "--report-cells": ["-1", "abc"],
        "--search-step": [*DURATION, "2 ms", "1 s", "0.5"],
        "--workers": ["-1", "abc", "100000"], "--scheduler": ["::::", "not an address", ""],
        "--out": bad_files("existing_file"),
    }),
    "fetch": (["--offline", "--cache", "{out}"], {
        "--cache": bad_files("existing_file"), "--api": ["::::", "ftp://x", "http://", ""],
        "--timeout": ["0", "-1", "nan", "inf", "abc"], "--nwb": ["abc", "-1"],
    }),
    "map": (["{fits}", "--no-validate", "--search-rounds", "0"], {
        None: [*INPUT_FILES, "{parameters}"], "--specimen": ["99", "abc", ""],
        "--limit": COUNT, "--dt": [*NUMBER, "0", "1e-9", "1000"],
        "--search-rounds": ["-1", "nan", "abc", "1000000000"], "--population": NAMES,
        "--figures": ["-1", "abc"], "--out": bad_files("existing_file"),
    }),
    "validate": (["{parameters}"], {
        None: [*JSON_FILES, "{fits}"], "--fits": INPUT_FILES, "--figures": ["-1", "abc"],
        "--out": bad_files("existing_file"),
    }),
    "filter-study": (["{study}"], {
        None: [*TOML_FILES, "nosuch_study", "../x", "{parameters}"],
        "--out": bad_files("existing_file"),
    }),
    "pipeline": (["--allen", "{allen}", "--generations", "2", "--popsize", "4"], {
        "--allen": bad_files("missing", "existing_file", "folder"), "--limit": COUNT,
        "--generations": COUNT, "--dt": [*NUMBER, "0", "1e-9"], "--figures": ["-1", "abc"],
        "--workers": ["-1", "abc"], "--seed": ["-1", "abc"], "--out": bad_files("existing_file"),
    }),
    "network run": (["{network}", "--samples", "{samples}", "--labels", "{labels}"], {
        None: ["nosuch", "../x.toml", "", "{study}", *TOML_FILES],
        "--images": ["0", "-5", "abc", "all2", "5", "99999999999"], "--seed": ["-1", "abc"],
        "--workers": ["-1", "abc", "100000"], "--batch": ["0", "-1", "abc"],
        "--chunk": ["0", "-1", "abc"], "--samples": NUMPY_FILES, "--labels": NUMPY_FILES,
        "--parameters": [*JSON_FILES, "{parameters}"], "--record-sample": ["abc", "-2", "4"],
        "--data-folder": bad_files("missing", "existing_file"),
        "--out": bad_files("existing_file"),
    }),
    "network export": (["{network}"], {
        None: ["nosuch", "../x.toml", "", *TOML_FILES], "--out": bad_files("folder"),
        "--nir": bad_files("folder"),
    }),
    "predict": (["{fits}", "--amplitudes", "100pA"], {
        None: INPUT_FILES, "--amplitudes": ["100", "nan pA", "5 mV", ",", "100,100pA", ""],
        "--duration": DURATION, "--specimen": ["99", "abc", ""],
        "--out": bad_files("existing_file"),
    }),
    "export glif": (["{fits}"], {
        None: [*INPUT_FILES, "{parameters}"], "--dt": [*NUMBER, "0", "1000"],
        "--specimen": ["99", "abc", ""], "--limit": COUNT, "--scheme": ["nosuch", ""],
        "--out": bad_files("existing_file"),
    }),
    "export nir": (["{parameters}", "--out", "{out}.nir"], {
        None: [*INPUT_FILES, "{parameters}", "{fits}"],
    }),
}  # fmt: skip


def cases() -> list[tuple[list[str], str]]:
    """Every (command line with placeholders, its label)."""
    every = []
    for command, (rest, options) in COMMANDS.items():
        for option, values in options.items():
            for value in values:
                base = [*command.split(), *rest]
                if option is None:  # the positional argument: replace the valid one
                    argv = [*command.split(), value, *rest[1:]]
                else:
                    argv = [*base, f"{option}={value}" if value.startswith("-") else option]
                    argv += [] if value.startswith("-") else [value]
                if "--out" not in argv and command.split()[0] != "fetch":
                    argv += ["--out", "{out}"]
                every.append((argv, f"ahp {' '.join(argv)}"))
    return every


#: A case still running after this long has started the work it should have refused.
CASE_SECONDS = 15


class StartedWork(BaseException):  # library code that catches Exception must not hide it
    """Raised by the alarm in a case that runs too long."""


def _started_work(signum, frame):
    raise StartedWork


def test_the_suite_has_at_least_200_cases():
    assert len(cases()) >= 200


def test_every_bad_option_is_refused_in_one_line(inputs, tmp_path, monkeypatch):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    failures = []
    for number, (template, label) in enumerate(cases()):
        out = tmp_path / f"out{number}"
        values = {name: str(path) for name, path in inputs.items()} | {"out": str(out)}
        argv = [part.format(**values) for part in template]
        stderr, start = io.StringIO(), time.perf_counter()
        signal.signal(signal.SIGALRM, _started_work)
        signal.alarm(CASE_SECONDS)
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                status = main(argv)
        except SystemExit as exit:  # argparse refused the value while parsing
            status = exit.code
        except StartedWork:
            failures.append(f"{label}: still running after {CASE_SECONDS} s (work started)")
            continue
        except Exception as error:  # the point: any other exception is a bug
            failures.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
            continue
        finally:
            signal.alarm(0)
        lines = stderr.getvalue().strip().splitlines()
        seconds = time.perf_counter() - start
        if status != 2:
            failures.append(f"{label}: exit status {status} ({seconds:.1f} s)")
        elif (
            not lines or not lines[-1].startswith(f"ahp {argv[0]}") or ": error: " not in lines[-1]
        ):
            failures.append(f"{label}: unclear refusal {lines[-3:]}")
        elif not lines[-1].startswith("ahp") or any("Traceback" in line for line in lines):
            failures.append(f"{label}: traceback")
        if any(workdir.iterdir()):
            failures.append(f"{label}: wrote {sorted(p.name for p in workdir.iterdir())}")
            for path in workdir.iterdir():
                path.unlink() if path.is_file() else None
    assert not failures, f"{len(failures)} of {len(cases())} cases:\n" + "\n".join(failures)
