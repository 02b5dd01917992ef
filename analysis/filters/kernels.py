"""Wiener kernels and transfer functions of a system from its input and output samples.

For a system driven by a stationary Gaussian input ``s`` (sampled every ``dt``) with output
``r``, the first-order Wiener kernel ``h1`` is the linear filter that best predicts ``r``:
``r[n] ~ h0 + sum_k h1[k] s[n - k] dt``. It solves the Wiener-Hopf equations
``sum_j C_ss[k - j] h1[j] dt = C_rs[k]`` (input autocovariance, output-input cross-covariance);
for a white input (``C_ss = sigma**2`` at lag 0 only) that is reverse correlation,
``h1[k] = C_rs[k] / (sigma**2 dt)``. By Novikov's theorem it is also the system's linear
response to a small added signal *in the presence of that noise* (the response to a weak
sinusoid on top of the same noise), which is what `analysis.filters.linear_response` checks.

The second-order kernel (Lee and Schetzen 1965, white Gaussian input) is
``h2[k1, k2] = E[(r[n] - h0) s[n - k1] s[n - k2]] / (2 sigma**4 dt**2)`` (with ``h1`` already
removed from the diagonal's second moment), so that ``r`` gains
``sum_{k1,k2} h2[k1, k2] (s[n-k1] s[n-k2] - sigma**2 delta) dt**2``.

Arrays are plain floats inside: the kernel is in output units per (input unit * second), the
transfer function ``H(f) = sum_k h1[k] exp(-2 pi i f k dt) dt`` in output per input units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.fft
import scipy.linalg
import scipy.signal
from brian2 import Quantity, second

from ahp_models.errors import UserError
from analysis.spike_trains import as_seconds

__all__ = ["FilterEstimateError", "WienerKernels", "spectral_transfer", "wiener_kernels"]


class FilterEstimateError(UserError):
    """Input that a kernel or transfer-function estimate cannot use, and why."""


@dataclass(frozen=True)
class WienerKernels:
    """First- (and optionally second-) order Wiener kernels.

    Attributes
    ----------
    dt_s : float
        Sampling step of input and output (s).
    mean_response : float
        ``h0``, the output's mean.
    stimulus_variance : float
        Variance of the input samples.
    first : numpy.ndarray
        ``h1[k]`` at lags ``k dt`` (output per input unit per second).
    second : numpy.ndarray or None
        ``h2[k1, k2]`` (output per input unit squared per second squared), symmetric.
    """

    dt_s: float
    mean_response: float
    stimulus_variance: float
    first: np.ndarray
    second: np.ndarray | None = None

    @property
    def lags_s(self) -> np.ndarray:
        """Lags of ``first`` in seconds."""
        return np.arange(self.first.size) * self.dt_s

    def transfer(self, frequencies_Hz: np.ndarray) -> np.ndarray:
        """The first-order kernel's transfer function at these frequencies (complex)."""
        f = np.asarray(frequencies_Hz, dtype=float)
        phase = np.exp(-2j * np.pi * np.outer(f, self.lags_s))
        return phase @ self.first * self.dt_s

    def predict(self, stimulus: np.ndarray) -> np.ndarray:
        """Predict the output of an input series (first order, plus second if estimated)."""
        s = np.asarray(stimulus, dtype=float)
        centred = s - s.mean()
        prediction = self.mean_response + _causal_filter(centred, self.first) * self.dt_s
        if self.second is not None:
            prediction = prediction + self._second_order_term(centred)
        return prediction

    def table(self) -> pd.DataFrame:
        """``lag_s`` and ``h1`` as a DataFrame."""
        return pd.DataFrame({"lag_s": self.lags_s, "h1": self.first})

    def _second_order_term(self, centred: np.ndarray) -> np.ndarray:
        lags = self.second.shape[0]
        delayed = np.stack([_delayed(centred, k) for k in range(lags)])  # (lags, n)
        quadratic = np.einsum("in,ij,jn->n", delayed, self.second, delayed)
        return (quadratic - self.stimulus_variance * np.trace(self.second)) * self.dt_s**2


def wiener_kernels(
    stimulus: np.ndarray,
    response: np.ndarray,
    dt: Quantity,
    max_lag: Quantity,
    *,
    order: int = 1,
    second_order_lag: Quantity | None = None,
    discard: Quantity = 0 * second,
) -> WienerKernels:
    """Estimate Wiener kernels from input and output samples.

    Parameters
    ----------
    stimulus, response : numpy.ndarray
        Input and output, shape ``(n_samples,)`` or ``(n_samples, n_trials)`` (each column
        one independent run of the same system, e.g. one neuron's input current in pA and its
        binned spike train in Hz).
    dt : Quantity
        Sampling step.
    max_lag : Quantity
        Length of the first-order kernel.
    order : {1, 2}
        Also estimate the second-order kernel (Lee-Schetzen; needs a white Gaussian input).
    second_order_lag : Quantity, optional
        Length of the second-order kernel (default ``max_lag``; its cost grows with the
        square of the number of lags).
    discard : Quantity
        Initial transient left out of every column.

    Returns
    -------
    WienerKernels
        The kernels; the first solves the Wiener-Hopf equations with the input's own
        autocovariance, so a coloured input is allowed for it.
    """
    dt_s = as_seconds(dt, "dt")
    if not dt_s > 0:
        raise FilterEstimateError(f"wiener_kernels: dt = {dt}; allowed: > 0")
    s, r = _columns(stimulus, response)
    skip = round(as_seconds(discard, "discard") / dt_s)
    s, r = s[skip:], r[skip:]
    lags = round(as_seconds(max_lag, "max_lag") / dt_s)
    if order not in (1, 2):
        raise FilterEstimateError(f"wiener_kernels: order = {order!r}; allowed: 1 or 2")
    if not 1 <= lags <= s.shape[0] // 4:
        raise FilterEstimateError(
            f"wiener_kernels: max_lag = {max_lag} is {lags} samples; allowed: 1 to a quarter "
            f"of the {s.shape[0]} samples after the transient"
        )
    s = s - s.mean(axis=0)
    mean_response = float(r.mean())
    r = r - r.mean(axis=0)
    variance = float(np.mean(s**2))
    if not variance > 0:
        raise FilterEstimateError("wiener_kernels: the stimulus is constant")
    cross = _cross_covariance(r, s, lags)  # C_rs[k] = E[r[n] s[n-k]]
    auto = _cross_covariance(s, s, lags)
    first = scipy.linalg.solve_toeplitz(auto, cross) / dt_s
    second = None
    if order == 2:
        lags2 = (
            lags
            if second_order_lag is None
            else round(as_seconds(second_order_lag, "second_order_lag") / dt_s)
        )
        if not 1 <= lags2 <= lags:
            raise FilterEstimateError(
                f"wiener_kernels: second_order_lag = {second_order_lag}; allowed: 1 sample to "
                "max_lag"
            )
        second = _second_kernel(r, s, lags2, variance) / dt_s**2
    return WienerKernels(dt_s, mean_response, variance, first, second)


def spectral_transfer(
    stimulus: np.ndarray,
    response: np.ndarray,
    dt: Quantity,
    *,
    segment: Quantity,
    discard: Quantity = 0 * second,
) -> pd.DataFrame:
    """Transfer function and coherence from Welch cross-spectra, ``H = P_sr / P_ss``.

    Parameters
    ----------
    stimulus, response : numpy.ndarray
        As in `wiener_kernels`.
    dt : Quantity
        Sampling step.
    segment : Quantity
        Welch segment length (sets the frequency resolution, ``1 / segment``).
    discard : Quantity
        Initial transient left out.

    Returns
    -------
    pandas.DataFrame
        ``frequency_Hz``, ``gain`` (|H|), ``phase_rad`` and ``coherence``, frequency 0 left out.
    """
    dt_s = as_seconds(dt, "dt")
    s, r = _columns(stimulus, response)
    skip = round(as_seconds(discard, "discard") / dt_s)
    s, r = s[skip:], r[skip:]
    samples = round(as_seconds(segment, "segment") / dt_s)
    if not 8 <= samples <= s.shape[0]:
        raise FilterEstimateError(
            f"spectral_transfer: segment = {segment} is {samples} samples; allowed: 8 to the "
            f"{s.shape[0]} samples after the transient"
        )
    options = {"fs": 1.0 / dt_s, "nperseg": samples, "axis": 0, "detrend": "constant"}
    f, p_ss = scipy.signal.welch(s, **options)
    _, p_rr = scipy.signal.welch(r, **options)
    _, p_sr = scipy.signal.csd(s, r, **options)
    p_ss, p_rr, p_sr = p_ss.mean(axis=1), p_rr.mean(axis=1), p_sr.mean(axis=1)
    transfer = p_sr / p_ss
    coherence = np.abs(p_sr) ** 2 / (p_ss * p_rr)
    keep = f > 0
    return pd.DataFrame(
        {
            "frequency_Hz": f[keep],
            "gain": np.abs(transfer[keep]),
            "phase_rad": np.angle(transfer[keep]),
            "coherence": coherence[keep],
        }
    )


def _columns(stimulus: np.ndarray, response: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(stimulus, dtype=float)
    r = np.asarray(response, dtype=float)
    s = s[:, None] if s.ndim == 1 else s
    r = r[:, None] if r.ndim == 1 else r
    if s.ndim != 2 or s.shape != r.shape:
        raise FilterEstimateError(
            f"stimulus has shape {np.shape(stimulus)} and response {np.shape(response)}; "
            "allowed: equal shapes (n_samples,) or (n_samples, n_trials)"
        )
    if not (np.isfinite(s).all() and np.isfinite(r).all()):
        raise FilterEstimateError("stimulus or response holds NaN or infinite values")
    return s, r


def _cross_covariance(a: np.ndarray, b: np.ndarray, lags: int) -> np.ndarray:
    """``E[a[n] b[n - k]]`` for k = 0..lags-1, averaged over columns (FFT, zero-padded)."""
    n = a.shape[0]
    size = scipy.fft.next_fast_len(n + lags)
    spectrum = np.fft.rfft(a, size, axis=0) * np.conj(np.fft.rfft(b, size, axis=0))
    correlation = np.fft.irfft(spectrum.mean(axis=1), size)[:lags]
    return correlation / (n - np.arange(lags))


def _second_kernel(r: np.ndarray, s: np.ndarray, lags: int, variance: float) -> np.ndarray:
    kernel = np.empty((lags, lags))
    for k1 in range(lags):
        product = r * np.roll(s, k1, axis=0)
        product[:k1] = 0.0
        kernel[k1] = _cross_covariance(product, s, lags)
    kernel = (kernel + kernel.T) / 2.0
    return kernel / (2.0 * variance**2)


def _delayed(x: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(x)
    out[k:] = x[: x.size - k]
    return out


def _causal_filter(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return scipy.signal.fftconvolve(x, kernel)[: x.size]
