"""Cell features of long-square series: Allen's rules, ipfx's code, simulations, real data."""

import numpy as np
import pandas as pd
import pytest
from brian2 import Mohm, ms, mV, pA, second

from ahp_models import LifAhpParams, long_square, simulate
from analysis.long_square import f_i_features, features_of_simulation, long_square_features
from analysis.spike_trains import SpikeTrainError

START, END = 1.02 * second, 2.02 * second


def regular_train(rate_hz, first_s=1.05):
    """A train at a constant rate inside the stimulus window."""
    if rate_hz == 0:
        return [] * second
    return (first_s + np.arange(int(rate_hz)) / rate_hz * 0.95) * second


def test_rheobase_hero_and_slope_by_hand():
    amplitudes = np.array([-50.0, 0.0, 50.0, 60.0, 100.0, 110.0, 120.0, 150.0]) * pA
    rates = [0, 0, 0, 4, 12, 14, 16, 22]
    trains = [regular_train(r) for r in rates]
    # make the hero sweep (100 pA: lowest in (99, 121) with a spike) adapt: ISIs 10, 20, 40 ms
    trains[4] = np.array([1.10, 1.11, 1.13, 1.17]) * second
    result = long_square_features(amplitudes, trains, START, END)
    cell = result.cell
    assert cell.threshold_i_long_square == 60.0
    assert cell.rheobase_sweep == 3 and cell.hero_sweep == 4
    assert cell.adaptation == pytest.approx(1 / 3)
    assert cell.avg_isi == pytest.approx(70 / 3)  # ms
    assert cell.latency == pytest.approx(0.08)  # s
    counts = result.sweeps.spike_count.to_numpy()
    spiking = counts > 0
    # least squares over the spiking sweeps, written out
    x, y = amplitudes[spiking] / pA, counts[spiking] / 1.0
    expected = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert cell.f_i_curve_slope == pytest.approx(expected, rel=1e-12)
    assert list(result.f_i_curve.amplitude_pA) == sorted(amplitudes / pA)


def test_exactly_linear_rates_give_the_slope():
    amplitudes = np.arange(20, 200, 20.0)
    rates = np.clip(0.25 * (amplitudes - 60), 0, None)  # 0 up to 60 pA, then 0.25 Hz/pA
    features = f_i_features(amplitudes, rates)
    assert features["f_i_curve_slope"] == pytest.approx(0.25, rel=1e-12)
    assert features["threshold_i_long_square"] == 80.0


def test_no_hero_sweep_in_the_window():
    amplitudes = np.array([50.0, 70.0, 130.0]) * pA  # rheobase 50: window (89, 111) is empty
    trains = [regular_train(r) for r in (3, 6, 15)]
    allen = long_square_features(amplitudes, trains, START, END)
    assert allen.cell.hero_sweep == -1
    assert np.isnan(allen.cell.adaptation) and np.isnan(allen.cell.avg_isi)
    assert np.isnan(allen.cell.latency)
    assert allen.cell.f_i_curve_slope > 0  # the slope does not need a hero sweep
    ipfx_like = long_square_features(amplitudes, trains, START, END, hero_policy="ipfx")
    assert ipfx_like.cell.hero_sweep == 1  # 70 pA is closest to 50 + 39


def test_ties_take_the_first_sweep_and_small_series():
    amplitudes = np.array([50.0, 100.0, 100.0]) * pA
    trains = [regular_train(3), np.array([1.1, 1.2, 1.4]) * second, regular_train(8)]
    assert long_square_features(amplitudes, trains, START, END).cell.hero_sweep == 1
    one = long_square_features([80] * pA, [regular_train(5)], START, END)
    assert one.cell.threshold_i_long_square == 80 and np.isnan(one.cell.f_i_curve_slope)
    silent = long_square_features([10, 20] * pA, [[] * second, [] * second], START, END)
    assert np.isnan(silent.cell.threshold_i_long_square) and silent.cell.rheobase_sweep == -1


def test_input_errors_name_the_sweep():
    with pytest.raises(SpikeTrainError, match="2 amplitudes but 1 spike trains"):
        long_square_features([1, 2] * pA, [[] * second], START, END)
    with pytest.raises(SpikeTrainError, match=r"sweep 1: spike_times is not strictly increasing"):
        long_square_features([1, 2] * pA, [[] * second, [1.3, 1.2] * second], START, END)
    with pytest.raises(SpikeTrainError, match="wrong units"):
        long_square_features([1, 2] * ms, [[] * second, [] * second], START, END)


def test_matches_ipfx_rheobase_hero_and_slope(ipfx):
    analysis = ipfx.stimulus_protocol_analysis.LongSquareAnalysis
    rng = np.random.default_rng(5)
    for _ in range(30):
        amplitudes = rng.choice(np.arange(-110, 400, 10.0), size=rng.integers(4, 20), replace=False)
        threshold = rng.uniform(0, 300)
        rates = np.where(amplitudes > threshold, rng.uniform(1, 60, amplitudes.size), 0.0).round()
        ours = f_i_features(amplitudes, rates)
        spiking = pd.DataFrame({"stim_amp": amplitudes, "avg_rate": rates})
        spiking = spiking[spiking.avg_rate > 0]
        if len(spiking) < 2 or spiking.stim_amp.min() <= 0:
            continue
        rheobase = analysis.find_rheobase_sweep(None, spiking)["stim_amp"]
        assert ours["threshold_i_long_square"] == rheobase
        slope = ipfx.spike_train_features.fit_fi_slope(
            spiking.stim_amp.values, spiking.avg_rate.values
        )
        assert ours["f_i_curve_slope"] == pytest.approx(slope, rel=1e-10)
        trains = [regular_train(r) for r in rates]
        cell = long_square_features(amplitudes * pA, trains, START, END, hero_policy="ipfx").cell
        hero = analysis.find_hero_sweep(None, rheobase, spiking)
        assert amplitudes[int(cell.hero_sweep)] == hero["stim_amp"]


def test_simulated_lif_without_adaptation_has_zero_adaptation_index():
    # No AHP: every interval after the first spike is t_ref + floor(T/dt) dt, so AI is 0 (up to
    # the rounding of spike times n * dt)
    params = LifAhpParams(
        E_L=-70 * mV,
        R=100 * Mohm,
        tau_m=20 * ms,
        V_th=-50 * mV,
        V_reset=-65 * mV,
        t_ref=2 * ms,
        b_ahp=0 * pA,
    )
    stimulus = long_square(np.arange(150, 330, 20.0) * pA)
    result = simulate("lif_ahp", params, stimulus, codegen_target="numpy")
    cell = features_of_simulation(result, stimulus).cell
    assert cell.threshold_i_long_square == 210.0  # analytic rheobase 200 pA
    assert cell.hero_sweep == 5  # 250 pA: the lowest spiking amplitude in (249, 271)
    assert cell.adaptation == pytest.approx(0.0, abs=1e-12)
    drive = 100e6 * 250e-12
    period = 0.020 * np.log((drive - 0.005) / (drive - 0.020))  # (RI+E_L-V_reset)/(RI+E_L-V_th)
    assert cell.avg_isi == pytest.approx((0.002 + np.floor(period / 1e-4) * 1e-4) * 1e3)
    adapting = simulate("lif_ahp", params.replace(b_ahp=20 * pA), stimulus, codegen_target="numpy")
    assert features_of_simulation(adapting, stimulus).cell.adaptation > 0.01


def test_f_i_slope_and_rheobase_agree_with_allens_table(allen_dir):
    """Per-sweep spike counts of 40 cells (osb_longsquare_sweeps.csv) against Allen's features."""
    sweeps = pd.read_csv(allen_dir / "osb_longsquare_sweeps.csv")
    table = pd.read_csv(allen_dir / "allen_ephys_features.csv").set_index("specimen_id")
    rows = []
    for specimen, cell in sweeps.groupby("specimen_id"):
        # cells appear twice (source_dir "data" and "bulk_analysis"); use one copy
        source = "data" if (cell.source_dir == "data").any() else "bulk_analysis"
        cell = cell[cell.source_dir == source].drop_duplicates("sweep")
        # n_spikes / 1 s stimulus = Allen's avg_rate
        ours = f_i_features(cell.amp_pA.to_numpy(), cell.n_spikes.to_numpy() / 1.0)
        rows.append(
            {
                "rheobase_error_pA": ours["threshold_i_long_square"]
                - table.loc[specimen, "threshold_i_long_square"],
                "slope_relative_error": ours["f_i_curve_slope"]
                / table.loc[specimen, "f_i_curve_slope"]
                - 1,
            }
        )
    agreement = pd.DataFrame(rows)
    assert len(agreement) == 40
    # rheobase: identical up to the float noise of stored amplitudes (29.999998 pA...)
    assert agreement.rheobase_error_pA.abs().max() < 1e-4
    slope_error = agreement.slope_relative_error.abs()
    # measured: median 2.0e-8 (float32 amplitudes), 34 of 40 within 1e-6, worst 8.6 %
    assert slope_error.median() < 1e-6
    assert (slope_error < 1e-6).sum() >= 34
    assert slope_error.max() < 0.10
