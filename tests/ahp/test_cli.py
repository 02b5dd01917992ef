"""`ahp simulate` end to end: files written, values equal the library's, clear input errors."""

import json

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, pA, second

from ahp.cli import main
from ahp_models import LifAhpParams, long_square, simulate

FAST = [
    "--codegen-target",
    "numpy",
    "--onset",
    "50 ms",
    "--width",
    "400 ms",
    "--duration",
    "500 ms",
]


def test_simulate_writes_spikes_traces_summary_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(
        ["simulate", "--amplitudes", "150,250,400", "--record", "v,I_ahp", "--out", str(out), *FAST]
    )
    assert status == 0
    for name in ("spikes.csv", "traces.npz", "traces.csv", "summary.csv", "parameters.json"):
        assert (out / name).is_file(), name
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    expected = simulate(
        "lif_ahp",
        LifAhpParams(),
        long_square([150, 250, 400] * pA, onset=50 * ms, width=400 * ms, duration=500 * ms),
        codegen_target="numpy",
    )
    spikes = pd.read_csv(out / "spikes.csv")
    np.testing.assert_array_equal(spikes.t_s.to_numpy(), expected.spike_time_s)
    summary = pd.read_csv(out / "summary.csv")
    np.testing.assert_array_equal(summary.spike_count, expected.spike_counts())
    traces = np.load(out / "traces.npz")
    assert traces["v_mV"].shape == (3, 5000) and traces["I_ahp_pA"].max() > 0
    written = LifAhpParams.from_json(out / "parameters.json")
    assert float(written.tau_ahp / ms) == 300
    assert "figure" in capsys.readouterr().out


def test_parameter_file_and_overrides(tmp_path):
    path = tmp_path / "cell.json"
    LifAhpParams(tau_ahp=150 * ms, b_ahp=30 * pA).to_json(path)
    out = tmp_path / "run"
    args = ["simulate", "--params", str(path), "--set", "b_ahp=5 pA", "--amplitudes", "300"]
    assert main([*args, "--out", str(out), "--no-figure", *FAST]) == 0
    counts = pd.read_csv(out / "summary.csv").spike_count.to_numpy()
    expected = simulate(
        "lif_ahp",
        LifAhpParams(tau_ahp=150 * ms, b_ahp=5 * pA),
        long_square([300] * pA, onset=50 * ms, width=400 * ms, duration=500 * ms),
        codegen_target="numpy",
    )
    np.testing.assert_array_equal(counts, expected.spike_counts())


def test_multi_current_model_and_relative_amplitudes(tmp_path):
    out = tmp_path / "run"
    args = ["simulate", "--model", "lif_multi_ahp", "--n-currents", "2", "--amplitudes", "0,100"]
    args += ["--relative-to-rheobase", "--record", "I_ahp", "--out", str(out), *FAST]
    assert main(args) == 0
    summary = pd.read_csv(out / "summary.csv")
    np.testing.assert_allclose(summary.amplitude_pA, [133.333333, 233.333333], rtol=1e-6)
    assert summary.spike_count.iloc[0] == 0 and summary.spike_count.iloc[1] > 0


def test_discrete_model_rheobase_follows_the_step(tmp_path):
    out = tmp_path / "run"
    args = ["simulate", "--model", "loihi_ahp", "--dt", "1 ms", "--amplitudes=-1,1"]
    args += ["--relative-to-rheobase", "--no-figure", "--out", str(out), *FAST]
    assert main(args) == 0
    summary = pd.read_csv(out / "summary.csv")
    # v_th * (dt / tau_v) / input_gain = 1 * (1/20) / (0.002 / pA) = 25 pA
    np.testing.assert_allclose(summary.amplitude_pA, [24.0, 26.0])
    assert summary.spike_count.iloc[0] == 0 and summary.spike_count.iloc[1] > 0


def test_noise_and_array_protocols(tmp_path):
    out = tmp_path / "noise"
    args = ["simulate", "--protocol", "noise", "--mean", "200 pA", "--std", "60 pA"]
    assert (
        main(
            [
                *args,
                "--seed",
                "3",
                "--duration",
                "0.5 s",
                "--out",
                str(out),
                "--no-figure",
                "--codegen-target",
                "numpy",
            ]
        )
        == 0
    )
    assert pd.read_csv(out / "spikes.csv").shape[0] > 0
    per_neuron = tmp_path / "two.csv"
    np.savetxt(per_neuron, np.tile([[300.0, 500.0]], (3000, 1)), delimiter=",")
    out = tmp_path / "two"
    args = ["simulate", "--protocol", "array", "--current-file", str(per_neuron), "--no-figure"]
    assert main([*args, "--out", str(out), "--codegen-target", "numpy"]) == 0
    counts = pd.read_csv(out / "summary.csv").spike_count.tolist()
    assert len(counts) == 2 and counts[0] < counts[1]
    current = tmp_path / "current.csv"
    np.savetxt(current, np.r_[np.zeros(100), np.full(2900, 400.0)], delimiter=",")
    out = tmp_path / "array"
    args = ["simulate", "--protocol", "array", "--current-file", str(current), "--dt", "0.1 ms"]
    assert main([*args, "--out", str(out), "--no-figure", "--codegen-target", "numpy"]) == 0
    expected = simulate(
        "lif_ahp",
        None,
        long_square([400] * pA, onset=10 * ms, width=290 * ms, duration=0.3 * second),
        codegen_target="numpy",
    )
    np.testing.assert_array_equal(pd.read_csv(out / "spikes.csv").t_s, expected.spike_time_s)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--set", "tau_m=20 mV"], "wrong units"),
        (
            ["--set", "tau_ahp=-1 ms"],
            "tau_ahp = -1 ms is outside the allowed range [1e-06, 1e+09] ms",
        ),
        (["--set", "tau_mm=1 ms"], "unknown parameter(s) ['tau_mm']"),
        (["--set", "b_ahp"], "expected NAME=VALUE"),
        (["--amplitudes", "1,x"], "--amplitudes '1,x': expected numbers in pA"),
        (["--record", "w"], "cannot record ['w']"),
        (["--protocol", "ramp", "--width", "1 s"], "--protocol ramp does not use --width"),
        (["--seed", "3"], "--protocol long_square does not use --seed"),
        (["--dt", "0 ms"], "dt = 0. s must be > 0"),
    ],
)
def test_bad_input_exits_with_a_clear_message(tmp_path, capsys, extra, fragment):
    assert main(["simulate", "--out", str(tmp_path), *FAST, *extra]) == 2
    error = capsys.readouterr().err
    assert error.startswith("ahp simulate: error:")
    assert fragment in error


def test_cuda_without_a_gpu_is_refused_before_building(tmp_path, capsys, monkeypatch):
    import ahp_models.simulation as simulation

    monkeypatch.setattr(simulation, "gpu_available", lambda: False)
    monkeypatch.setattr(simulation, "cuda_build_settings", lambda: ({}, None))
    assert main(["simulate", "--out", str(tmp_path), *FAST, "--backend", "cuda_standalone"]) == 2
    assert "needs an NVIDIA GPU and none is visible" in capsys.readouterr().err


def test_rerun_in_the_same_folder_leaves_no_stale_outputs(tmp_path):
    out = tmp_path / "run"
    assert main(["simulate", "--record", "v", "--out", str(out), *FAST]) == 0
    assert (out / "figure.png").exists() and (out / "traces.npz").exists()
    assert main(["simulate", "--record", "", "--out", str(out), *FAST]) == 0
    assert not (out / "figure.png").exists() and not (out / "traces.npz").exists()
    assert (out / "spikes.csv").exists()


def test_malformed_parameter_file(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"parameters": {"tau_m": "20 ms"')
    assert main(["simulate", "--params", str(path), "--out", str(tmp_path), *FAST]) == 2
    assert f"{path}: malformed JSON at line 1" in capsys.readouterr().err
    path.write_text(json.dumps({"parameters": {"tau_m": "__import__('os').system('x')"}}))
    assert main(["simulate", "--params", str(path), "--out", str(tmp_path), *FAST]) == 2
    assert "expected a number followed by a unit" in capsys.readouterr().err


def test_unknown_model_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--model", "hodgkin_huxley"])
    assert info.value.code == 2
    assert "invalid choice: 'hodgkin_huxley'" in capsys.readouterr().err
