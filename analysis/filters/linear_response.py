"""Single-neuron filters: how a model's firing rate follows small input modulations.

At an operating point (mean current ``I0`` plus Gaussian background noise of ``std``, each
sample held ``noise_dt``), the rate's linear response ``H(f)`` (Hz per pA) is measured two ways
that must agree:

- `sinusoidal_response`: a weak sinusoid ``I1 sin(2 pi f t)`` on top of the noise; ``H`` is the
  rate's Fourier component at ``f`` over the input's, averaged over independent trials (the
  sinusoid's held samples are integrated exactly, so the hold's own filtering cancels);
- `white_noise_response`: the background noise itself as the probe; its first-order Wiener
  kernel (`analysis.filters.kernels`) is the same linear response (Novikov's theorem).

`step_response` gives the rate after a current step and the time constant of its adaptation.

The mean-adaptation approximation (La Camera et al. 2004; Benda and Herz 2003) predicts the
response of an AHP neuron from the gain ``g`` of the same neuron without its AHP: the AHP
current follows the rate, ``tau dA/dt = -A + tau b r``, and ``r = g (I - A)``, so

    H(f) = g (1 + i w tau) / (1 + g b tau + i w tau),   w = 2 pi f

a high-pass filter: gain ``g / (1 + g b tau)`` below the corner ``f_c = (1 + g b tau) /
(2 pi tau)``, ``g`` above; the adaptation decays with ``tau_eff = tau / (1 + g b tau)``.
`mean_adaptation_prediction` evaluates it with ``g`` measured at the adapted operating point
(``I0 - b tau r0``, the mean AHP current removed) by `static_gain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.optimize
from brian2 import Hz, Quantity, ms, pA, second

from ahp_models import Stimulus, model_for_params, simulate
from ahp_models.parameters import ParameterSet
from ahp_models.quantities import QuantityError, parse_quantity
from analysis.filters.kernels import FilterEstimateError, WienerKernels, wiener_kernels
from analysis.spike_trains import as_seconds

__all__ = [
    "OperatingPoint",
    "WhiteNoiseResponse",
    "fit_mean_adaptation",
    "mean_adaptation_prediction",
    "mean_adaptation_transfer",
    "sinusoidal_response",
    "static_gain",
    "step_response",
    "white_noise_response",
]


@dataclass(frozen=True)
class OperatingPoint:
    """Mean input and background noise of a filter measurement.

    Attributes
    ----------
    mean : Quantity
        Mean current ``I0``.
    noise_std : Quantity
        Standard deviation of the background noise current.
    noise_dt : Quantity
        How long each noise sample is held (its spectrum is flat to ~``1 / (2 noise_dt)``).
    """

    mean: Quantity
    noise_std: Quantity
    noise_dt: Quantity = field(default_factory=lambda: 1 * ms)

    def plain(self) -> tuple[float, float, float]:
        """(mean pA, std pA, hold s) as floats."""
        return (
            float(self.mean / pA),
            float(self.noise_std / pA),
            as_seconds(self.noise_dt, "noise_dt"),
        )


@dataclass(frozen=True)
class WhiteNoiseResponse:
    """A white-noise measurement: kernels, transfer function, mean rate.

    Attributes
    ----------
    kernels : WienerKernels
        In Hz per pA per second (second order per pA^2 s^2).
    rate_Hz : float
        Mean rate over the analysed part.
    transfer : pandas.DataFrame
        ``frequency_Hz``, ``gain_Hz_per_pA``, ``phase_rad`` of the first-order kernel, corrected
        for the noise's sample hold and the rate's binning (``/ sinc^2(f noise_dt)``).
    """

    kernels: WienerKernels
    rate_Hz: float
    transfer: pd.DataFrame


def white_noise_response(
    params: ParameterSet,
    point: OperatingPoint,
    *,
    duration: Quantity,
    trials: int,
    seed: int,
    max_lag: Quantity,
    frequencies: Quantity | None = None,
    discard: Quantity = 2 * second,
    order: int = 1,
    second_order_lag: Quantity | None = None,
    dt: Quantity = 0.1 * ms,
    backend: str = "cpp_standalone",
) -> WhiteNoiseResponse:
    """Wiener kernels of the rate response to the background noise, over independent trials.

    Parameters
    ----------
    params : ParameterSet
        One neuron.
    point : OperatingPoint
        Mean current and noise (the noise is the probe).
    duration : Quantity
        Length of each trial.
    trials : int
        Independent trials (neurons simulated together, each with its own noise).
    seed : int
        Seed of the noise.
    max_lag : Quantity
        Kernel length.
    frequencies : Quantity, optional
        Where to evaluate the transfer function (default 0.1-100 Hz, 4 per decade).
    discard : Quantity
        Start of each trial left out (the adaptation settling).
    order, second_order_lag
        See `analysis.filters.kernels.wiener_kernels`.
    dt : Quantity
        Simulation step.
    backend : str
        Brian2 backend.

    Returns
    -------
    WhiteNoiseResponse
        Kernels, rate and transfer function.
    """
    mean_pA, std_pA, hold_s = point.plain()
    noise = _noise(_samples(duration, hold_s), trials, seed)
    spikes = _simulate(params, mean_pA + std_pA * noise, hold_s, dt, backend)
    rates = _binned_rates(spikes, noise.shape, hold_s)
    kernels = wiener_kernels(
        std_pA * noise, rates, hold_s * second, max_lag, order=order,
        second_order_lag=second_order_lag, discard=discard,
    )  # fmt: skip
    f = _default_frequencies() if frequencies is None else _hertz(frequencies)
    # the kernel links held input samples to rates binned over the same hold: its transfer is
    # the neuron's times sinc^2(f hold) (the hold and the bin each average over one sample),
    # which the sinusoids, integrated exactly, do not carry
    transfer = kernels.transfer(f) / np.sinc(f * hold_s) ** 2
    skip = round(as_seconds(discard, "discard") / hold_s)
    return WhiteNoiseResponse(
        kernels,
        float(rates[skip:].mean()),
        pd.DataFrame(
            {"frequency_Hz": f, "gain_Hz_per_pA": np.abs(transfer), "phase_rad": np.angle(transfer)}
        ),
    )


def sinusoidal_response(
    params: ParameterSet,
    point: OperatingPoint,
    frequencies: Quantity,
    amplitude: Quantity,
    *,
    duration: Quantity,
    trials: int,
    seed: int,
    discard: Quantity = 2 * second,
    dt: Quantity = 0.1 * ms,
    backend: str = "cpp_standalone",
    batch: int = 4,
) -> pd.DataFrame:
    """Gain and phase of the rate's response to weak sinusoids on top of the noise.

    Parameters
    ----------
    params : ParameterSet
        One neuron.
    point : OperatingPoint
        Mean current and background noise.
    frequencies : Quantity
        Modulation frequencies.
    amplitude : Quantity
        Sinusoid amplitude ``I1`` (small: the response must stay linear).
    duration : Quantity
        Length of each trial; the analysed part after ``discard`` is cut to whole periods.
    trials : int
        Independent trials per frequency.
    seed : int
        Seed of the noise.
    discard : Quantity
        Start of each trial left out.
    dt : Quantity
        Simulation step.
    backend : str
        Brian2 backend.
    batch : int
        Frequencies simulated together (memory: ``batch * trials`` noise columns).

    Returns
    -------
    pandas.DataFrame
        ``frequency_Hz``, ``gain_Hz_per_pA``, ``phase_rad``, ``gain_se`` (standard error over
        trials), ``rate_Hz``.
    """
    mean_pA, std_pA, hold_s = point.plain()
    amplitude_pA = float(amplitude / pA)
    f_all = _hertz(frequencies)
    n_samples = _samples(duration, hold_s)
    start_s = as_seconds(discard, "discard")
    total_s = n_samples * hold_s
    rows = []
    for first in range(0, f_all.size, batch):
        f_batch = f_all[first : first + batch]
        noise = _noise(n_samples, trials * f_batch.size, seed + first)
        t_start = np.arange(n_samples) * hold_s
        sines = np.empty_like(noise)
        for k, f in enumerate(f_batch):
            sines[:, k * trials : (k + 1) * trials] = _held_sine(t_start, hold_s, f)[:, None]
        spikes = _simulate(params, mean_pA + std_pA * noise + amplitude_pA * sines, hold_s, dt,
                           backend)  # fmt: skip
        for k, f in enumerate(f_batch):
            periods = np.floor((total_s - start_s) * f)
            if periods < 1:
                raise FilterEstimateError(
                    f"sinusoidal_response: {f:g} Hz needs a whole period after the {start_s:g} s "
                    f"discarded; the trials last {total_s:g} s"
                )
            end_s = start_s + periods / f
            window = end_s - start_s
            c_in = amplitude_pA * _sine_coefficient(t_start, hold_s, f, start_s, end_s) * 2 / window
            per_trial = np.zeros(trials, dtype=complex)
            counts = np.zeros(trials)
            neuron, time_s = spikes
            for trial in range(trials):
                column = k * trials + trial
                chosen = time_s[(neuron == column) & (time_s >= start_s) & (time_s < end_s)]
                per_trial[trial] = 2.0 / window * np.exp(-2j * np.pi * f * chosen).sum()
                counts[trial] = chosen.size
            response = per_trial / c_in
            mean = response.mean()
            rows.append(
                {
                    "frequency_Hz": f,
                    "gain_Hz_per_pA": abs(mean),
                    "phase_rad": float(np.angle(mean)),
                    # the trials' scatter along the mean response's direction
                    "gain_se": float(
                        (response * np.conj(mean) / abs(mean)).real.std(ddof=1) / np.sqrt(trials)
                    ),
                    "rate_Hz": float(counts.mean() / window),
                }
            )
    return pd.DataFrame(rows)


def step_response(
    params: ParameterSet,
    point: OperatingPoint,
    step: Quantity,
    *,
    before: Quantity,
    after: Quantity,
    trials: int,
    seed: int,
    bin_width: Quantity = 10 * ms,
    dt: Quantity = 0.1 * ms,
    backend: str = "cpp_standalone",
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The rate (PSTH over trials) around a current step, and its adaptation time constant.

    Parameters
    ----------
    params : ParameterSet
        One neuron.
    point : OperatingPoint
        Current before the step and background noise.
    step : Quantity
        Size of the step.
    before, after : Quantity
        Time at the operating point before the step, and after it.
    trials : int
        Independent trials.
    seed : int
        Seed of the noise.
    bin_width : Quantity
        PSTH bin.
    dt : Quantity
        Simulation step.
    backend : str
        Brian2 backend.

    Returns
    -------
    (pandas.DataFrame, dict)
        ``time_s`` (from the step) and ``rate_Hz``; and the fit of ``r(t) = r_inf + (r_peak -
        r_inf) exp(-t / tau)`` after the step: ``tau_s``, ``r_peak_Hz``, ``r_inf_Hz``,
        ``r_before_Hz``.
    """
    mean_pA, std_pA, hold_s = point.plain()
    n_before, n_after = _samples(before, hold_s), _samples(after, hold_s)
    noise = _noise(n_before + n_after, trials, seed)
    drive = mean_pA + std_pA * noise
    drive[n_before:] += float(step / pA)
    _, time_s = _simulate(params, drive, hold_s, dt, backend)
    width_s = as_seconds(bin_width, "bin_width")
    step_s = n_before * hold_s
    edges = np.arange(0.0, (n_before + n_after) * hold_s + width_s / 2, width_s)
    counts, _ = np.histogram(time_s, edges)
    rate = counts / (trials * width_s)
    centres = (edges[:-1] + edges[1:]) / 2 - step_s
    psth = pd.DataFrame({"time_s": centres, "rate_Hz": rate})
    post = centres > 0
    t, r = centres[post], rate[post]

    def model(t, r_inf, r_peak, tau):
        return r_inf + (r_peak - r_inf) * np.exp(-t / tau)

    guess = (r[-max(1, r.size // 5) :].mean(), r[:3].mean(), max(t[-1] / 10, width_s))
    try:
        (r_inf, r_peak, tau), _ = scipy.optimize.curve_fit(model, t, r, p0=guess, maxfev=20000)
    except RuntimeError:
        r_inf = r_peak = tau = np.nan
    fit = {
        "tau_s": float(tau),
        "r_peak_Hz": float(r_peak),
        "r_inf_Hz": float(r_inf),
        "r_before_Hz": float(rate[(centres < 0) & (centres > -step_s / 2)].mean()),
    }
    return psth, fit


def static_gain(
    params: ParameterSet,
    point: OperatingPoint,
    *,
    delta: Quantity,
    duration: Quantity,
    trials: int,
    seed: int,
    discard: Quantity = 2 * second,
    dt: Quantity = 0.1 * ms,
    backend: str = "cpp_standalone",
) -> tuple[float, float]:
    """Slope of the mean rate vs mean current at the operating point, ``(r(I0+d) -
    r(I0-d)) / 2d`` with the same noise for both (common random numbers), and the rate at I0.

    Returns
    -------
    (float, float)
        The gain (Hz/pA) and the rate at ``I0`` (Hz).
    """
    mean_pA, std_pA, hold_s = point.plain()
    delta_pA = float(delta / pA)
    noise = _noise(_samples(duration, hold_s), trials, seed)
    drives = np.concatenate([mean_pA + k * delta_pA + std_pA * noise for k in (-1, 0, 1)], axis=1)
    neuron, time_s = _simulate(params, drives, hold_s, dt, backend)
    start_s = as_seconds(discard, "discard")
    window = noise.shape[0] * hold_s - start_s
    counts = np.bincount(neuron[time_s >= start_s], minlength=3 * trials)
    rates = counts.reshape(3, trials).mean(axis=1) / window
    return float((rates[2] - rates[0]) / (2 * delta_pA)), float(rates[1])


def mean_adaptation_transfer(
    frequencies_Hz: np.ndarray, gain_Hz_per_pA: float, b_pA: float, tau_s: float
) -> np.ndarray:
    """``H(f) = g (1 + i w tau) / (1 + g b tau + i w tau)`` (complex, Hz per pA)."""
    w_tau = 2j * np.pi * np.asarray(frequencies_Hz, dtype=float) * tau_s
    return gain_Hz_per_pA * (1 + w_tau) / (1 + gain_Hz_per_pA * b_pA * tau_s + w_tau)


def mean_adaptation_prediction(gain_Hz_per_pA: float, b_pA: float, tau_s: float) -> dict:
    """Adaptation strength, effective time constant and corner of the mean-adaptation filter.

    Returns
    -------
    dict
        ``strength`` (``g b tau``), ``tau_eff_s`` (``tau / (1 + g b tau)``) and ``corner_Hz``
        (``1 / (2 pi tau_eff)``).
    """
    strength = gain_Hz_per_pA * b_pA * tau_s
    tau_eff = tau_s / (1.0 + strength)
    return {"strength": strength, "tau_eff_s": tau_eff, "corner_Hz": 1 / (2 * np.pi * tau_eff)}


def fit_mean_adaptation(
    frequencies_Hz: np.ndarray, transfer: np.ndarray, *, max_frequency_Hz: float
) -> dict[str, float]:
    """Fit ``H(f) = g (1 + i w tau) / (1 + A + i w tau)`` to a measured complex transfer.

    Below ``max_frequency_Hz`` (a fraction of the firing rate, where the membrane's own
    response is still flat) the mean-adaptation form holds; the fit gives the corner
    ``(1 + A) / (2 pi tau)`` the AHP sets, measured rather than predicted.

    Returns
    -------
    dict
        ``gain_Hz_per_pA`` (g), ``tau_s``, ``strength`` (A), ``corner_Hz``, ``rms_error``
        (relative to the mean |H| in the band).
    """
    f = np.asarray(frequencies_Hz, dtype=float)
    h = np.asarray(transfer, dtype=complex)
    band = f <= max_frequency_Hz
    if band.sum() < 4:
        raise FilterEstimateError(
            f"fit_mean_adaptation: {int(band.sum())} frequencies up to {max_frequency_Hz:g} Hz; "
            "allowed: at least 4"
        )
    f, h = f[band], h[band]

    def residual(x):
        g, log_tau, log_strength = x
        model = mean_adaptation_transfer(f, g, np.exp(log_strength) / (g * np.exp(log_tau)),
                                         np.exp(log_tau))  # fmt: skip
        return np.concatenate([(model - h).real, (model - h).imag]) / np.abs(h).mean()

    start = (np.abs(h[-1]), np.log(1 / (2 * np.pi * np.median(f))), 0.0)
    fit = scipy.optimize.least_squares(residual, start)
    g, tau, strength = fit.x[0], float(np.exp(fit.x[1])), float(np.exp(fit.x[2]))
    return {
        "gain_Hz_per_pA": float(g),
        "tau_s": tau,
        "strength": strength,
        "corner_Hz": (1 + strength) / (2 * np.pi * tau),
        "rms_error": float(np.sqrt(np.mean(fit.fun**2))),
    }


# -- simulation ---------------------------------------------------------------------------


def _simulate(params, drive_pA: np.ndarray, hold_s: float, dt, backend) -> tuple:
    """Spikes (neuron, time s) of one neuron model, a column of ``drive_pA`` per copy."""
    n = drive_pA.shape[1]
    stimulus = Stimulus(drive_pA, hold_s * second, np.ones(n) * pA, protocol="filter probe")
    result = simulate(model_for_params(params), params, stimulus, backend=backend, dt=dt)
    return np.asarray(result.spike_neuron), np.asarray(result.spike_time_s)


def _binned_rates(spikes, shape: tuple[int, int], hold_s: float) -> np.ndarray:
    neuron, time_s = spikes
    index = np.minimum((time_s / hold_s).astype(np.int64), shape[0] - 1)
    counts = np.zeros(shape)
    np.add.at(counts, (index, neuron), 1.0)
    return counts / hold_s


def _noise(n_samples: int, columns: int, seed: int) -> np.ndarray:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise FilterEstimateError(f"seed = {seed!r}; allowed: a whole number >= 0")
    if not isinstance(columns, int | np.integer) or columns < 1:
        raise FilterEstimateError(f"trials = {columns!r}; allowed: a whole number >= 1")
    return np.random.default_rng(int(seed)).standard_normal((n_samples, int(columns)))


def _samples(duration: Quantity, hold_s: float) -> int:
    n = round(as_seconds(duration, "duration") / hold_s)
    if n < 1:
        raise FilterEstimateError(f"duration = {duration}; allowed: at least one noise sample")
    return n


def _held_sine(t_start: np.ndarray, hold_s: float, f: float) -> np.ndarray:
    """Each hold's sample: the sine at its middle."""
    return np.sin(2 * np.pi * f * (t_start + hold_s / 2))


def _sine_coefficient(t_start, hold_s, f, start_s, end_s) -> complex:
    """``integral of held_sine(t) exp(-2 pi i f t) dt`` over [start, end) (exact per hold)."""
    w = 2 * np.pi * f
    inside = (t_start >= start_s - 1e-12) & (t_start < end_s - 1e-12)
    values = _held_sine(t_start[inside], hold_s, f)
    per_hold = np.exp(-1j * w * t_start[inside]) * (1 - np.exp(-1j * w * hold_s)) / (1j * w)
    return complex((values * per_hold).sum())


def _default_frequencies() -> np.ndarray:
    return np.logspace(-1, 2, 13)


def _hertz(frequencies: Quantity | Sequence[float]) -> np.ndarray:
    try:
        values = np.atleast_1d(
            np.asarray(parse_quantity(frequencies, "Hz", field="frequencies") / Hz, dtype=float)
        )
    except QuantityError as error:
        raise FilterEstimateError(str(error)) from None
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise FilterEstimateError(f"frequencies {values}; allowed: finite, > 0 Hz")
    return values
