"""Single-neuron filters: two measurements that must agree, and the AHP's corner frequency."""

import numpy as np
import pytest
from brian2 import Hz, ms, pA, second

from ahp_models import LifAhpParams
from analysis.filters.linear_response import (
    OperatingPoint,
    fit_mean_adaptation,
    mean_adaptation_prediction,
    sinusoidal_response,
    static_gain,
    step_response,
    white_noise_response,
)

pytestmark = pytest.mark.long  # seconds of simulated noise per point: minutes in all

# Strong background noise keeps the LIF's own response flat (no locking to the firing rate),
# the regime the mean-adaptation approximation describes
NOISE = 150 * pA


def test_sinusoidal_and_white_noise_gains_agree_across_the_band():
    params = LifAhpParams()  # tau_ahp 300 ms, b_ahp 15 pA
    point = OperatingPoint(200 * pA, NOISE)
    frequencies = np.logspace(-1, 2, 7) * Hz
    noise = white_noise_response(
        params, point, duration=60 * second, trials=100, seed=1, max_lag=2 * second,
        frequencies=frequencies,
    )  # fmt: skip
    sines = sinusoidal_response(
        params, point, frequencies, 10 * pA, duration=60 * second, trials=50, seed=2, batch=7
    )
    assert 10 < noise.rate_Hz < 30
    ratio = sines["gain_Hz_per_pA"] / noise.transfer["gain_Hz_per_pA"]
    assert np.abs(ratio - 1).max() < 0.10
    # and the phases, within twice the largest scatter seen (0.07 rad at 30 Hz; the sinusoids'
    # standard error is 3-5 % of the gain there)
    assert np.abs(sines["phase_rad"] - noise.transfer["phase_rad"]).max() < 0.15
    # the AHP makes it a high-pass filter: the gain at 0.1 Hz is well below that at 10 Hz
    assert sines["gain_Hz_per_pA"].iloc[0] < 0.5 * sines["gain_Hz_per_pA"].iloc[4]


@pytest.mark.parametrize("tau_ahp_ms", [50, 500, 2000])
def test_corner_frequency_moves_with_tau_ahp_as_predicted(tau_ahp_ms):
    tau_s = tau_ahp_ms * 1e-3
    without_ahp = LifAhpParams(b_ahp=0 * pA, tau_ahp=tau_ahp_ms * ms)
    effective_pA = 250.0  # the mean current the membrane sees once the AHP is subtracted
    g, rate = static_gain(without_ahp, OperatingPoint(effective_pA * pA, NOISE), delta=5 * pA,
                          duration=20 * second, trials=20, seed=1)  # fmt: skip
    # an AHP of strength g b tau = 1.5 at every tau, with the mean drive raised by its mean
    b_pA = 1.5 / (g * tau_s)
    params = without_ahp.replace(b_ahp=b_pA * pA)
    point = OperatingPoint((effective_pA + b_pA * tau_s * rate) * pA, NOISE)
    frequencies = np.logspace(np.log10(0.02), np.log10(10), 25) * Hz
    measured = white_noise_response(
        params, point, duration=max(60, 40 * tau_s) * second, trials=100, seed=2,
        max_lag=max(1.0, 6 * tau_s) * second, frequencies=frequencies,
        discard=max(2.0, 5 * tau_s) * second,
    )  # fmt: skip
    # the prediction uses the gain of the neuron without AHP at the adapted operating point
    adapted = OperatingPoint(point.mean - b_pA * tau_s * measured.rate_Hz * pA, NOISE)
    g_adapted, _ = static_gain(without_ahp, adapted, delta=5 * pA, duration=40 * second,
                               trials=50, seed=3)  # fmt: skip
    predicted = mean_adaptation_prediction(g_adapted, b_pA, tau_s)
    transfer = measured.transfer
    fit = fit_mean_adaptation(
        transfer["frequency_Hz"],
        transfer["gain_Hz_per_pA"] * np.exp(1j * transfer["phase_rad"]),
        max_frequency_Hz=min(measured.rate_Hz / 3, 5 * predicted["corner_Hz"]),
    )
    assert fit["corner_Hz"] == pytest.approx(predicted["corner_Hz"], rel=0.20)
    assert fit["strength"] == pytest.approx(predicted["strength"], rel=0.20)


def test_step_response_adapts_with_the_effective_time_constant():
    params = LifAhpParams(tau_ahp=200 * ms, b_ahp=20 * pA)
    point = OperatingPoint(150 * pA, NOISE)
    psth, fit = step_response(params, point, 100 * pA, before=2 * second, after=2 * second,
                              trials=200, seed=4)  # fmt: skip
    assert fit["r_peak_Hz"] > 1.5 * fit["r_inf_Hz"] > 1.5 * fit["r_before_Hz"]
    # the AHP's feedback shortens its own time constant: tau / (1 + g b tau) < tau
    assert 0.02 < fit["tau_s"] < 0.2
    assert psth["time_s"].iloc[0] < 0 < psth["time_s"].iloc[-1]
