"""Spike detection in voltage traces with the Allen Institute's threshold definition.

This is the algorithm of ipfx's ``SpikeFeatureExtractor`` (``spike_detector.py``), the detector
behind the Allen Cell Types Database, written anew and tested against ipfx's code for identical
indexes (``tests/analysis/test_spike_detection.py``):

1. dV/dt (V/s) from the voltage low-pass filtered with a 4-pole Bessel filter (10 kHz, applied
   forwards and backwards);
2. putative spikes where dV/dt rises through 20 V/s inside the analysis window, keeping a
   crossing only if dV/dt went negative since the previous one;
3. the peak of each is the voltage maximum before the next; events whose peak is below -30 mV,
   whose height (peak - threshold) is under 2 mV, or whose dV/dt does not go negative before the
   next event (merged) are dropped;
4. the threshold is where dV/dt, searched backwards from the spike's maximum upstroke, first
   falls to 5 % of the average maximum upstroke of all spikes;
5. overlapping threshold-peak pairs are merged; pairs more than 5 ms apart get their threshold
   (or peak) searched again, or are dropped; the last spike is marked ``clipped`` if the
   voltage does not return to within 1 mV of its threshold before the window ends.

ipfx also marks a spike clipped when its later trough analysis finds no fast trough; trough
features are not computed here, so only the last-spike rule applies to ``clipped``.

Simulated integrate-and-fire neurons have no spike shape: use their spike times directly (they
are threshold-crossing times).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from brian2 import mV, second
from scipy import signal

from ahp_models.quantities import QuantityError, parse_quantity
from analysis.spike_trains import SpikeTrainError, as_seconds

__all__ = ["DetectionSettings", "detect_spikes", "voltage_derivative"]


@dataclass(frozen=True)
class DetectionSettings:
    """Parameters of the detector (ipfx's defaults).

    Attributes
    ----------
    filter_khz : float or None
        Bessel low-pass cutoff for dV/dt; None for no filtering (needed when the sampling rate
        is at most twice the cutoff, e.g. 10 kHz simulations).
    dv_cutoff_v_per_s : float
        dV/dt level that marks a putative spike.
    max_interval_s : float
        Largest allowed time from threshold to peak.
    min_height_mv, min_peak_mv : float
        Smallest threshold-to-peak height and smallest peak voltage.
    thresh_frac : float
        Threshold at this fraction of the average maximum upstroke.
    clip_tolerance_mv : float
        The last spike is clipped if v never returns to threshold + this.
    """

    filter_khz: float | None = 10.0
    dv_cutoff_v_per_s: float = 20.0
    max_interval_s: float = 0.005
    min_height_mv: float = 2.0
    min_peak_mv: float = -30.0
    thresh_frac: float = 0.05
    clip_tolerance_mv: float = 1.0


#: scipy's filtfilt pads with 3 * (order + 1) samples for a 4-pole filter
_FILTFILT_PADDING = 15

_COLUMNS = {
    "threshold_index": int,
    "threshold_t_s": float,
    "threshold_v_mV": float,
    "peak_index": int,
    "peak_t_s": float,
    "peak_v_mV": float,
    "upstroke_index": int,
    "upstroke_V_per_s": float,
    "clipped": bool,
}


def _no_spikes() -> pd.DataFrame:
    """An empty result with the same (typed) columns as a non-empty one."""
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in _COLUMNS.items()})


def _time_index(t_s: np.ndarray, when_s: float) -> int:
    """Index of the sample closest to ``when_s`` (ipfx's ``find_time_index``)."""
    return int(np.argmin(np.abs(t_s - when_s)))


def voltage_derivative(t_s: np.ndarray, v_mv: np.ndarray, filter_khz: float | None) -> np.ndarray:
    """dV/dt in V/s (= mV/ms) between consecutive samples, optionally Bessel-filtered.

    Parameters
    ----------
    t_s : numpy.ndarray
        Sample times (s), evenly spaced when filtering.
    v_mv : numpy.ndarray
        Voltage (mV).
    filter_khz : float or None
        Cutoff of the 4-pole Bessel low-pass applied with ``filtfilt``; None for none.

    Returns
    -------
    numpy.ndarray
        One value fewer than samples.
    """
    steps = np.diff(t_s)
    if filter_khz:
        if t_s.size <= _FILTFILT_PADDING:
            raise SpikeTrainError(
                f"a filtered dV/dt needs more than {_FILTFILT_PADDING} samples, the trace has "
                f"{t_s.size}; use DetectionSettings(filter_khz=None) for short traces"
            )
        if not np.allclose(steps, steps[0]):
            raise SpikeTrainError("filtering dV/dt needs evenly spaced samples")
        nyquist_hz = 0.5 / steps[0]
        fraction = filter_khz * 1e3 / nyquist_hz
        if not 0 < fraction < 1:
            raise SpikeTrainError(
                f"cannot low-pass at {filter_khz:g} kHz a trace sampled at "
                f"{2 * nyquist_hz / 1e3:g} kHz (the cutoff must lie below {nyquist_hz / 1e3:g} "
                "kHz); use DetectionSettings(filter_khz=None) or a lower cutoff"
            )
        b, a = signal.bessel(4, fraction, "low")
        v_mv = signal.filtfilt(b, a, v_mv, axis=0)
    return 1e-3 * np.diff(v_mv) / steps


def _putative(dvdt: np.ndarray, first: int, last: int, cutoff: float) -> np.ndarray:
    window = dvdt[first:last]
    rising = np.flatnonzero(np.diff((window >= cutoff).astype(int)) == 1)
    keep = [k for n, k in enumerate(rising) if n == 0 or np.any(window[rising[n - 1] : k] < 0)]
    return np.asarray(keep, dtype=int) + first


def _peaks(v: np.ndarray, spikes: np.ndarray, last: int) -> np.ndarray:
    bounds = np.append(spikes, last)
    return np.array([a + np.argmax(v[a:b]) for a, b in itertools.pairwise(bounds)], dtype=int)


def _upstrokes(dvdt: np.ndarray, spikes: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    return np.array(
        [s + np.argmax(dvdt[s:p]) for s, p in zip(spikes, peaks, strict=True)], dtype=int
    )


def _refined_thresholds(dvdt: np.ndarray, upstrokes: np.ndarray, fraction: float) -> np.ndarray:
    target = dvdt[upstrokes].mean() * fraction
    thresholds = []
    previous = 0
    for upstroke in upstrokes:
        below = np.flatnonzero(dvdt[upstroke:previous:-1] <= target)
        thresholds.append(upstroke - below[0] if below.size else previous)
        previous = upstroke
    return np.asarray(thresholds, dtype=int)


def _checked(
    t: np.ndarray,
    v: np.ndarray,
    dvdt: np.ndarray,
    thresholds: np.ndarray,
    peaks: np.ndarray,
    upstrokes: np.ndarray,
    settings: DetectionSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge overlapping pairs, then repair or drop pairs whose peak comes too late."""
    overlapping = np.flatnonzero(thresholds[1:] <= peaks[:-1] + 1)
    if overlapping.size:
        thresholds = np.delete(thresholds, overlapping + 1)
        peaks = np.delete(peaks, overlapping)
        upstrokes = np.delete(upstrokes, overlapping)
    too_long = np.flatnonzero(t[peaks] - t[thresholds] >= settings.max_interval_s)
    if not too_long.size:
        return thresholds, peaks, upstrokes
    target = dvdt[upstrokes].mean() * settings.thresh_frac
    dropped = []
    for k in too_long:
        earliest = _time_index(t, t[peaks[k]] - settings.max_interval_s)
        below = np.flatnonzero(dvdt[upstrokes[k] : earliest : -1] <= target)
        if below.size:  # the threshold was wrong: take the last point below target
            thresholds[k] = upstrokes[k] - below[0]
            continue
        # else the peak may be wrong: look in twice the allowed window
        latest = _time_index(t, t[thresholds[k]] + 2 * settings.max_interval_s)
        peak = thresholds[k] + np.argmax(v[thresholds[k] : latest])
        before_next = k == len(thresholds) - 1 or t[peak] < t[thresholds[k + 1]]
        if t[peak] - t[thresholds[k]] < settings.max_interval_s and before_next:
            peaks[k] = peak
        else:
            dropped.append(k)
    return (
        np.delete(thresholds, dropped),
        np.delete(peaks, dropped),
        np.delete(upstrokes, dropped),
    )


def detect_spikes(
    t: Any,
    v: Any,
    start: Any = None,
    end: Any = None,
    settings: DetectionSettings = DetectionSettings(),
) -> pd.DataFrame:
    """Detect spikes in a voltage trace and find their thresholds, peaks and upstrokes.

    Parameters
    ----------
    t : Quantity
        Sample times, strictly increasing.
    v : Quantity
        Membrane voltage at those times.
    start, end : Quantity, optional
        Analysis window (default: the whole trace).
    settings : DetectionSettings
        Detector parameters (ipfx's defaults).

    Returns
    -------
    pandas.DataFrame
        One row per spike: ``threshold_index``, ``threshold_t_s``, ``threshold_v_mV``,
        ``peak_index``, ``peak_t_s``, ``peak_v_mV``, ``upstroke_index``,
        ``upstroke_V_per_s`` and ``clipped``.
    """
    try:
        t_s = np.asarray(parse_quantity(t, second, field="t") / second, dtype=float)
        v_mv = np.asarray(parse_quantity(v, mV, field="v") / mV, dtype=float)
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    if t_s.ndim != 1 or t_s.shape != v_mv.shape or t_s.size < 3:
        raise SpikeTrainError(
            f"t and v must be 1-D arrays of the same length (>= 3 samples), got shapes "
            f"{t_s.shape} and {v_mv.shape}"
        )
    for name, values in (("t", t_s), ("v", v_mv)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise SpikeTrainError(f"{name}[{bad[0]}] = {values[bad[0]]} is not finite")
    if np.any(np.diff(t_s) <= 0):
        raise SpikeTrainError("t must be strictly increasing")
    start_s = t_s[0] if start is None else as_seconds(start, "start")
    end_s = t_s[-1] if end is None else as_seconds(end, "end")
    if not t_s[0] <= start_s < end_s <= t_s[-1]:
        raise SpikeTrainError(
            f"window [{start_s:g}, {end_s:g}] s must lie inside the trace "
            f"[{t_s[0]:g}, {t_s[-1]:g}] s with start < end"
        )
    dvdt = voltage_derivative(t_s, v_mv, settings.filter_khz)
    first, last = _time_index(t_s, start_s), _time_index(t_s, end_s)
    spikes = _putative(dvdt, first, last, settings.dv_cutoff_v_per_s)
    if not spikes.size:
        return _no_spikes()
    peaks = _peaks(v_mv, spikes, last)
    merged = np.array(
        [np.any(dvdt[p:s] < 0) for p, s in zip(peaks[:-1], spikes[1:], strict=True)], dtype=bool
    )
    peaks, spikes = peaks[np.append(merged, True)], spikes[np.insert(merged, 0, True)]
    keep = (v_mv[peaks] >= settings.min_peak_mv) & (
        v_mv[peaks] - v_mv[spikes] >= settings.min_height_mv
    )
    spikes, peaks = spikes[keep], peaks[keep]
    if not spikes.size:
        return _no_spikes()
    upstrokes = _upstrokes(dvdt, spikes, peaks)
    thresholds = _refined_thresholds(dvdt, upstrokes, settings.thresh_frac)
    thresholds, peaks, upstrokes = _checked(t_s, v_mv, dvdt, thresholds, peaks, upstrokes, settings)
    if not thresholds.size:
        return _no_spikes()
    upstrokes = _upstrokes(dvdt, thresholds, peaks)
    clipped = np.zeros(thresholds.size, dtype=bool)
    tail = v_mv[peaks[-1] : last + 1]
    clipped[-1] = not np.any(tail <= v_mv[thresholds[-1]] + settings.clip_tolerance_mv)
    return pd.DataFrame(
        {
            "threshold_index": thresholds,
            "threshold_t_s": t_s[thresholds],
            "threshold_v_mV": v_mv[thresholds],
            "peak_index": peaks,
            "peak_t_s": t_s[peaks],
            "peak_v_mV": v_mv[peaks],
            "upstroke_index": upstrokes,
            "upstroke_V_per_s": dvdt[upstrokes],
            "clipped": clipped,
        }
    )
