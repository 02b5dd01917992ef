"""Study configs: the built-in studies read, and bad configs fail before any simulation."""

import numpy as np
import pandas as pd
import pytest

from ahp.cli import main
from analysis.filters import population
from analysis.filters.config import ConfigError, example_config, parse_config, read_config


def test_builtin_studies_read():
    reference = read_config("reference")
    assert reference.population.size == 500 and reference.seeds == (0, 1, 2, 3, 4)
    assert reference.variants == ("ahp", "lif", "alif")
    assert reference.memory_delays[-1] * reference.hold_s == pytest.approx(3.0)
    tau = reference.population.parameters["tau_ahp"]
    draws = tau.draw(10_000, np.random.default_rng(0))
    # the fitted 5-95 % range of tau_ahp, and its median
    assert 10.19 <= draws.min() and draws.max() <= 25399.08
    assert np.median(draws) == pytest.approx(103.48, rel=0.05)
    assert read_config("demo").neuron.trials == 100


def with_changes(**sections):
    raw = example_config()
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_changes(colour="red"), r"unknown key 'colour'; allowed: name, seeds"),
        (with_changes(readout={"tau": "50 ms", "window": 3}),
         r"unknown key 'readout\.window'; allowed: tau, test_fraction, folds"),
        (with_changes(tasks={"memory": {"max_delay": "400 s", "step": "100 ms"}}),
         r"a delay of 400 s \(a delay line.*\) is longer than the 290 s of signal after"),
        (with_changes(signal={"duration": "8 s", "hold": "100 ms", "discard": "1 s"}),
         r"70 readout samples give 56 for training in 5 folds and 14 for the test"),
        (with_changes(tasks={"recall": {"delays": ["1 s"], "trials_per_delay": 50}}),
         r"tasks\.recall \(trials per delay\): 50 readout samples"),
        (with_changes(signal={"duration": "300 s", "hold": "0.25 ms"}),
         r"signal\.hold = 0\.25 ms is not a whole number of steps"),
        (with_changes(population={"parameters": {"tau_ahp": {"distribution": "gamma"}}}),
         r"population\.parameters\.tau_ahp\.distribution = 'gamma'; allowed: uniform"),
        (with_changes(population={"parameters": {"g_Na": "1 nS"}}),
         r"population\.parameters\.g_Na: unknown; allowed: E_L, R"),
        (with_changes(population={"rate": "5 mV"}), r"population\.rate"),
        (with_changes(simulation={"backend": "gpu"}), r"simulation\.backend = 'gpu'"),
        (with_changes(seeds=[1, 1]), r"seeds = \[1, 1\]; allowed: 1 to 1000 distinct"),
        (with_changes(tasks={"integrators": ["120 s"]}),
         r"a delay of 360 s \(a delay line, a Volterra term, or 3 time constants"),
        (with_changes(calibration={"duration": "0.5 s"}),
         r"calibration\.duration = '0\.5 s'; allowed: at least 10 signal holds"),
        (with_changes(readout={"test_fraction": "a fifth"}),
         r"readout\.test_fraction = 'a fifth'; allowed: a number"),
        (with_changes(neuron={"duration": "20 s", "max_lag": "6 s",
                              "frequencies": {"low": "1 Hz", "high": "100 Hz", "count": 5}}),
         r"neuron\.max_lag = 6 s; allowed: at most a quarter of the 18 s analysed"),
        (with_changes(neuron={"duration": "30 s"}),
         r"leaves 28 s after the 2 s transient, fewer than 3 periods of 0\.1 Hz"),
        (with_changes(neuron={"noise_std": "0 pA"}), r"neuron\.noise_std = '0 pA'; allowed: > 0"),
        (with_changes(neuron={"second_order_lag": "3 s"}),
         r"neuron\.second_order_lag = 3 s; allowed: one noise sample"),
    ],
)  # fmt: skip
def test_bad_configs_are_refused_naming_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_user_targets_must_match_the_signal(tmp_path):
    np.savetxt(tmp_path / "u.csv", np.random.default_rng(0).standard_normal(1000))
    np.savetxt(tmp_path / "y.csv", np.zeros(999))
    raw = with_changes(
        signal={"file": "u.csv", "hold": "100 ms", "discard": "1 s"},
        tasks={"custom": [{"name": "mine", "file": "y.csv"}]},
    )
    raw["signal"].pop("duration")
    with pytest.raises(ConfigError, match=r"tasks\.custom\[0\] \('mine'\) has 999 values; "
                                          r"allowed: one per signal sample, 1000"):  # fmt: skip
        parse_config(raw, base=tmp_path)
    np.savetxt(tmp_path / "y.csv", np.zeros(1000))
    assert parse_config(raw, base=tmp_path).custom["mine"].size == 1000


def test_the_command_refuses_a_bad_config_before_simulating(tmp_path, monkeypatch, capsys):
    def no_simulation(*args, **kwargs):
        raise AssertionError("a simulation started")

    monkeypatch.setattr(population, "simulate", no_simulation)
    config = tmp_path / "study.toml"
    config.write_text('name = "x"\n[signal]\nduration = "10 s"\nlength = "3 s"\n')
    assert main(["filter-study", str(config), "--out", str(tmp_path / "out")]) == 2
    assert "unknown key 'signal.length'" in capsys.readouterr().err
    assert main(["filter-study", "nonexistent"]) == 2
    assert "nor a built-in study (demo, reference)" in capsys.readouterr().err


def test_population_from_a_fit_results_table(tmp_path):
    from brian2 import ms, pA

    from ahp_models import LifAhpParams
    from analysis.filters.population import draw_population

    cells = [LifAhpParams(tau_ahp=t * ms, b_ahp=b * pA) for t, b in ((80, 20), (900, 5), (40, 60))]
    rows = [{"status": "fitted", "model": "lif_ahp", **p.to_row()} for p in cells]
    rows.append({"status": "failed", "model": "lif_ahp"})
    table = tmp_path / "fit_results.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    raw = with_changes(population={"size": 50, "from_fits": "fit_results.csv",
                                   "parameters": {"tau_m": "15 ms"}})  # fmt: skip
    config = parse_config(raw, base=tmp_path)
    drawn = draw_population(config.population, seed=0)
    pairs = set(zip(np.round(drawn.params.tau_ahp / ms), np.round(drawn.params.b_ahp / pA),
                    strict=True))  # fmt: skip
    assert pairs == {(80, 20), (900, 5), (40, 60)}  # whole cells, each drawn
    assert np.allclose(drawn.params.tau_m / ms, 15)  # the config overrides the fits
    pd.DataFrame([{"status": "fitted", "model": "lif_ahp"}]).to_csv(table, index=False)
    with pytest.raises(ConfigError, match=r"is not a fit results table \(no column E_L_mV"):
        parse_config(raw, base=tmp_path)


def test_a_nan_in_the_signal_file_is_refused(tmp_path):
    values = np.random.default_rng(0).standard_normal(1000)
    values[17] = np.nan
    np.savetxt(tmp_path / "u.csv", values)
    raw = with_changes(signal={"file": "u.csv", "hold": "100 ms", "discard": "1 s"})
    raw["signal"].pop("duration")
    with pytest.raises(ConfigError, match=r"signal\.file: value 17 is NaN"):
        parse_config(raw, base=tmp_path)


def test_voltages_may_be_drawn_negative():
    from brian2 import mV

    from analysis.filters.population import draw_population

    raw = with_changes(population={"size": 50, "parameters": {
        "E_L": {"distribution": "normal", "mean": "-70 mV", "std": "3 mV"}}})  # fmt: skip
    drawn = draw_population(parse_config(raw).population, seed=0)
    e_l_mV = np.asarray(drawn.params.E_L / mV)
    assert -85 < e_l_mV.min() < e_l_mV.max() < -55
    raw = with_changes(population={"parameters": {
        "tau_m": {"distribution": "normal", "mean": "-5 ms", "std": "1 ms"}}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"tau_m\.mean = -5 ms; allowed: > 0 for this"):
        parse_config(raw)
