"""`ahp predict`: options refused while parsed, a fit table in, predictions.csv out.

The command is run through its own parser (`ahp.predict_command.add_arguments`), as
``ahp/cli.py`` registers it.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from brian2 import pA, second

from ahp import predict_command
from ahp_models import LifAhpParams
from fitting.prediction import PREDICTION_COLUMNS, PredictionError
from hardware_mapping.neuron_mapping import MappingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ahp predict")
    predict_command.add_arguments(parser)
    return parser


@pytest.fixture
def fits(tmp_path):
    """Three fitted cells: 2 and 3 the same neuron as lif_ahp and as a two-current
    lif_multi_ahp whose second current does nothing; an unfittable row."""
    neuron = LifAhpParams().to_row()
    multi = {k: v for k, v in neuron.items() if not k.startswith(("tau_ahp", "b_ahp"))} | {
        "tau_ahp_1_ms": neuron["tau_ahp_ms"],
        "tau_ahp_2_ms": 1000.0,
        "b_ahp_1_pA": neuron["b_ahp_pA"],
        "b_ahp_2_pA": 0.0,
    }
    rows = [
        {"specimen_id": 1, "status": "fitted", "model": "lif_ahp"} | neuron | {"tau_m_ms": 8.0},
        {"specimen_id": 2, "status": "fitted", "model": "lif_ahp"} | neuron,
        {"specimen_id": 3, "status": "fitted", "model": "lif_multi_ahp"} | multi,
        {"specimen_id": 4, "status": "unfittable", "model": "lif_ahp"},
    ]
    path = tmp_path / "fit_results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_predictions_of_the_chosen_cells_are_written(fits, tmp_path, capsys):
    out = tmp_path / "predictions"
    args = _parser().parse_args(
        [str(fits), "--amplitudes", "0.1,0.2nA,250pA", "--specimen", "2,3", "--duration",
         "500 ms", "--out", str(out)]
    )  # fmt: skip
    assert args.duration == 0.5 * second
    path = predict_command.run(args)
    assert path == out / "predictions.csv"
    assert "predict: 2 cells x 3 amplitudes (0.5 s steps)" in capsys.readouterr().out
    table = pd.read_csv(path)
    assert list(table.columns) == list(PREDICTION_COLUMNS)
    assert table.specimen_id.tolist() == [2, 2, 2, 3, 3, 3]
    assert table.model.tolist() == ["lif_ahp"] * 3 + ["lif_multi_ahp"] * 3
    assert table.amplitude_pA.tolist() == [100.0, 200.0, 250.0] * 2
    # the same neuron in either model: the same sweeps
    lif, multi = table.iloc[:3], table.iloc[3:]
    np.testing.assert_array_equal(lif.spike_count, multi.spike_count)
    for column in ("latency_s", "mean_isi_s", "adaptation_index"):
        np.testing.assert_allclose(lif[column], multi[column], rtol=1e-12)
    assert lif.spike_count.iloc[-1] >= 3 and lif.spike_count.is_monotonic_increasing
    assert [p.name for p in out.iterdir()] == ["predictions.csv"]  # no temporary file left


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--amplitudes", "100,150", "no unit; allowed: currents with their unit"),
        ("--amplitudes", "1,2pA,3", "no unit; allowed: currents with their unit"),
        ("--amplitudes", "100,,200pA", "allowed: numbers separated by commas"),
        ("--amplitudes", "abc", "allowed: numbers separated by commas"),
        ("--amplitudes", "nan pA", "allowed: numbers separated by commas"),
        ("--amplitudes", "100 mV", "has the wrong units"),
        ("--amplitudes", "100,5 parsec", "unknown unit 'parsec'"),
        ("--amplitudes", "1e400pA", "allowed: finite currents within +-1e+06 pA"),
        ("--amplitudes", "2uA", "allowed: finite currents within +-1e+06 pA"),
        ("--amplitudes", "100pA,0.1nA", "100 pA is given twice"),
        ("--amplitudes", "", "allowed: numbers separated by commas"),
        ("--duration", "0 s", "allowed: one positive, finite time"),
        ("--duration", "-1 s", "allowed: one positive, finite time"),
        ("--duration", "inf s", "expected a number followed by a unit"),
        ("--duration", "5 mV", "has the wrong units"),
        ("--duration", "1", "has no unit"),
        ("--specimen", "abc", "expected specimen ids"),
    ],
)
def test_malformed_options_are_refused_by_name(fits, capsys, option, value, fragment):
    argv = [str(fits), "--amplitudes", "100pA", f"{option}={value}"]
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"ahp predict: error: argument {option}: "), error
    assert fragment in error, error


def test_the_amplitudes_are_required(fits, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args([str(fits)])
    assert "the following arguments are required: --amplitudes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "error", "fragment"),
    [
        (["--specimen", "4"], MappingError, r"--specimen \[4\]: not among the fitted cells"),
        (["--duration", "1.00005 s"], PredictionError, "whole number of time steps of 0.1 ms"),
    ],
)
def test_requests_the_fits_cannot_answer_are_refused(fits, tmp_path, extra, error, fragment):
    out = tmp_path / "predictions"
    args = _parser().parse_args([str(fits), "--amplitudes", "100pA", "--out", str(out), *extra])
    with pytest.raises(error, match=fragment):
        predict_command.run(args)
    assert not out.exists()


def test_a_table_that_is_not_a_fit_table_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("specimen_id,colour\n1,red\n")
    args = _parser().parse_args([str(path), "--amplitudes", "100pA"])
    with pytest.raises(MappingError, match="not a fit results table"):
        predict_command.run(args)
    assert args.amplitudes == [100.0] * pA
