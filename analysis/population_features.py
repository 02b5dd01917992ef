"""Sweep and long-square features of many neurons at once, vectorised.

Fitting simulates every candidate of a generation at every amplitude as one population and
needs their features in one pass. The definitions are those of `analysis.sweep_features` and
`analysis.long_square` (allensdk rules), computed with segment sums instead of a loop over
neurons; ``tests/analysis/test_population_features.py`` checks that they are the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.long_square import HERO_MAX_OFFSET_PA, HERO_MIN_OFFSET_PA
from analysis.spike_trains import SpikeTrainError

__all__ = ["POPULATION_SWEEP_COLUMNS", "population_cell_features", "population_sweep_features"]

#: Per-neuron columns of `population_sweep_features` (as in `SWEEP_FEATURE_COLUMNS`, without the
#: median, which fitting does not use).
POPULATION_SWEEP_COLUMNS = (
    "spike_count",
    "avg_rate_Hz",
    "latency_s",
    "first_isi_s",
    "mean_isi_s",
    "isi_cv",
    "adaptation_index",
)


def _per_neuron(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(owner, weights=values, minlength=n)


def population_sweep_features(
    spike_neuron: np.ndarray, spike_time_s: np.ndarray, n_neurons: int, start_s: float, end_s: float
) -> pd.DataFrame:
    """Sweep features of every neuron of a population in one stimulus window.

    Parameters
    ----------
    spike_neuron : numpy.ndarray
        Neuron index of every spike (any order).
    spike_time_s : numpy.ndarray
        Spike times (s), the same length.
    n_neurons : int
        Population size.
    start_s, end_s : float
        The stimulus window (s), both ends included as in `sweep_features`.

    Returns
    -------
    pandas.DataFrame
        One row per neuron, `POPULATION_SWEEP_COLUMNS`, NaN where undefined.
    """
    spike_neuron = np.asarray(spike_neuron, dtype=np.int64)
    spike_time_s = np.asarray(spike_time_s, dtype=float)
    if spike_neuron.shape != spike_time_s.shape:
        raise SpikeTrainError("spike_neuron and spike_time_s must have the same length")
    if spike_neuron.size and (spike_neuron.min() < 0 or spike_neuron.max() >= n_neurons):
        raise SpikeTrainError(f"spike neuron indexes must lie in [0, {n_neurons})")
    if not end_s > start_s:
        raise SpikeTrainError(f"window end {end_s:g} s must come after start {start_s:g} s")
    inside = (spike_time_s >= start_s) & (spike_time_s <= end_s)
    neuron, time = spike_neuron[inside], spike_time_s[inside]
    if np.all(np.diff(time) >= 0):  # simulators report spikes in time order: sort by neuron only
        # a stable sort of 16-bit keys is numpy's radix sort: the same order, ten times faster
        key = neuron.astype(np.uint16) if n_neurons <= 2**16 else neuron
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((time, neuron))
    neuron, time = neuron[order], time[order]
    count = np.bincount(neuron, minlength=n_neurons)
    nan = np.full(n_neurons, np.nan)

    first = nan.copy()
    starts = np.flatnonzero(np.r_[True, neuron[1:] != neuron[:-1]]) if neuron.size else neuron
    first[neuron[starts]] = time[starts]

    same = neuron[1:] == neuron[:-1]
    isi, isi_owner = np.diff(time)[same], neuron[1:][same]
    n_isi = count - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_isi = np.where(n_isi > 0, _per_neuron(isi, isi_owner, n_neurons) / n_isi, np.nan)
        squares = _per_neuron((isi - mean_isi[isi_owner]) ** 2, isi_owner, n_neurons)
        cv = np.where(n_isi > 0, np.sqrt(squares / n_isi) / mean_isi, np.nan)
    first_isi = nan.copy()
    isi_starts = (
        np.flatnonzero(np.r_[True, isi_owner[1:] != isi_owner[:-1]]) if isi.size else isi_owner
    )
    first_isi[isi_owner[isi_starts]] = isi[isi_starts]

    consecutive = isi_owner[1:] == isi_owner[:-1]
    ratio = (np.diff(isi) / (isi[1:] + isi[:-1]))[consecutive]
    n_ratio = count - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        adaptation = np.where(
            n_ratio > 0, _per_neuron(ratio, isi_owner[1:][consecutive], n_neurons) / n_ratio, np.nan
        )
    return pd.DataFrame(
        {
            "spike_count": count.astype(float),
            "avg_rate_Hz": count / (end_s - start_s),
            "latency_s": first - start_s,
            "first_isi_s": first_isi,
            "mean_isi_s": mean_isi,
            "isi_cv": cv,
            "adaptation_index": adaptation,
        }
    )


def population_cell_features(sweeps: pd.DataFrame, amplitudes_pa: np.ndarray) -> pd.DataFrame:
    """Allen's long-square cell features of many cells whose sweeps are consecutive rows.

    Parameters
    ----------
    sweeps : pandas.DataFrame
        `population_sweep_features` of ``n_cells * n_amplitudes`` neurons, cell-major: rows
        ``c * n_amplitudes ... (c + 1) * n_amplitudes - 1`` are cell ``c``'s sweeps.
    amplitudes_pa : numpy.ndarray
        Amplitudes, shape ``(n_amplitudes,)`` (shared) or ``(n_cells, n_amplitudes)``.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``threshold_i_long_square``, ``f_i_curve_slope``, ``adaptation``,
        ``avg_isi`` (ms), ``latency`` (s) with allensdk's rules (as `long_square_features`),
        and ``rheobase_sweep`` and ``hero_sweep`` (positions within the cell, -1 if none).
    """
    amplitudes_pa = np.asarray(amplitudes_pa, dtype=float)
    n_amplitudes = amplitudes_pa.shape[-1]
    if len(sweeps) % n_amplitudes:
        raise SpikeTrainError(
            f"{len(sweeps)} sweeps are not a whole number of cells of {n_amplitudes} amplitudes"
        )
    n_cells = len(sweeps) // n_amplitudes
    amps = np.broadcast_to(amplitudes_pa, (n_cells, n_amplitudes))
    rates = sweeps.avg_rate_Hz.to_numpy().reshape(n_cells, n_amplitudes)
    spiking = rates > 0
    has_spike = spiking.any(axis=1)
    masked = np.where(spiking, amps, np.inf)
    rheobase_sweep = np.where(has_spike, np.argmin(masked, axis=1), -1)  # first on ties
    rheobase = np.where(has_spike, masked.min(axis=1), np.nan)

    # least squares slope over spiking sweeps, needing two distinct amplitudes
    weight = spiking.astype(float)
    n = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = (weight * amps).sum(axis=1) / n
        mean_y = (weight * rates).sum(axis=1) / n
        dx = np.where(spiking, amps - mean_x[:, None], 0.0)
        slope = (dx * (rates - mean_y[:, None])).sum(axis=1) / (dx**2).sum(axis=1)
    # distinct spiking amplitudes per cell: sorted (silent ones as NaN, sorted last), minus
    # repeats of the value before
    ordered = np.sort(np.where(spiking, amps, np.nan), axis=1)
    repeats = (ordered[:, 1:] == ordered[:, :-1]).sum(axis=1)
    distinct = spiking.sum(axis=1) - repeats
    slope = np.where(distinct >= 2, slope, np.nan)

    window = (
        spiking
        & (amps > rheobase[:, None] + HERO_MIN_OFFSET_PA)
        & (amps < rheobase[:, None] + HERO_MAX_OFFSET_PA)
    )
    hero_candidates = np.where(window, amps, np.inf)
    has_hero = window.any(axis=1)
    hero_sweep = np.where(has_hero, np.argmin(hero_candidates, axis=1), -1)
    rows = np.arange(n_cells) * n_amplitudes + np.maximum(hero_sweep, 0)

    def hero(column: str, scale: float = 1.0) -> np.ndarray:
        values = sweeps[column].to_numpy()[rows] * scale
        return np.where(has_hero, values, np.nan)

    return pd.DataFrame(
        {
            "threshold_i_long_square": rheobase,
            "f_i_curve_slope": slope,
            "adaptation": hero("adaptation_index"),
            "avg_isi": hero("mean_isi_s", 1e3),
            "latency": hero("latency_s"),
            "rheobase_sweep": rheobase_sweep,
            "hero_sweep": hero_sweep,
        }
    )
