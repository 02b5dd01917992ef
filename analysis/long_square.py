"""Cell features from a series of long-square sweeps, with the Allen Institute's rules.

The rules are those of allensdk's ``ephys_extractor`` / ``extract_cell_features``, which produced
the released ``ephys_features`` table (``allen_ephys_features.csv``):

- spiking sweeps are those with at least one spike in the stimulus window (``avg_rate > 0``);
- ``threshold_i_long_square`` (rheobase, pA) is the lowest amplitude of a spiking sweep;
- ``f_i_curve_slope`` (spikes/s per pA) is the least-squares slope of rate against amplitude over
  all spiking sweeps (every sweep is a point, repeated amplitudes included); NaN with fewer than
  two spiking sweeps;
- the hero sweep is the lowest-amplitude spiking sweep with amplitude strictly between
  rheobase + 39 pA and rheobase + 61 pA (the first such sweep in the given order on ties);
  ``adaptation``, ``avg_isi`` (ms) and ``latency`` (s) are its adaptation index, mean ISI and
  latency. Without a sweep in that window allensdk raises ``FeatureError`` and the cell gets no
  such features: here they are NaN (``hero_policy="allen"``, the default); ipfx 2.x instead
  takes the spiking sweep whose amplitude is closest to rheobase + 39 pA
  (``hero_policy="ipfx"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from brian2 import pA

from ahp_models.quantities import QuantityError, parse_quantity
from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import SWEEP_FEATURE_COLUMNS, sweep_features

__all__ = [
    "ALLEN_CELL_COLUMNS",
    "HERO_MAX_OFFSET_PA",
    "HERO_MIN_OFFSET_PA",
    "LongSquareFeatures",
    "f_i_features",
    "features_of_simulation",
    "long_square_features",
]

HERO_MIN_OFFSET_PA = 39.0
HERO_MAX_OFFSET_PA = 61.0
HERO_POLICIES = ("allen", "ipfx")

#: Cell-level columns, named and in the units of Allen's ephys_features table.
ALLEN_CELL_COLUMNS = {
    "threshold_i_long_square": "pA",
    "f_i_curve_slope": "spikes/s/pA",
    "adaptation": "1",
    "avg_isi": "ms",
    "latency": "s",
}


@dataclass
class LongSquareFeatures:
    """Result of a long-square analysis.

    Attributes
    ----------
    cell : pandas.Series
        `ALLEN_CELL_COLUMNS` plus ``rheobase_sweep`` and ``hero_sweep`` (positions in the
        input, -1 if none) and ``n_spiking_sweeps``.
    sweeps : pandas.DataFrame
        One row per sweep: ``amplitude_pA`` and the `SWEEP_FEATURE_COLUMNS`.
    """

    cell: pd.Series
    sweeps: pd.DataFrame

    @property
    def f_i_curve(self) -> pd.DataFrame:
        """Rate against amplitude of every sweep, sorted by amplitude (stable)."""
        curve = self.sweeps[["amplitude_pA", "avg_rate_Hz"]]
        return curve.sort_values("amplitude_pA", kind="stable").reset_index(names="sweep")


def _amplitudes_pa(amplitudes: Any) -> np.ndarray:
    try:
        values = np.atleast_1d(
            np.asarray(parse_quantity(amplitudes, "pA", field="amplitudes") / pA)
        )
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    values = values.astype(float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise SpikeTrainError(
            f"amplitudes must be a non-empty 1-D array of finite currents, got {amplitudes!r}"
        )
    return values


def f_i_features(amplitudes_pa: np.ndarray, rates_hz: np.ndarray) -> dict[str, float]:
    """Rheobase and f-I slope from per-sweep rates (Allen's rules).

    Parameters
    ----------
    amplitudes_pa : numpy.ndarray
        Sweep amplitudes, pA.
    rates_hz : numpy.ndarray
        Spikes per second in each sweep's stimulus window.

    Returns
    -------
    dict
        ``threshold_i_long_square`` (pA, NaN without spiking sweeps), ``f_i_curve_slope``
        (spikes/s per pA, NaN with fewer than two spiking sweeps), ``rheobase_sweep`` (position,
        -1 if none) and ``n_spiking_sweeps``.
    """
    amplitudes_pa = np.asarray(amplitudes_pa, dtype=float)
    rates_hz = np.asarray(rates_hz, dtype=float)
    if amplitudes_pa.shape != rates_hz.shape:
        raise SpikeTrainError(
            f"{amplitudes_pa.size} amplitudes but {rates_hz.size} rates; give one rate per sweep"
        )
    if not np.all(np.isfinite(rates_hz)) or np.any(rates_hz < 0):
        raise SpikeTrainError("rates must be finite and >= 0 (spikes per second)")
    spiking = np.flatnonzero(rates_hz > 0)
    result = {
        "threshold_i_long_square": float("nan"),
        "f_i_curve_slope": float("nan"),
        "rheobase_sweep": -1,
        "n_spiking_sweeps": int(spiking.size),
    }
    if spiking.size:
        rheobase = spiking[np.argmin(amplitudes_pa[spiking])]
        result["rheobase_sweep"] = int(rheobase)
        result["threshold_i_long_square"] = float(amplitudes_pa[rheobase])
    if spiking.size >= 2:
        design = np.vstack([amplitudes_pa[spiking], np.ones(spiking.size)]).T
        slope, _ = np.linalg.lstsq(design, rates_hz[spiking], rcond=None)[0]
        result["f_i_curve_slope"] = float(slope)
    return result


def _hero_sweep(
    amplitudes_pa: np.ndarray, spike_counts: np.ndarray, rheobase_pa: float, policy: str
) -> int:
    spiking = spike_counts > 0
    window = (
        spiking
        & (amplitudes_pa > rheobase_pa + HERO_MIN_OFFSET_PA)
        & (amplitudes_pa < rheobase_pa + HERO_MAX_OFFSET_PA)
    )
    candidates = np.flatnonzero(window)
    if candidates.size:
        return int(candidates[np.argmin(amplitudes_pa[candidates])])  # first on ties
    if policy == "ipfx" and spiking.any():
        spiking_index = np.flatnonzero(spiking)
        distance = np.abs(amplitudes_pa[spiking_index] - (rheobase_pa + HERO_MIN_OFFSET_PA))
        return int(spiking_index[np.argmin(distance)])
    return -1


def long_square_features(
    amplitudes: Any,
    spike_trains: Sequence[Any],
    start: Any,
    end: Any,
    *,
    hero_policy: str = "allen",
) -> LongSquareFeatures:
    """Allen's cell features from a long-square series.

    Parameters
    ----------
    amplitudes : Quantity
        Stimulus amplitude of each sweep.
    spike_trains : sequence of Quantity
        Spike (threshold) times of each sweep, in the sweep's time base.
    start, end : Quantity
        The stimulus window in that time base (Allen: 1.02 s and 2.02 s).
    hero_policy : {"allen", "ipfx"}
        What to do without a sweep in the hero window (see the module documentation).

    Returns
    -------
    LongSquareFeatures
        Cell features (Allen's columns and units) and the per-sweep table.
    """
    if hero_policy not in HERO_POLICIES:
        raise ValueError(f"hero_policy = {hero_policy!r}; allowed: {', '.join(HERO_POLICIES)}")
    amplitudes_pa = _amplitudes_pa(amplitudes)
    if len(spike_trains) != amplitudes_pa.size:
        raise SpikeTrainError(
            f"{amplitudes_pa.size} amplitudes but {len(spike_trains)} spike trains; give one "
            "spike train per sweep"
        )
    rows = []
    for k, train in enumerate(spike_trains):
        try:
            rows.append(sweep_features(train, start, end))
        except SpikeTrainError as err:
            raise SpikeTrainError(f"sweep {k}: {err}") from None
    sweeps = pd.DataFrame(rows, columns=list(SWEEP_FEATURE_COLUMNS))
    sweeps.insert(0, "amplitude_pA", amplitudes_pa)
    cell = f_i_features(amplitudes_pa, sweeps.avg_rate_Hz.to_numpy())
    hero = -1
    if cell["rheobase_sweep"] >= 0:
        counts = sweeps.spike_count.to_numpy()
        hero = _hero_sweep(amplitudes_pa, counts, cell["threshold_i_long_square"], hero_policy)
    hero_row = sweeps.iloc[hero] if hero >= 0 else None
    nan = float("nan")
    cell.update(
        {
            "adaptation": hero_row.adaptation_index if hero_row is not None else nan,
            "avg_isi": hero_row.mean_isi_s * 1e3 if hero_row is not None else nan,
            "latency": hero_row.latency_s if hero_row is not None else nan,
            "hero_sweep": hero,
        }
    )
    order = [*ALLEN_CELL_COLUMNS, "rheobase_sweep", "hero_sweep", "n_spiking_sweeps"]
    return LongSquareFeatures(cell=pd.Series({k: cell[k] for k in order}), sweeps=sweeps)


def features_of_simulation(result: Any, stimulus: Any, **options: Any) -> LongSquareFeatures:
    """`long_square_features` of a simulated long-square series (one neuron per sweep).

    Parameters
    ----------
    result : ahp_models.SimulationResult
        The simulation.
    stimulus : ahp_models.Stimulus
        The long-square stimulus it ran (its amplitudes and window are used).
    **options
        Passed to `long_square_features` (``hero_policy``).

    Returns
    -------
    LongSquareFeatures
        The features.
    """
    window = stimulus.window()
    if window is None or not stimulus.protocol.endswith("square"):
        raise SpikeTrainError(
            f"features_of_simulation needs a square-pulse stimulus, got {stimulus.protocol!r}"
        )
    amplitudes = stimulus.amplitudes_si(result.n_neurons) * 1e12 * pA
    start, end = window
    return long_square_features(amplitudes, result.spike_trains(), start, end, **options)
