"""`ahp map` and `ahp validate` end to end on a small fit results table."""

import json

import pandas as pd
import pytest
from brian2 import ms, pA

from ahp.cli import main
from ahp_models import LifAhpParams
from hardware_mapping.lava_export import read_lava_file
from hardware_mapping.parameter_files import read_parameter_file


@pytest.fixture
def results(tmp_path):
    """A results table of two fitted cells (and one that failed), as `ahp fit` writes it."""
    rows = []
    for specimen, params in (
        (11, LifAhpParams()),
        (12, LifAhpParams(tau_m=35 * ms, b_ahp=40 * pA, tau_ahp=120 * ms)),
    ):
        rows.append({"status": "fitted", "specimen_id": specimen, "model": "lif_ahp",
                     "settings": "abc123", **params.to_row()})  # fmt: skip
    rows.append({"status": "failed", "specimen_id": 13, "model": "lif_ahp"})
    path = tmp_path / "fit_results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_map_writes_parameter_files_report_and_validation(results, tmp_path, capsys):
    out = tmp_path / "hardware"
    assert main(["map", str(results), "--out", str(out), "--backend", "runtime"]) == 0
    files = {path.name for path in out.iterdir()}
    assert {"cell_11.json", "cell_12.json", "quantization.csv", "energy.csv"} <= files
    assert {"validation_neurons.csv", "validation_sweeps.csv"} <= files
    assert any(name.endswith(".png") for name in files)
    mapping = read_parameter_file(out / "cell_12.json")["cell_12"]
    assert mapping.model == "lif_ahp" and mapping.dt_ms == 1.0
    source = json.loads((out / "cell_12.json").read_text())["neurons"][0]["source"]
    assert source["specimen_id"] == 12 and source["fit_id"] == "abc123"
    assert source["parameters"]["tau_m"] == {"value": 35.0, "unit": "ms"}
    neurons = pd.read_csv(out / "validation_neurons.csv")
    assert sorted(neurons["neuron"]) == ["cell_11", "cell_12"]
    sweeps = pd.read_csv(out / "validation_sweeps.csv")
    assert (sweeps["float_count"] > 0).sum() >= 10
    assert "2 cells mapped at 1 ms steps" in capsys.readouterr().out


def test_validate_reads_a_population_file(results, tmp_path, capsys):
    out = tmp_path / "hardware"
    argv = ["map", str(results), "--out", str(out), "--population", "pop", "--no-validate"]
    assert main(argv) == 0
    assert set(read_parameter_file(out / "pop.json")) == {"cell_11", "cell_12"}
    checked = tmp_path / "checked"
    argv = ["validate", str(out / "pop.json"), "--out", str(checked), "--backend", "runtime"]
    assert main(argv) == 0
    energy = pd.read_csv(checked / "energy.csv")
    assert energy.loc[0, "table"] == "davies2018" and energy.loc[0, "dynamic_J"] > 0
    assert "validate: 2 neurons, 20 sweeps" in capsys.readouterr().out


def test_bad_inputs_give_one_line_errors(results, tmp_path, capsys):
    assert main(["map", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    assert "cannot read fit results" in capsys.readouterr().err
    assert main(["map", str(results), "--specimen", "99", "--out", str(tmp_path)]) == 2
    assert "--specimen [99]: not among the fitted cells" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ahp-toolkit/loihi-parameters"}')
    assert main(["validate", str(bad), "--out", str(tmp_path)]) == 2
    assert "is a required property" in capsys.readouterr().err


def test_map_exports_lava_files_and_validates_them(results, tmp_path, capsys):
    out = tmp_path / "hardware"
    argv = ["map", str(results), "--out", str(out), "--lava", "--backend", "runtime"]
    assert main(argv) == 0
    exported = read_lava_file(out / "cell_11.lava.json")
    neuron = exported.neurons[0]
    assert neuron["name"] == "cell_11" and len(neuron["currents_pA"]) == 10
    # the default mapping splits each AHP decay over two compartments: Lava gets one
    assert not neuron["exact"] and any("merged" in a for a in neuron["approximations"])
    lava_sweeps = pd.read_csv(out / "lava_validation_sweeps.csv")
    assert len(lava_sweeps) == 20 and (lava_sweeps["fixed_count"] > 0).sum() >= 10
    assert "validate (lava): 0 of 2 exports exact" in capsys.readouterr().out


def test_map_and_validate_compare_the_registers_features_with_the_cell(tmp_path, capsys):
    params = LifAhpParams(tau_ahp=200 * ms, b_ahp=20 * pA)
    cell = {"cell_threshold_i_long_square": 140.0, "cell_f_i_curve_slope": 0.3,
            "cell_adaptation": 0.05, "cell_avg_isi": 60.0}  # fmt: skip
    fit = {"model_threshold_i_long_square": 140.0, "model_f_i_curve_slope": 0.2,
           "model_adaptation": 0.05, "model_avg_isi": 61.0}  # fmt: skip
    row = {"status": "fitted", "specimen_id": 21, "model": "lif_ahp", **params.to_row(),
           **cell, **fit}  # fmt: skip
    results = tmp_path / "fit_results.csv"
    pd.DataFrame([row]).to_csv(results, index=False)
    out = tmp_path / "hardware"
    assert main(["map", str(results), "--out", str(out), "--backend", "runtime"]) == 0
    features = pd.read_csv(out / "features.csv")
    assert features.loc[0, "neuron"] == "cell_21"
    # the fit's verdicts come from its table: slope 0.2 vs 0.3 misses, the rest is within
    assert features.loc[0, "fit_within_f_i_curve_slope"] == 0.0
    assert features.loc[0, "fit_within_threshold_i_long_square"] == 1.0
    assert features.loc[0, "registers_threshold_i_long_square"] > 0
    neurons = pd.read_csv(out / "validation_neurons.csv")
    assert {"gamma_floor", "gamma_at_floor", "counts_within"} <= set(neurons.columns)
    checked = tmp_path / "checked"
    argv = ["validate", str(out / "cell_21.json"), "--fits", str(results), "--out", str(checked),
            "--backend", "runtime"]  # fmt: skip
    assert main(argv) == 0
    assert (pd.read_csv(checked / "features.csv") == features).all().all()
    printed = capsys.readouterr().out
    assert "sensitivity floor" in printed and "f_i_curve_slope within tolerance" in printed
