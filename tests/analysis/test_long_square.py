"""Cell features of long-square series: Allen's rules, ipfx's code, simulations, real data."""

import numpy as np
import pandas as pd
import pytest
from brian2 import Hz, Mohm, ms, mV, pA, second

from ahp_models import LifAhpParams, long_square, short_square, simulate
from analysis.long_square import (
    ALLEN_CELL_COLUMNS,
    f_i_features,
    features_of_simulation,
    long_square_features,
)
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
    assert result.rheobase_sweep == 3 and result.hero_sweep == 4
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
    features = f_i_features(amplitudes * pA, rates * Hz)
    assert features["f_i_curve_slope"] == pytest.approx(0.25, rel=1e-12)
    assert features["threshold_i_long_square"] == 80.0
    # one distinct spiking amplitude: no slope (lstsq would invent one)
    single = f_i_features([100, 100, 50] * pA, [5, 7, 0] * Hz)
    assert single["threshold_i_long_square"] == 100 and np.isnan(single["f_i_curve_slope"])
    with pytest.raises(SpikeTrainError, match="amplitudes must be a non-empty 1-D array"):
        f_i_features(np.array([100, np.nan]) * pA, [1, 2] * Hz)
    with pytest.raises(SpikeTrainError, match="wrong units"):
        f_i_features([100, 200] * pA, [1, 2] * pA)


def test_no_hero_sweep_in_the_window():
    amplitudes = np.array([50.0, 70.0, 130.0]) * pA  # rheobase 50: window (89, 111) is empty
    trains = [regular_train(r) for r in (3, 6, 15)]
    allen = long_square_features(amplitudes, trains, START, END)
    assert allen.hero_sweep == -1
    assert np.isnan(allen.cell.adaptation) and np.isnan(allen.cell.avg_isi)
    assert np.isnan(allen.cell.latency)
    assert allen.cell.f_i_curve_slope > 0  # the slope does not need a hero sweep
    ipfx_like = long_square_features(amplitudes, trains, START, END, rules="ipfx")
    assert ipfx_like.hero_sweep == 1  # 70 pA is closest to 50 + 39
    # a rebound spike at a negative step counts for allensdk's rheobase, not for ipfx's
    rebound = long_square_features(
        [-100, 50, 100] * pA, [regular_train(1), *trains[:2]], START, END
    )
    assert rebound.cell.threshold_i_long_square == -100
    ipfx_rebound = long_square_features(
        [-100, 50, 100] * pA, [regular_train(1), *trains[:2]], START, END, rules="ipfx"
    )
    assert ipfx_rebound.cell.threshold_i_long_square == 50
    # equidistant fallback candidates: rheobase 50, window (89, 111) empty, 67 and 111 pA both
    # 22 pA from 89; ipfx takes the lower amplitude
    tie = long_square_features(
        [50, 111, 67] * pA, [regular_train(r) for r in (2, 9, 5)], START, END, rules="ipfx"
    )
    assert tie.hero_sweep == 2


def test_ties_take_the_first_sweep_and_small_series():
    amplitudes = np.array([50.0, 100.0, 100.0]) * pA
    trains = [regular_train(3), np.array([1.1, 1.2, 1.4]) * second, regular_train(8)]
    assert long_square_features(amplitudes, iter(trains), START, END).hero_sweep == 1
    one = long_square_features([80] * pA, [regular_train(5)], START, END)
    assert one.cell.threshold_i_long_square == 80 and np.isnan(one.cell.f_i_curve_slope)
    silent = long_square_features([10, 20] * pA, [[] * second, [] * second], START, END)
    assert np.isnan(silent.cell.threshold_i_long_square) and silent.rheobase_sweep == -1


def test_input_errors_name_the_sweep():
    with pytest.raises(SpikeTrainError, match="2 amplitudes but 1 spike trains"):
        long_square_features([1, 2] * pA, [[] * second], START, END)
    with pytest.raises(SpikeTrainError, match=r"sweep 1: spike_times is not strictly increasing"):
        long_square_features([1, 2] * pA, [[] * second, [1.3, 1.2] * second], START, END)
    with pytest.raises(SpikeTrainError, match="wrong units"):
        long_square_features([1, 2] * ms, [[] * second, [] * second], START, END)


def test_ipfx_rules_match_ipfx_rheobase_hero_and_slope(ipfx):
    analysis = ipfx.stimulus_protocol_analysis.LongSquareAnalysis
    rng = np.random.default_rng(5)
    compared = 0
    for _ in range(60):
        # amplitudes on a 5 pA grid with repeats, some negative steps with rebound spikes
        amplitudes = rng.choice(np.arange(-110, 400, 5.0), size=rng.integers(4, 20))
        threshold = rng.uniform(-50, 300)
        rates = np.where(amplitudes > threshold, rng.uniform(1, 60, amplitudes.size), 0.0).round()
        rates[amplitudes < -60] = rng.integers(0, 2, (amplitudes < -60).sum())  # rebounds
        spiking = pd.DataFrame({"stim_amp": amplitudes, "avg_rate": rates})[rates > 0]
        if len(spiking) < 2 or (spiking.stim_amp <= 0).all():
            continue
        ours = f_i_features(amplitudes * pA, rates * Hz, rules="ipfx")
        rheobase = analysis.find_rheobase_sweep(None, spiking)["stim_amp"]
        assert ours["threshold_i_long_square"] == rheobase
        if spiking.stim_amp.nunique() >= 2:
            slope = ipfx.spike_train_features.fit_fi_slope(
                spiking.stim_amp.values, spiking.avg_rate.values
            )
            assert ours["f_i_curve_slope"] == pytest.approx(slope, rel=1e-9)
        trains = [regular_train(r) for r in rates]
        result = long_square_features(amplitudes * pA, trains, START, END, rules="ipfx")
        hero = analysis.find_hero_sweep(None, rheobase, spiking)
        assert amplitudes[result.hero_sweep] == hero["stim_amp"]
        compared += 1
    assert compared > 40


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
    features = features_of_simulation(result, stimulus)
    cell = features.cell
    assert cell.threshold_i_long_square == 210.0  # analytic rheobase 200 pA
    assert features.hero_sweep == 5  # 250 pA: the lowest spiking amplitude in (249, 271)
    assert cell.adaptation == pytest.approx(0.0, abs=1e-12)
    drive = 100e6 * 250e-12
    period = 0.020 * np.log((drive - 0.005) / (drive - 0.020))  # (RI+E_L-V_reset)/(RI+E_L-V_th)
    assert cell.avg_isi == pytest.approx((0.002 + np.floor(period / 1e-4) * 1e-4) * 1e3)
    adapting = simulate("lif_ahp", params.replace(b_ahp=20 * pA), stimulus, codegen_target="numpy")
    assert features_of_simulation(adapting, stimulus).cell.adaptation > 0.01
    pulses = short_square([300, 400] * pA)
    with pytest.raises(SpikeTrainError, match="needs a long_square stimulus, got 'short_square'"):
        features_of_simulation(simulate("lif_ahp", params, pulses, codegen_target="numpy"), pulses)


#: Cells whose slope from OSB's per-sweep counts differs from Allen's, and why.
SLOPE_MISMATCHES = {
    480351780: "one sweep (90 pA) has 10 spikes in OSB, 9 in Allen's analysis",
    484742372: "one sweep's count differs by one or two spikes (several single edits fit)",
    313862167: "no single or double edit of OSB's sweeps reproduces Allen's: sweep sets differ",
    466664172: "no single or double edit reproduces it (its 170 pA sweep fires less than 130 "
    "and 150 pA: depolarisation block, likely failed Allen's QC)",
    486132712: "no single or double edit of OSB's sweeps reproduces Allen's: sweep sets differ",
}


def osb_cells(allen_dir):
    """OSB's per-sweep summaries, one copy per cell (cells appear as "data" and "bulk")."""
    sweeps = pd.read_csv(allen_dir / "osb_longsquare_sweeps.csv")
    for specimen, cell in sweeps.groupby("specimen_id"):
        source = "data" if (cell.source_dir == "data").any() else "bulk_analysis"
        yield specimen, cell[cell.source_dir == source].drop_duplicates("sweep")


def test_f_i_slope_and_rheobase_agree_with_allens_table(allen_dir):
    """Per-sweep spike counts of 40 cells (osb_longsquare_sweeps.csv) against Allen's features.

    Measured: rheobase identical for 40/40; slope within float32 rounding of the stored
    amplitudes (median relative error 2e-8) for 35/40, the 5 others listed with their reason.
    """
    table = pd.read_csv(allen_dir / "allen_ephys_features.csv").set_index("specimen_id")
    agreeing, disagreeing = 0, set()
    for specimen, cell in osb_cells(allen_dir):
        # n_spikes in the 1 s step = Allen's avg_rate
        ours = f_i_features(cell.amp_pA.to_numpy() * pA, cell.n_spikes.to_numpy() / 1.0 * Hz)
        allen = table.loc[specimen]
        assert ours["threshold_i_long_square"] == pytest.approx(
            allen.threshold_i_long_square,
            abs=1e-4,  # stored amplitudes carry float noise
        )
        if abs(ours["f_i_curve_slope"] / allen.f_i_curve_slope - 1) < 1e-6:
            agreeing += 1
        else:
            disagreeing.add(specimen)
    assert agreeing == 35
    assert disagreeing == set(SLOPE_MISMATCHES)


def test_hero_sweep_features_agree_with_allens_table(allen_dir):
    """The hero sweep our rules pick has Allen's avg_isi (OSB: 1000 / mean spike frequency)."""
    table = pd.read_csv(allen_dir / "allen_ephys_features.csv").set_index("specimen_id")
    checked = 0
    for specimen, cell in osb_cells(allen_dir):
        counts = cell.n_spikes.to_numpy()
        trains = [regular_train(n) for n in counts]  # only counts matter for the choice
        hero = long_square_features(cell.amp_pA.to_numpy() * pA, trains, START, END).hero_sweep
        allen_isi = table.loc[specimen, "avg_isi"]
        if counts[hero] < 2:  # a single spike: no ISI on either side
            assert np.isnan(allen_isi)
            continue
        osb_isi = 1e3 / cell.mean_spike_frequency_Hz.iloc[hero]
        assert osb_isi == pytest.approx(allen_isi, rel=5e-4), specimen
        checked += 1
    assert checked == 38


def test_simulated_and_real_cells_share_one_table(allen_dir):
    stimulus = long_square(np.arange(100, 400, 20.0) * pA)
    result = simulate("lif_ahp", LifAhpParams(), stimulus, codegen_target="numpy")
    simulated = features_of_simulation(result, stimulus).cell
    real = pd.read_csv(allen_dir / "allen_ephys_features.csv")[list(ALLEN_CELL_COLUMNS)].head(3)
    table = pd.concat([real, simulated.to_frame().T.astype(float)], ignore_index=True)
    assert list(table.columns) == list(ALLEN_CELL_COLUMNS)
    assert table.dtypes.map(lambda d: d.kind == "f").all()
    assert 0 < table.latency.iloc[-1] < 1 and 1 < table.avg_isi.iloc[-1] < 1000  # s and ms
