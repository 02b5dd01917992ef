"""`ahp export glif|nir`, `ahp network export --nir` and `ahp simulate --nwb` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, mV, pA

from ahp.cli import main
from ahp_models import LifAhpParams, MultiAhpParams
from ahp_models.glif_export import glif_neuron_config
from tests.ahp.test_network_cli import write_description
from tests.hardware_mapping.trained.conftest import small_network


@pytest.fixture
def fit_table(tmp_path):
    rows = [
        {"status": "fitted", "specimen_id": 11, "model": "lif_ahp", **LifAhpParams().to_row()},
        {
            "status": "fitted",
            "specimen_id": 12,
            "model": "lif_multi_ahp",
            **MultiAhpParams(V_reset=-60 * mV).to_row(),
        },
        {"status": "unfittable", "specimen_id": 13, "model": "lif_ahp"},
    ]
    path = tmp_path / "fit_results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("scheme", ["allen", "exact"])
def test_export_glif_writes_the_library_config_of_every_fitted_cell(fit_table, tmp_path, scheme):
    out = tmp_path / "glif"
    assert main(["export", "glif", str(fit_table), "--scheme", scheme, "--dt", "0.05",
                 "--out", str(out)]) == 0  # fmt: skip
    assert sorted(p.name for p in out.glob("*.json")) == ["cell_11.json", "cell_12.json"]
    expected = glif_neuron_config(
        LifAhpParams(), 0.05 * ms, scheme=scheme, provenance={"specimen_id": 11}
    )
    assert json.loads((out / "cell_11.json").read_text()) == json.loads(json.dumps(expected))
    multi = json.loads((out / "cell_12.json").read_text())
    assert len(multi["asc_amp_array"]) == MultiAhpParams().n_currents
    # V_reset differs from E_L: a fixed reset potential, V_reset - E_L in volts
    assert multi["voltage_reset_method"]["name"] == "v_before"
    assert multi["voltage_reset_method"]["params"]["b"] == pytest.approx(0.010, abs=1e-12)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--dt", "0"], "--dt 0.0: allowed: a step from 0.001 to 10 ms"),
        (["--dt", "nan"], "--dt nan: allowed"),
        (["--specimen", "13"], r"--specimen [13]: not among the fitted cells"),
        # t_ref = 2 ms is not a whole number of 0.3 ms steps
        (["--dt", "0.3"], "t_ref"),
    ],
)
def test_export_glif_refuses_bad_options(fit_table, tmp_path, capsys, extra, fragment):
    assert main(["export", "glif", str(fit_table), *extra, "--out", str(tmp_path / "g")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("ahp export: error:") and fragment in error, error
    assert not (tmp_path / "g").exists()


def test_network_export_writes_its_nir_graph_and_export_nir_reads_the_parameter_file(
    tmp_path, capsys
):
    nir = pytest.importorskip("nir", reason="the nir extra is not installed")
    description = write_description(tmp_path, small_network(tmp_path))
    parameters, graph = tmp_path / "n.json", tmp_path / "n.nir"
    command = ["network", "export", str(description), "--out", str(parameters)]
    assert main([*command, "--nir", str(graph)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {graph}" in printed and "not in NIR:" in printed
    again = tmp_path / "again.nir"
    assert main(["export", "nir", str(parameters), "--out", str(again)]) == 0
    first, second = nir.read(graph), nir.read(again)
    assert first.nodes.keys() == second.nodes.keys() and first.edges == second.edges
    _assert_same(first.to_dict(), second.to_dict())


def _assert_same(a, b):
    """Nested dicts of arrays and values, equal to the bit."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    else:
        np.testing.assert_array_equal(a, b)


def test_simulate_nwb_holds_the_traces_stimulus_and_spikes(tmp_path):
    pytest.importorskip("pynwb", reason="the nwb extra (pynwb) is not installed")
    from fitting.nwb import read_sweeps

    out = tmp_path / "run"
    command = ["simulate", "--amplitudes", "150,250", "--codegen-target", "numpy", "--onset",
               "50 ms", "--width", "300 ms", "--duration", "400 ms", "--nwb",
               "--out", str(out)]  # fmt: skip
    assert main(command) == 0
    traces = np.load(out / "traces.npz")
    sweeps = read_sweeps(out / "simulation.nwb", stimulus_name=None)
    assert [s.number for s in sweeps] == [0, 1]
    for neuron, sweep in enumerate(sweeps):
        # traces.npz holds mV: equal up to the rounding of that unit change (the library's
        # NWB test compares volts bit for bit)
        np.testing.assert_allclose(sweep.response_v * 1e3, traces["v_mV"][neuron], rtol=1e-15)
        amplitude_pA = [150, 250][neuron]
        assert np.max(sweep.stimulus_a) == pytest.approx(amplitude_pA * float(pA), rel=1e-12)
    summary = pd.read_csv(out / "summary.csv")
    spikes = pd.read_csv(out / "spikes.csv")
    import pynwb

    with pynwb.NWBHDF5IO(str(out / "simulation.nwb"), "r") as io:
        units = io.read().units
        for neuron in range(2):
            times = units.get_unit_spike_times(neuron)
            assert np.array_equal(times, spikes[spikes.neuron == neuron].t_s.to_numpy())
    assert summary.spike_count.sum() > 0


def test_simulate_nwb_without_v_is_refused_before_the_run(tmp_path, capsys):
    command = ["simulate", "--amplitudes", "150", "--record", "I_ahp", "--nwb", "--out",
               str(tmp_path / "run")]  # fmt: skip
    assert main(command) == 2
    assert "NWB 2 sweeps need 'v' recorded" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_simulate_nwb_of_a_model_without_a_voltage_is_refused_before_the_run(tmp_path, capsys):
    command = ["simulate", "--model", "loihi_ahp", "--amplitudes", "150", "--nwb", "--out",
               str(tmp_path / "run")]  # fmt: skip
    assert main(command) == 2
    assert "not a membrane potential in volts" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_network_export_refuses_one_file_for_both_outputs(tmp_path, capsys):
    description = write_description(tmp_path, small_network(tmp_path))
    same = str(tmp_path / "n.json")
    assert main(["network", "export", str(description), "--out", same, "--nir", same]) == 2
    assert "the file --out writes; allowed: another file" in capsys.readouterr().err
