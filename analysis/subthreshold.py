"""A cell's passive properties from its hyperpolarizing long squares, with Allen's definitions.

The Allen Cell Types Database measures ``vrest``, ``ri`` and ``tau`` with ipfx 2.1.2
(``subthresh_features`` and ``LongSquareAnalysis``; tested against both). Per sweep, with the
step from ``start`` to ``end``:

- the baseline is the mean voltage over the ``baseline_interval`` (0.1 s) before the step (the
  samples from the one nearest ``start - baseline_interval`` up to, not including, the one
  nearest ``start``);
- the deflection is the lowest voltage from the sample nearest ``start`` up to, not including,
  the one nearest ``end`` (its first occurrence), with its index;
- the step amplitude is the current one sample after the one nearest ``start``.

A sweep serves for the membrane properties when it has no spike and its amplitude lies strictly
between ``min_amplitude_pA`` (-100 pA, Allen's setting) and 0. Over those sweeps:

- ``ri`` (MOhm) is the slope of the least-squares line through (current at the deflection,
  deflection); with one sweep, its baseline at 0 pA is the second point;
- ``tau`` (ms) is the mean of the sweeps' time constants (NaN ones left out). Each sweep's fit
  window ends at its deflection or at the median deflection time of the sweeps, whichever is
  earlier (so a sag does not bend the fit); it starts at the first sample after the step that
  lies beyond ``tau_frac`` (10 %) of the way from baseline to the voltage at the window's end.
  ``y0 + a exp(-t / tau)`` is fitted there by least squares (scipy's ``curve_fit`` from
  ``a`` = first - last voltage, 1/tau = 50 /s, ``y0`` = last voltage); a fit that fails, that
  leaves a root-mean-square residual above 1 mV, or a deflection under 20 times the baseline's
  standard deviation gives NaN.

``vrest`` (mV) is the mean baseline of every long square, spiking ones included. Times are in
seconds, voltages in mV and currents in pA inside, as the names say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

__all__ = [
    "BASELINE_INTERVAL_S",
    "MIN_AMPLITUDE_PA",
    "PassiveProperties",
    "SubthresholdError",
    "Trace",
    "baseline_voltage_mv",
    "fit_membrane_time_constant",
    "input_resistance_mohm",
    "is_membrane_sweep",
    "passive_properties",
    "step_amplitude_pa",
    "time_constant_ms",
    "voltage_deflection",
]

#: Allen's baseline window before the step (ipfx's ``baseline_interval``).
BASELINE_INTERVAL_S = 0.1
#: Allen's lower bound (exclusive) on the amplitudes of membrane-property sweeps.
MIN_AMPLITUDE_PA = -100.0
#: Fraction of the deflection after which the time-constant fit starts.
TAU_FRAC = 0.1
#: Smallest deflection / baseline noise for which a time constant is measured.
MIN_SNR = 20.0
#: Largest root-mean-square residual of an accepted exponential fit.
RMSE_MAX_MV = 1.0


class SubthresholdError(ValueError):
    """A trace on which a subthreshold feature is undefined (the message says why)."""


@dataclass(frozen=True)
class Trace:
    """One long square: samples and its step window.

    Attributes
    ----------
    t_s : numpy.ndarray
        Sample times (s), increasing.
    v_mv : numpy.ndarray
        Membrane potential (mV) at those times.
    i_pa : numpy.ndarray
        Injected current (pA) at those times.
    start_s, end_s : float
        The step's start and end (s).
    """

    t_s: np.ndarray
    v_mv: np.ndarray
    i_pa: np.ndarray
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PassiveProperties:
    """A cell's passive properties, in the units of Allen's feature table.

    Attributes
    ----------
    vrest_mv : float
        Mean pre-step baseline of all long squares.
    ri_mohm, tau_ms : float
        Input resistance and membrane time constant (NaN where no sweep serves).
    n_sweeps : int
        Number of membrane-property sweeps.
    reason : str
        Why ``ri`` or ``tau`` is NaN ("" where both are measured).
    """

    vrest_mv: float
    ri_mohm: float
    tau_ms: float
    n_sweeps: int
    reason: str = ""


def _index(t_s: np.ndarray, time_s: float) -> int:
    """The sample nearest ``time_s`` (the first of two equally near)."""
    return int(np.argmin(np.abs(t_s - time_s)))


def _mean_between(t_s: np.ndarray, v_mv: np.ndarray, first_s: float, last_s: float) -> float:
    return float(v_mv[_index(t_s, first_s) : _index(t_s, last_s)].mean())


def baseline_voltage_mv(
    t_s: np.ndarray, v_mv: np.ndarray, start_s: float, baseline_interval_s: float = 0.1
) -> float:
    """Mean voltage over ``baseline_interval_s`` before the step (see the module text).

    Parameters
    ----------
    t_s, v_mv : numpy.ndarray
        Sample times (s) and voltages (mV).
    start_s : float
        Step start (s).
    baseline_interval_s : float
        Length of the window before the step.

    Returns
    -------
    float
        The baseline (mV).
    """
    return _mean_between(t_s, v_mv, start_s - baseline_interval_s, start_s)


def step_amplitude_pa(t_s: np.ndarray, i_pa: np.ndarray, start_s: float) -> float:
    """The current one sample after the sample nearest the step's start.

    Parameters
    ----------
    t_s, i_pa : numpy.ndarray
        Sample times (s) and currents (pA).
    start_s : float
        Step start (s).

    Returns
    -------
    float
        The amplitude (pA).
    """
    return float(i_pa[_index(t_s, start_s) + 1])


def voltage_deflection(
    t_s: np.ndarray, v_mv: np.ndarray, start_s: float, end_s: float
) -> tuple[float, int]:
    """The lowest voltage during the step and its index (see the module text).

    Parameters
    ----------
    t_s, v_mv : numpy.ndarray
        Sample times (s) and voltages (mV).
    start_s, end_s : float
        The step (s).

    Returns
    -------
    tuple of (float, int)
        The voltage (mV) and its sample index.
    """
    first = _index(t_s, start_s)
    index = first + int(np.argmin(v_mv[first : _index(t_s, end_s)]))
    return float(v_mv[index]), index


def _exponential(x_s, a_mv, inv_tau_per_s, y0_mv):
    return y0_mv + a_mv * np.exp(-inv_tau_per_s * x_s)


def fit_membrane_time_constant(
    t_s: np.ndarray,
    v_mv: np.ndarray,
    first_s: float,
    last_s: float,
    rmse_max_mv: float = RMSE_MAX_MV,
) -> tuple[float, float, float]:
    """Least-squares ``y0 + a exp(-inv_tau (t - t_first))`` between two times.

    Parameters
    ----------
    t_s, v_mv : numpy.ndarray
        Sample times (s) and voltages (mV).
    first_s, last_s : float
        The window: from the sample nearest ``first_s`` up to, not including, the one nearest
        ``last_s``.
    rmse_max_mv : float
        Largest accepted root-mean-square residual.

    Returns
    -------
    tuple of float
        ``a`` (mV), ``inv_tau`` (1/s) and ``y0`` (mV); NaN each where the fit fails or its
        residual is above ``rmse_max_mv``.
    """
    first, last = _index(t_s, first_s), _index(t_s, last_s)
    guess = (v_mv[first] - v_mv[last], 50.0, v_mv[last])
    x_s = (t_s[first:last] - t_s[first]).astype(np.float64)
    window_mv = v_mv[first:last].astype(np.float64)
    try:
        fitted, _ = curve_fit(_exponential, x_s, window_mv, p0=guess)
    except RuntimeError:  # no convergence: no time constant, as Allen reports it
        return np.nan, np.nan, np.nan
    rmse_mv = np.sqrt(np.mean((_exponential(x_s, *fitted) - window_mv) ** 2))
    if rmse_mv > rmse_max_mv:
        return np.nan, np.nan, np.nan
    return tuple(float(value) for value in fitted)


def time_constant_ms(
    trace: Trace,
    max_fit_end_s: float | None = None,
    tau_frac: float = TAU_FRAC,
    baseline_interval_s: float = BASELINE_INTERVAL_S,
    min_snr: float = MIN_SNR,
) -> float:
    """Membrane time constant of one hyperpolarizing sweep (see the module text).

    Parameters
    ----------
    trace : Trace
        The sweep.
    max_fit_end_s : float, optional
        Latest end of the fit window (default: the deflection).
    tau_frac : float
        Fraction of the deflection after which the fit starts.
    baseline_interval_s : float
        Baseline window before the step (s).
    min_snr : float
        Smallest deflection / baseline standard deviation that is measured.

    Returns
    -------
    float
        The time constant (ms); NaN for a noisy sweep or a failed fit.

    Raises
    ------
    SubthresholdError
        No sample after the step reaches ``tau_frac`` of the deflection.
    """
    t_s, v_mv = trace.t_s, trace.v_mv
    v_peak_mv, peak = voltage_deflection(t_s, v_mv, trace.start_s, trace.end_s)
    if max_fit_end_s is not None:
        peak = min(_index(t_s, max_fit_end_s), peak)
        v_peak_mv = float(v_mv[peak])
    v_baseline_mv = baseline_voltage_mv(t_s, v_mv, trace.start_s, baseline_interval_s)
    start = _index(t_s, trace.start_s)
    noise_mv = np.std(v_mv[_index(t_s, trace.start_s - baseline_interval_s) : start])
    # a noiseless trace (a deterministic model) always has enough signal
    snr = np.inf if noise_mv == 0 else abs(v_baseline_mv - v_peak_mv) / noise_mv
    if snr < min_snr:
        return np.nan
    beyond = np.flatnonzero(v_mv[start:] <= tau_frac * (v_peak_mv - v_baseline_mv) + v_baseline_mv)
    if not beyond.size:
        raise SubthresholdError(
            f"no sample after the step at {trace.start_s:g} s reaches {tau_frac:g} of the "
            "deflection: no window for the time constant"
        )
    _, inv_tau_per_s, _ = fit_membrane_time_constant(t_s, v_mv, t_s[start + beyond[0]], t_s[peak])
    return 1e3 / inv_tau_per_s


def input_resistance_mohm(
    traces: Sequence[Trace], baseline_interval_s: float = BASELINE_INTERVAL_S
) -> float:
    """Slope of the deflection against the current at it (see the module text).

    Parameters
    ----------
    traces : sequence of Trace
        Hyperpolarizing sweeps (at least one).
    baseline_interval_s : float
        Baseline window of a single sweep's second point (s).

    Returns
    -------
    float
        The input resistance (MOhm).
    """
    v_mv, i_pa = [], []
    for trace in traces:
        v_peak_mv, peak = voltage_deflection(trace.t_s, trace.v_mv, trace.start_s, trace.end_s)
        v_mv.append(v_peak_mv)
        i_pa.append(trace.i_pa[peak])
    if len(traces) == 1:  # a line needs a second point: the sweep's own baseline at 0 pA
        first = traces[0]
        v_mv.append(baseline_voltage_mv(first.t_s, first.v_mv, first.start_s, baseline_interval_s))
        i_pa.append(0.0)
    i_pa = np.array(i_pa)
    design = np.vstack([i_pa, np.ones_like(i_pa)]).T
    slope_mv_per_pa, _ = np.linalg.lstsq(design, np.array(v_mv), rcond=None)[0]
    return float(slope_mv_per_pa * 1e3)  # mV/pA = GOhm


def is_membrane_sweep(
    amplitude_pa: float, spike_count: int, min_amplitude_pa: float = MIN_AMPLITUDE_PA
) -> bool:
    """Whether a long square serves for ``ri`` and ``tau``: silent, between
    ``min_amplitude_pa`` and 0 pA (both excluded).

    Parameters
    ----------
    amplitude_pa : float
        `step_amplitude_pa` of the sweep.
    spike_count : int
        Its spikes during the step.
    min_amplitude_pa : float
        Lower bound (Allen: -100 pA).

    Returns
    -------
    bool
        True for a membrane-property sweep.
    """
    return spike_count == 0 and min_amplitude_pa < amplitude_pa < 0.0


def _nan_mean(values: Sequence[float]) -> float:
    """Mean of the values that are not NaN; NaN (without numpy's warning) where none is."""
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if (~np.isnan(values)).any() else np.nan


def passive_properties(
    baselines_mv: Sequence[float],
    membrane_sweeps: Sequence[Trace],
    tau_frac: float = TAU_FRAC,
    baseline_interval_s: float = BASELINE_INTERVAL_S,
) -> PassiveProperties:
    """A cell's ``vrest``, ``ri`` and ``tau`` (see the module text).

    Parameters
    ----------
    baselines_mv : sequence of float
        `baseline_voltage_mv` of every long square of the cell.
    membrane_sweeps : sequence of Trace
        Its sweeps for which `is_membrane_sweep` holds.
    tau_frac : float
        Start of each time-constant fit, as a fraction of the deflection.
    baseline_interval_s : float
        Baseline window before the step (s).

    Returns
    -------
    PassiveProperties
        ``ri`` and ``tau`` NaN, with the reason, without membrane sweeps or where every time
        constant is NaN.
    """
    vrest_mv = _nan_mean(baselines_mv)
    n_sweeps = len(membrane_sweeps)
    if not n_sweeps:
        reason = "no silent long square between -100 and 0 pA to measure ri and tau on"
        return PassiveProperties(vrest_mv, np.nan, np.nan, 0, reason)
    peak_times_s = [
        trace.t_s[voltage_deflection(trace.t_s, trace.v_mv, trace.start_s, trace.end_s)[1]]
        for trace in membrane_sweeps
    ]
    fit_end_s = float(np.median(peak_times_s))
    try:
        taus_ms = np.array(
            [
                time_constant_ms(trace, fit_end_s, tau_frac, baseline_interval_s)
                for trace in membrane_sweeps
            ]
        )
    except SubthresholdError as err:
        taus_ms, reason = np.array([np.nan]), f"tau: {err}"
    else:
        reason = "" if np.isfinite(taus_ms).any() else "tau: no sweep gave an exponential fit"
    tau_ms = _nan_mean(taus_ms)
    ri_mohm = input_resistance_mohm(membrane_sweeps, baseline_interval_s)
    return PassiveProperties(vrest_mv, ri_mohm, tau_ms, n_sweeps, reason)
