"""Spike-train features of one sweep, with the Allen Institute's definitions.

Definitions follow ipfx ``spike_train_features.basic_spike_train_features`` (the code behind the
Allen Cell Types Database features; tested against it):

- the spikes are those whose threshold time lies in ``[start, end]`` (both ends included);
- ``avg_rate`` = number of those spikes / (end - start);
- ``latency`` = first spike - start (NaN without spikes);
- ISIs are differences of consecutive threshold times; ``first_isi``, ``mean_isi``,
  ``median_isi`` (NaN without ISIs); ``isi_cv`` = std / mean with numpy's default ``ddof=0``
  (0 for a single ISI);
- the adaptation index is Allen's ``norm_diff``: the mean over consecutive ISI pairs of
  ``(ISI[n+1] - ISI[n]) / (ISI[n+1] + ISI[n])``, NaN below two ISIs (three spikes). Positive
  means the neuron slows down.

eFEL's ``adaptation_index`` is a different feature (peak times, it skips the first spikes and
needs four); see ``tests/analysis/test_efel_agreement.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import second

from ahp_models.quantities import QuantityError, parse_quantity
from analysis.spike_trains import SpikeTrainError, as_seconds, as_spike_times

__all__ = ["SWEEP_FEATURE_COLUMNS", "adaptation_index", "sweep_features"]

#: Per-sweep feature names (units in the names).
SWEEP_FEATURE_COLUMNS = (
    "spike_count",
    "avg_rate_Hz",
    "latency_s",
    "first_isi_s",
    "mean_isi_s",
    "median_isi_s",
    "isi_cv",
    "adaptation_index",
)


def _norm_diff(isis: np.ndarray) -> float:
    """Mean of (ISI[n+1] - ISI[n]) / (ISI[n+1] + ISI[n]) over positive ISIs; NaN below two."""
    if isis.size < 2:
        return float("nan")
    return float(np.mean(np.diff(isis) / (isis[1:] + isis[:-1])))


def adaptation_index(isis: Any) -> float:
    """Allen's adaptation index (``norm_diff``) of interspike intervals.

    Parameters
    ----------
    isis : Quantity
        Interspike intervals (times, all > 0).

    Returns
    -------
    float
        Mean of ``(ISI[n+1] - ISI[n]) / (ISI[n+1] + ISI[n])``; NaN with fewer than two ISIs.
    """
    try:
        values = np.atleast_1d(np.asarray(parse_quantity(isis, "s", field="isis") / second))
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise SpikeTrainError(f"isis must be a 1-D array of positive, finite times, got {isis!r}")
    return _norm_diff(values.astype(float))


def sweep_features(spike_times: Any, start: Any, end: Any) -> dict[str, float]:
    """Features of one sweep's spike train in its stimulus window.

    Parameters
    ----------
    spike_times : Quantity
        Spike (threshold) times of the sweep, strictly increasing; may be empty.
    start, end : Quantity
        The stimulus window (Allen long square: 1.02 s and 2.02 s).

    Returns
    -------
    dict of str to float
        `SWEEP_FEATURE_COLUMNS`: ``spike_count``, ``avg_rate_Hz``, ``latency_s``,
        ``first_isi_s``, ``mean_isi_s``, ``median_isi_s``, ``isi_cv``, ``adaptation_index``;
        NaN where a feature needs more spikes than the sweep has.

    Raises
    ------
    SpikeTrainError
        For times without units, unsorted, duplicated, negative or non-finite spike times, or
        a window with ``end <= start``.
    """
    times = as_spike_times(spike_times)
    start_s, end_s = as_seconds(start, "start"), as_seconds(end, "end")
    if not end_s > start_s:
        raise SpikeTrainError(
            f"stimulus window end = {end_s:g} s must come after start = {start_s:g} s"
        )
    inside = times[(times >= start_s) & (times <= end_s)]
    isis = np.diff(inside)
    nan = float("nan")
    return {
        "spike_count": float(inside.size),
        "avg_rate_Hz": inside.size / (end_s - start_s),
        "latency_s": float(inside[0] - start_s) if inside.size else nan,
        "first_isi_s": float(isis[0]) if isis.size else nan,
        "mean_isi_s": float(isis.mean()) if isis.size else nan,
        "median_isi_s": float(np.median(isis)) if isis.size else nan,
        "isi_cv": float(isis.std() / isis.mean()) if isis.size else nan,
        "adaptation_index": _norm_diff(isis),
    }
