"""`analysis.subthreshold` against ipfx 2.1.2 (the code behind Allen's vrest, ri and tau) and
against the analytic values of an ideal RC membrane simulated by the toolkit."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, pA, second

from ahp_models.lif_ahp import LifAhpParams
from ahp_models.simulation import simulate
from ahp_models.stimuli import long_square
from analysis.subthreshold import (
    Trace,
    baseline_voltage_mv,
    fit_membrane_time_constant,
    input_resistance_mohm,
    is_membrane_sweep,
    passive_properties,
    step_amplitude_pa,
    time_constant_ms,
    voltage_deflection,
)

RATE_HZ = 50_000.0
START_S, END_S = 0.3, 1.3
T_S = np.arange(int(1.6 * RATE_HZ)) / RATE_HZ
#: Allen's long squares below rheobase that serve for ri and tau (-110 pA is outside, -100
#: excluded, +10 depolarizes), and two spiking sweeps that only count for vrest.
AMPLITUDES_PA = (-110.0, -100.0, -90.0, -70.0, -50.0, -30.0, -10.0, 10.0)
SPIKING_PA = (150.0, 190.0)


def membrane_trace(
    amplitude_pa, *, r_mohm=150.0, tau_ms=25.0, sag=0.0, noise_mv=0.0, seed=0, rest_mv=-72.0
):
    """An RC membrane at rest under a step (mV, pA); ``sag`` > 0 adds a slower (60 ms)
    relaxation back towards rest of that fraction of the deflection, as an h current gives."""
    x_s = np.clip(T_S - START_S, 0.0, END_S - START_S)
    drive_mv = r_mohm * amplitude_pa * 1e-3
    dv_mv = drive_mv * (1 - np.exp(-x_s / (tau_ms * 1e-3)) - sag * (1 - np.exp(-x_s / 0.06)))
    after = T_S > END_S
    dv_mv[after] = dv_mv[~after][-1] * np.exp(-(T_S[after] - END_S) / (tau_ms * 1e-3))
    v_mv = rest_mv + dv_mv + np.random.default_rng(seed).normal(0.0, noise_mv, T_S.size)
    i_pa = np.where((T_S >= START_S - 1e-9) & (T_S < END_S - 1e-9), amplitude_pa, 0.0)
    return v_mv, i_pa


def spiking_trace(amplitude_pa):
    # another rest, so that vrest shows whether spiking sweeps count (they do)
    v_mv, i_pa = membrane_trace(amplitude_pa, r_mohm=100.0, rest_mv=-66.0)
    for spike_s in START_S + np.array([0.05, 0.2, 0.4, 0.7]):  # 100 mV alpha-shaped spikes
        x = np.clip((T_S - spike_s) / 3e-4, 0.0, None)
        v_mv = v_mv + 100.0 * x * np.exp(1.0 - x)
    return v_mv, i_pa


CELLS = {
    "rc": {},
    "rc_noisy": {"noise_mv": 0.05},
    "sag": {"sag": 0.3},
    "sag_noisy": {"sag": 0.3, "noise_mv": 0.05},
}


def cell_traces(kind):
    traces = [membrane_trace(a, seed=n, **CELLS[kind]) for n, a in enumerate(AMPLITUDES_PA)]
    return [*traces, *(spiking_trace(a) for a in SPIKING_PA)]


def ipfx_long_square(ipfx, traces):
    """ipfx's LongSquareAnalysis of the traces, as Allen runs it (subthresh_min_amp -100 pA)."""
    from ipfx.feature_extractor import SpikeFeatureExtractor, SpikeTrainFeatureExtractor
    from ipfx.stimulus_protocol_analysis import LongSquareAnalysis
    from ipfx.sweep import Sweep, SweepSet

    sweeps = SweepSet(
        [Sweep(T_S, v, i, "CurrentClamp", RATE_HZ, sweep_number=n) for n, (v, i) in
         enumerate(traces)]
    )  # fmt: skip
    analysis = LongSquareAnalysis(
        SpikeFeatureExtractor(start=START_S, end=END_S),
        SpikeTrainFeatureExtractor(start=START_S, end=END_S),
        subthresh_min_amp=-100.0,
    )
    return analysis.analyze(sweeps)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_the_cell_passive_properties_are_ipfx_s(ipfx, kind):
    traces = cell_traces(kind)
    reference = ipfx_long_square(ipfx, traces)
    spike_counts = [0] * len(AMPLITUDES_PA) + [4] * len(SPIKING_PA)
    assert reference["sweeps"]["avg_rate"].gt(0).tolist() == [c > 0 for c in spike_counts]
    ours = [Trace(T_S, v, i, START_S, END_S) for v, i in traces]
    membrane = [
        trace
        for trace, count in zip(ours, spike_counts, strict=True)
        if is_membrane_sweep(step_amplitude_pa(trace.t_s, trace.i_pa, START_S), count)
    ]
    assert len(membrane) == len(reference["subthreshold_membrane_property_sweeps"]) == 5
    baselines = [baseline_voltage_mv(T_S, v, START_S) for v, _ in traces]
    result = passive_properties(baselines, membrane)
    assert result.reason == "" and result.n_sweeps == 5
    assert result.vrest_mv == pytest.approx(reference["v_baseline"], rel=1e-12)
    assert result.ri_mohm == pytest.approx(reference["input_resistance"], rel=1e-12)
    assert result.tau_ms == pytest.approx(reference["tau"] * 1e3, rel=1e-9)
    assert np.isfinite([result.vrest_mv, result.ri_mohm, result.tau_ms]).all()


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_each_sweep_feature_is_ipfx_s(ipfx, kind):
    from ipfx import stim_features, subthresh_features

    for n, amplitude in enumerate(a for a in AMPLITUDES_PA if a < 0):  # hyperpolarizing
        v, i = membrane_trace(amplitude, seed=n, **CELLS[kind])
        trace = Trace(T_S, v, i, START_S, END_S)
        assert baseline_voltage_mv(T_S, v, START_S) == pytest.approx(
            subthresh_features.baseline_voltage(T_S, v, START_S), rel=1e-12
        )
        assert step_amplitude_pa(T_S, i, START_S) == stim_features._step_stim_amp(T_S, i, START_S)
        v_peak, index = voltage_deflection(T_S, v, START_S, END_S)
        assert (v_peak, index) == subthresh_features.voltage_deflection(
            T_S, v, i, START_S, END_S, "min"
        )
        for fit_end_s in (None, 0.35, 0.5):
            expected_s = subthresh_features.time_constant(
                T_S, v, i, START_S, END_S, fit_end_s, 0.1, 0.1
            )
            assert time_constant_ms(trace, fit_end_s) == pytest.approx(
                expected_s * 1e3, rel=1e-9, nan_ok=True
            )
        assert fit_membrane_time_constant(T_S, v, 0.302, 0.4) == pytest.approx(
            tuple(subthresh_features.fit_membrane_time_constant(T_S, v, 0.302, 0.4)), rel=1e-9
        )
    one = [Trace(T_S, *membrane_trace(-50.0, **CELLS[kind]), START_S, END_S)]
    assert input_resistance_mohm(one) == pytest.approx(  # one sweep: its baseline is a point
        subthresh_features.input_resistance(
            [T_S], [one[0].i_pa], [one[0].v_mv], START_S, END_S, 0.1
        ),
        rel=1e-12,
    )


def test_a_noisy_or_unfittable_sweep_gives_nan_as_ipfx_does(ipfx):
    from ipfx import subthresh_features

    v, i = membrane_trace(-10.0, noise_mv=0.2)  # 1.5 mV deflection: SNR below 20
    assert np.isnan(subthresh_features.time_constant(T_S, v, i, START_S, END_S))
    assert np.isnan(time_constant_ms(Trace(T_S, v, i, START_S, END_S)))
    # a square wave is no exponential: the residual exceeds 1 mV
    square = np.where((T_S > 0.32) & (T_S < 0.36), -80.0, -70.0)
    assert np.isnan(subthresh_features.fit_membrane_time_constant(T_S, square, 0.3, 0.4)[1])
    assert np.isnan(fit_membrane_time_constant(T_S, square, 0.3, 0.4)[1])


def test_without_membrane_sweeps_ri_and_tau_are_missing_with_the_reason():
    result = passive_properties([-70.0, -71.0], [])
    assert result.vrest_mv == -70.5
    assert np.isnan(result.ri_mohm) and np.isnan(result.tau_ms) and result.n_sweeps == 0
    assert "no silent long square between -100 and 0 pA" in result.reason


def test_an_ideal_rc_cell_gives_its_r_and_tau_m():
    """lif_ahp below threshold is an RC membrane, simulated exactly (to 1e-13 V). Each fit
    window runs from 10 % of the deflection to the median deflection time, where the trace
    is, to machine precision, a sampled y0 + a exp(-t / tau_m): the fit's only error is
    curve_fit's stopping rule (relative parameter change below 1.5e-8), hence rel 1e-6 on tau.
    The deflection is taken 1 s = 50 tau_m into the step, where exp(-50) ~ 2e-22 of the
    steady state is left: ri is R to rounding. vrest is E_L exactly (no current before)."""
    params = LifAhpParams(E_L=-65 * mV, R=180 * Mohm, tau_m=22 * ms, V_th=-40 * mV)
    amplitudes = np.array([-90.0, -70.0, -50.0, -30.0, -10.0])
    stimulus = long_square(amplitudes * pA, duration=2.1 * second)  # 0.1 ms steps
    result = simulate("lif_ahp", params, stimulus, record="v", codegen_target="numpy")
    assert result.spike_counts().sum() == 0
    t_s = result.trace_time_s
    onset_s, end_s = 1.02, 2.02
    traces = []
    for n in range(amplitudes.size):
        i_pa = np.asarray(stimulus.current(n) / pA)[: t_s.size]
        traces.append(Trace(t_s, result.traces_si["v"][n] * 1e3, i_pa, onset_s, end_s))
        assert is_membrane_sweep(step_amplitude_pa(t_s, i_pa, onset_s), 0)
    baselines = [baseline_voltage_mv(t_s, tr.v_mv, onset_s) for tr in traces]
    passive = passive_properties(baselines, traces)
    assert passive.vrest_mv == pytest.approx(-65.0, abs=1e-10)
    assert passive.ri_mohm == pytest.approx(180.0, rel=1e-9)
    assert passive.tau_ms == pytest.approx(22.0, rel=1e-6)
