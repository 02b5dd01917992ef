"""The single-neuron part of a study: one neuron's filter, measured two ways and predicted.

Runs `linear_response.white_noise_response` and `linear_response.sinusoidal_response` at the
config's operating point, measures the gain of the neuron without its AHP at the adapted
operating point (`linear_response.static_gain`) for the mean-adaptation prediction, and fits
the mean-adaptation form to the white-noise transfer for the measured corner frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from brian2 import Hz, pA, second

from ahp_models import LifAhpParams
from analysis.filters.config import NeuronSpec
from analysis.filters.kernels import FilterEstimateError, WienerKernels
from analysis.filters.linear_response import (
    OperatingPoint,
    fit_mean_adaptation,
    mean_adaptation_prediction,
    mean_adaptation_transfer,
    sinusoidal_response,
    static_gain,
    step_response,
    white_noise_response,
)

__all__ = ["NeuronCharacterization", "characterize_neuron"]


@dataclass(frozen=True)
class NeuronCharacterization:
    """What `characterize_neuron` measured.

    Attributes
    ----------
    response : pandas.DataFrame
        Per frequency: ``frequency_Hz``; ``gain_sine``, ``phase_sine``, ``gain_sine_se``;
        ``gain_noise``, ``phase_noise``; ``gain_predicted``, ``phase_predicted`` (gains in Hz
        per pA, phases in rad).
    kernels : WienerKernels
        The white-noise kernels.
    step : pandas.DataFrame
        The rate around a current step (``time_s`` from the step, ``rate_Hz``).
    summary : dict
        ``rate_Hz``, ``gain_Hz_per_pA`` (without AHP, adapted point), ``strength``,
        ``corner_predicted_Hz``, ``corner_measured_Hz``, ``max_sine_noise_difference``;
        the step's ``step_tau_s`` (fitted adaptation time constant) and
        ``step_tau_predicted_s`` (mean adaptation at the post-step operating point).
    """

    response: pd.DataFrame
    kernels: WienerKernels
    step: pd.DataFrame
    summary: dict[str, float]


def characterize_neuron(
    spec: NeuronSpec, *, seed: int, dt: float, backend: str
) -> NeuronCharacterization:
    """Measure and predict one neuron's rate filter (see the module docstring)."""
    params = LifAhpParams(**spec.parameters)
    point = OperatingPoint(spec.mean_pA * pA, spec.noise_std_pA * pA, spec.noise_dt_s * second)
    frequencies = spec.frequencies_Hz * Hz
    common = {"dt": dt * second, "backend": backend}
    noise = white_noise_response(
        params, point, duration=spec.duration_s * second, trials=spec.trials, seed=seed,
        max_lag=spec.max_lag_s * second, frequencies=frequencies,
        order=1 if spec.second_order_lag_s is None else 2,
        second_order_lag=None if spec.second_order_lag_s is None
        else spec.second_order_lag_s * second,
        **common,
    )  # fmt: skip
    sines = sinusoidal_response(
        params, point, frequencies, spec.sine_amplitude_pA * pA,
        duration=spec.duration_s * second, trials=max(2, spec.trials // 2), seed=seed + 1,
        **common,
    )  # fmt: skip
    b_pA = float(params.b_ahp / pA)
    tau_s = float(params.tau_ahp / second)
    adapted = OperatingPoint((spec.mean_pA - b_pA * tau_s * noise.rate_Hz) * pA, point.noise_std,
                             point.noise_dt)  # fmt: skip
    gain, _ = static_gain(params.replace(b_ahp=0 * pA), adapted, delta=5 * pA,
                          duration=spec.duration_s * second, trials=max(2, spec.trials // 2),
                          seed=seed + 2, **common)  # fmt: skip
    prediction = mean_adaptation_prediction(gain, b_pA, tau_s)
    predicted = mean_adaptation_transfer(spec.frequencies_Hz, gain, b_pA, tau_s)
    transfer = noise.transfer
    complex_noise = transfer["gain_Hz_per_pA"] * np.exp(1j * transfer["phase_rad"])
    try:
        fit = fit_mean_adaptation(
            spec.frequencies_Hz, complex_noise,
            max_frequency_Hz=min(noise.rate_Hz / 3, 5 * prediction["corner_Hz"]),
        )  # fmt: skip
        corner = fit["corner_Hz"]
    except FilterEstimateError:  # too few frequencies below the membrane's own band
        corner = float("nan")
    psth, step_fit = step_response(
        params, point, spec.step_pA * pA, before=max(2.0, 3 * tau_s) * second,
        after=max(2.0, 8 * tau_s) * second, trials=spec.trials, seed=seed + 3, **common,
    )  # fmt: skip
    after_step = OperatingPoint(
        (spec.mean_pA + spec.step_pA - b_pA * tau_s * step_fit["r_inf_Hz"]) * pA,
        point.noise_std, point.noise_dt,
    )  # fmt: skip
    gain_after, _ = static_gain(
        params.replace(b_ahp=0 * pA), after_step, delta=5 * pA,
        duration=spec.duration_s * second, trials=max(2, spec.trials // 2), seed=seed + 4,
        **common,
    )  # fmt: skip
    response = pd.DataFrame(
        {
            "frequency_Hz": spec.frequencies_Hz,
            "gain_sine": sines["gain_Hz_per_pA"],
            "phase_sine": sines["phase_rad"],
            "gain_sine_se": sines["gain_se"],
            "gain_noise": transfer["gain_Hz_per_pA"],
            "phase_noise": transfer["phase_rad"],
            "gain_predicted": np.abs(predicted),
            "phase_predicted": np.angle(predicted),
        }
    )
    summary = {
        "rate_Hz": noise.rate_Hz,
        "gain_Hz_per_pA": gain,
        "strength": prediction["strength"],
        "corner_predicted_Hz": prediction["corner_Hz"],
        "corner_measured_Hz": corner,
        "max_sine_noise_difference": float(
            np.abs(response["gain_sine"] / response["gain_noise"] - 1).max()
        ),
        "step_tau_s": step_fit["tau_s"],
        "step_tau_predicted_s": mean_adaptation_prediction(gain_after, b_pA, tau_s)["tau_eff_s"],
    }
    return NeuronCharacterization(response, noise.kernels, psth, summary)
