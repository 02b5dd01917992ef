"""Similarity of spike trains: gamma coincidence factor, explained variance ratio, van Rossum.

Library choice: elephant implements the van Rossum distance correctly, but needs neo and
quantities objects for every train and is O(N^2 n) per call; it implements neither the gamma
factor nor Allen's explained-variance ratio. All three are therefore written here, on plain
arrays, and tested: van Rossum against elephant (same normalisation), the gamma factor against
its defining limits, the explained variance against a direct transcription of Teeter et al.'s
formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.signal import fftconvolve
from scipy.signal.windows import gaussian

from analysis.spike_trains import SpikeTrainError, as_seconds, as_spike_times

__all__ = [
    "coincidences",
    "explained_variance",
    "explained_variance_ratio",
    "gamma_factor",
    "van_rossum_distance",
]


def coincidences(data_s: np.ndarray, model_s: np.ndarray, window_s: float) -> int:
    """Number of one-to-one matched spike pairs at most ``window_s`` apart (both sorted).

    Each spike takes part in at most one coincidence; matching goes forward in time and pairs a
    data spike with the earliest unmatched model spike within the window, which maximises the
    count for interval matching.
    """
    count, j = 0, 0
    for spike in data_s:
        while j < model_s.size and model_s[j] < spike - window_s:
            j += 1
        if j < model_s.size and abs(model_s[j] - spike) <= window_s:
            count += 1
            j += 1
    return count


def gamma_factor(
    data: Any,
    model: Any,
    duration: Any,
    *,
    window: Any = "2 ms",
    rate_correction: bool = False,
) -> float:
    """Gamma coincidence factor (Kistler et al. 1997; Jolivet et al. 2008).

    .. math::

        \\Gamma = \\frac{N_{coinc} - 2\\nu\\Delta N_{data}}{\\tfrac12 (N_{data} + N_{model})}
        \\;\\frac{1}{1 - 2\\nu\\Delta}

    with :math:`\\nu = N_{model}/T` the model's rate, as in Jolivet et al. (brian2modelfitting
    uses the data's rate instead; they agree when the rates do). 1 for identical trains, 0 in
    expectation for a Poisson model of the same rate.

    Parameters
    ----------
    data, model : Quantity
        Spike times (reference and prediction).
    duration : Quantity
        Length of the recording.
    window : Quantity
        Coincidence window :math:`\\Delta` (default 2 ms).
    rate_correction : bool
        Subtract :math:`2|\\nu_{data} - \\nu_{model}|/\\nu_{data}`, the rate term of Brian's
        model-fitting criterion, so that matching timing at the wrong rate is penalised.

    Returns
    -------
    float
        The gamma factor; NaN when both trains are empty, when ``2 nu Delta >= 1``, or with
        ``rate_correction`` when the data train is empty.
    """
    data_s, model_s = as_spike_times(data, "data"), as_spike_times(model, "model")
    duration_s, window_s = as_seconds(duration, "duration"), as_seconds(window, "window")
    if duration_s <= 0 or window_s <= 0:
        raise SpikeTrainError(f"duration and window must be > 0, got {duration} and {window}")
    for name, train in (("data", data_s), ("model", model_s)):
        if train.size and train[-1] > duration_s:
            raise SpikeTrainError(
                f"{name} has a spike at {train[-1]:g} s, after duration = {duration_s:g} s"
            )
    n_data, n_model = data_s.size, model_s.size
    model_rate = n_model / duration_s
    normalisation = 1.0 - 2.0 * model_rate * window_s
    if n_data + n_model == 0 or normalisation <= 0:
        return float("nan")
    expected = 2.0 * model_rate * window_s * n_data
    found = coincidences(data_s, model_s, window_s)
    gamma = (found - expected) / (0.5 * (n_data + n_model)) / normalisation
    if rate_correction:
        if n_data == 0:
            return float("nan")
        gamma -= 2.0 * abs(n_data - n_model) / n_data
    return float(gamma)


def _sample_indices(spike_s: np.ndarray, dt_s: float, n_samples: int, name: str) -> np.ndarray:
    # Teeter et al. truncate t/dt; a tolerance keeps on-grid times on their own sample
    indices = np.floor(spike_s / dt_s + 1e-6).astype(int)
    shared = np.flatnonzero(np.diff(indices) == 0)
    if shared.size:  # a binary train would silently merge them
        raise SpikeTrainError(
            f"{name}: spikes at {spike_s[shared[0]]:g} s and {spike_s[shared[0] + 1]:g} s fall "
            f"in the same sample of dt = {dt_s:g} s; use a finer dt"
        )
    if indices.size and indices[-1] >= n_samples:
        raise SpikeTrainError(
            f"{name} has a spike at {spike_s[-1]:g} s, after the end of the recording "
            f"({n_samples * dt_s:g} s)"
        )
    return indices


def _convolved(trains: Sequence[np.ndarray], dt_s: float, sigma_s: float, n: int, mode: str):
    length = int(10 * sigma_s / dt_s)
    if length < 1:
        raise SpikeTrainError(
            f"sigma = {sigma_s:g} s is too small for dt = {dt_s:g} s: the Gaussian window of "
            "10 sigma must span at least one sample"
        )
    window = gaussian(length, sigma_s / dt_s)
    if window.size > n:
        raise SpikeTrainError(
            f"the recording ({n} samples) is shorter than the Gaussian window of 10 sigma "
            f"({window.size} samples); Teeter et al.'s explained variance is not defined there"
        )
    window /= window.sum()
    binary = np.zeros((len(trains), n))
    for row, indices in enumerate(trains):
        binary[row, indices] = 1.0
    return fftconvolve(binary, window[None, :], mode=mode, axes=1)


def _pairwise_explained_variance(first: np.ndarray, second: np.ndarray) -> float:
    """Teeter et al.'s basic explained variance of two traces."""
    var_first, var_second = np.var(first), np.var(second)
    var_difference = np.var(first - second)
    if var_difference == 0.0:
        return 1.0
    return (var_first + var_second - var_difference) / (var_first + var_second)


def _prepare(data: Sequence[Any], model: Any, duration: Any, dt: Any, sigma: Any):
    data = None if isinstance(data, np.ndarray) or hasattr(data, "dim") else list(data)
    if not data:
        raise SpikeTrainError("data must be a non-empty list of spike trains (repeated sweeps)")
    dt_s, duration_s = as_seconds(dt, "dt"), as_seconds(duration, "duration")
    sigma_s = as_seconds(sigma, "sigma")
    if dt_s <= 0 or duration_s <= 0 or sigma_s <= 0:
        raise SpikeTrainError("dt, duration and sigma must be > 0")
    n = round(duration_s / dt_s)
    data_indices = [
        _sample_indices(as_spike_times(train, f"data[{k}]"), dt_s, n, f"data[{k}]")
        for k, train in enumerate(data)
    ]
    model_indices = _sample_indices(as_spike_times(model, "model"), dt_s, n, "model")
    return data_indices, model_indices, dt_s, sigma_s, n


def _model_explained_variance(data_indices, model_indices, dt_s, sigma_s, n) -> float:
    convolved_data = _convolved(data_indices, dt_s, sigma_s, n, "same")
    convolved_model = _convolved([model_indices], dt_s, sigma_s, n, "same")[0]
    return float(
        np.mean([_pairwise_explained_variance(d, convolved_model) for d in convolved_data])
    )


def explained_variance(
    data: Sequence[Any], model: Any, duration: Any, dt: Any, sigma: Any = "10 ms"
) -> float:
    """Explained variance of data sweeps by a model train (Teeter et al. 2018).

    Spike trains become binary sequences on the sampling grid (index ``floor(t / dt)``) and are
    convolved (``'same'``) with a normalised Gaussian of standard deviation ``sigma`` spanning
    10 sigma; the result is the mean over data sweeps of
    ``(var(d) + var(m) - var(d - m)) / (var(d) + var(m))``.

    Parameters
    ----------
    data : sequence of Quantity
        Spike times of repeated data sweeps of the same stimulus.
    model : Quantity
        The model's spike times (a deterministic model: one train).
    duration : Quantity
        Length of the sweeps.
    dt : Quantity
        Sampling interval.
    sigma : Quantity
        Width of the Gaussian (Allen: 10 ms).

    Returns
    -------
    float
        The explained variance.
    """
    return _model_explained_variance(*_prepare(data, model, duration, dt, sigma))


def explained_variance_ratio(
    data: Sequence[Any], model: Any, duration: Any, dt: Any, sigma: Any = "10 ms"
) -> float:
    """Allen's explained-variance ratio of a model (Teeter et al. 2018, GLIF papers).

    The model's `explained_variance` divided by the data's own: the mean explained variance of
    each data sweep by the PSTH of all sweeps, both convolved in ``'full'`` mode as in Teeter et
    al.'s ``fromSpikesToPWExpVar_ofDataSet``. 1 when the model explains the data as well as the
    data's repeats explain each other.

    Parameters
    ----------
    data : sequence of Quantity
        Spike times of repeated data sweeps of the same stimulus.
    model : Quantity
        The model's spike times.
    duration : Quantity
        Length of the sweeps.
    dt : Quantity
        Sampling interval.
    sigma : Quantity
        Width of the Gaussian (Allen: 10 ms).

    Returns
    -------
    float
        The ratio.
    """
    data_indices, model_indices, dt_s, sigma_s, n = _prepare(data, model, duration, dt, sigma)
    full = _convolved(data_indices, dt_s, sigma_s, n, "full")
    psth = full.mean(axis=0)
    intrinsic = float(np.mean([_pairwise_explained_variance(d, psth) for d in full]))
    model_ev = _model_explained_variance(data_indices, model_indices, dt_s, sigma_s, n)
    return model_ev / intrinsic


def _exponential_cross_sum(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    """Sum over all pairs of exp(-|a_i - b_j| / tau) in O((n + m) log m), both sorted."""
    if not a.size or not b.size:
        return 0.0
    gaps = np.exp(-np.diff(b) / tau)
    left = np.ones(b.size)  # left[j] = sum_{k <= j} exp(-(b_j - b_k) / tau)
    right = np.ones(b.size)  # right[j] = sum_{k >= j} exp(-(b_k - b_j) / tau)
    for j in range(1, b.size):
        left[j] += gaps[j - 1] * left[j - 1]
        right[-1 - j] += gaps[-j] * right[-j]
    below = np.searchsorted(b, a, side="right") - 1  # last b_j <= a_i
    total = 0.0
    has_below = below >= 0
    total += np.sum(np.exp(-(a[has_below] - b[below[has_below]]) / tau) * left[below[has_below]])
    above = below + 1
    has_above = above < b.size
    total += np.sum(np.exp(-(b[above[has_above]] - a[has_above]) / tau) * right[above[has_above]])
    return float(total)


def van_rossum_distance(first: Any, second: Any, tau: Any) -> float:
    """van Rossum distance between two spike trains (van Rossum 2001).

    Each train is convolved with a causal exponential of time constant ``tau``; the distance is
    the Euclidean distance of the results, normalised like elephant's ``van_rossum_distance``:
    1 between an empty train and one spike (divide by sqrt(2) for the paper's normalisation).

    Parameters
    ----------
    first, second : Quantity
        Spike times.
    tau : Quantity
        Time constant of the exponential.

    Returns
    -------
    float
        The distance, >= 0.
    """
    a, b = as_spike_times(first, "first"), as_spike_times(second, "second")
    tau_s = as_seconds(tau, "tau")
    if tau_s <= 0:
        raise SpikeTrainError(f"tau = {tau} must be > 0")
    squared = (
        _exponential_cross_sum(a, a, tau_s)
        + _exponential_cross_sum(b, b, tau_s)
        - 2.0 * _exponential_cross_sum(a, b, tau_s)
    )
    return float(np.sqrt(max(squared, 0.0)))
