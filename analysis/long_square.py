"""Cell features from a series of long-square sweeps, with the Allen Institute's rules.

The rules are those of allensdk's ``ephys_extractor`` / ``extract_cell_features``, which produced
the released ``ephys_features`` table (``allen_ephys_features.csv``):

- spiking sweeps are those with at least one spike in the stimulus window (``avg_rate > 0``);
- ``threshold_i_long_square`` (rheobase, pA) is the lowest amplitude of a spiking sweep;
- ``f_i_curve_slope`` (spikes/s per pA) is the least-squares slope of rate against amplitude over
  all spiking sweeps, every sweep a point, repeated amplitudes included (on Allen's own data this
  reproduces 35 of 40 cells exactly, collapsing repeats 3 of 40). With fewer than two distinct
  spiking amplitudes the slope is undefined and NaN here (allensdk would report lstsq's
  minimum-norm value, or fail below two sweeps);
- the hero sweep is the lowest-amplitude spiking sweep with amplitude strictly between
  rheobase + 39 pA and rheobase + 61 pA (the first such sweep in the given order on ties);
  ``adaptation``, ``avg_isi`` (ms) and ``latency`` (s) are its adaptation index, mean ISI and
  latency. Without a sweep in that window allensdk raises ``FeatureError`` and the cell gets no
  such features: here they are NaN.

``rules="ipfx"`` applies ipfx 2.x's variants instead: rheobase only among sweeps with a positive
amplitude (a rebound spike at a negative step does not count), and without a sweep in the hero
window the spiking sweep closest to rheobase + 39 pA (the lower amplitude on ties).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Hz, pA, second

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
    "features_of_sweep_table",
    "long_square_features",
]

HERO_MIN_OFFSET_PA = 39.0
HERO_MAX_OFFSET_PA = 61.0
RULES = ("allensdk", "ipfx")

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
        The `ALLEN_CELL_COLUMNS`, named and in the units of Allen's table.
    sweeps : pandas.DataFrame
        One row per sweep: ``amplitude_pA`` and the `SWEEP_FEATURE_COLUMNS`.
    rheobase_sweep, hero_sweep : int
        Positions of those sweeps in the input, -1 if there is none.
    """

    cell: pd.Series
    sweeps: pd.DataFrame
    rheobase_sweep: int
    hero_sweep: int

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


def _rheobase_and_slope(
    amplitudes_pa: np.ndarray, rates_hz: np.ndarray, rules: str
) -> tuple[int, float, float]:
    """(rheobase sweep, rheobase pA, f-I slope) with the given rules; -1 / NaN if undefined."""
    spiking = np.flatnonzero(rates_hz > 0)
    candidates = spiking[amplitudes_pa[spiking] > 0] if rules == "ipfx" else spiking
    rheobase = int(candidates[np.argmin(amplitudes_pa[candidates])]) if candidates.size else -1
    slope = float("nan")
    if np.unique(amplitudes_pa[spiking]).size >= 2:
        design = np.vstack([amplitudes_pa[spiking], np.ones(spiking.size)]).T
        slope = float(np.linalg.lstsq(design, rates_hz[spiking], rcond=None)[0][0])
    threshold = float(amplitudes_pa[rheobase]) if rheobase >= 0 else float("nan")
    return rheobase, threshold, slope


def f_i_features(amplitudes: Any, rates: Any, *, rules: str = "allensdk") -> dict[str, float]:
    """Rheobase and f-I slope from per-sweep rates (for data given as spike counts).

    Parameters
    ----------
    amplitudes : Quantity
        Sweep amplitudes.
    rates : Quantity
        Spikes per second in each sweep's stimulus window (frequency units).
    rules : {"allensdk", "ipfx"}
        Which rheobase rule (see the module documentation).

    Returns
    -------
    dict
        ``threshold_i_long_square`` (pA) and ``f_i_curve_slope`` (spikes/s per pA), NaN where
        undefined, and ``rheobase_sweep`` (position, -1 if none).
    """
    _check_rules(rules)
    amplitudes_pa = _amplitudes_pa(amplitudes)
    try:
        rates_hz = np.atleast_1d(np.asarray(parse_quantity(rates, "Hz", field="rates") / Hz))
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    if rates_hz.shape != amplitudes_pa.shape:
        raise SpikeTrainError(
            f"{amplitudes_pa.size} amplitudes but {rates_hz.size} rates; give one rate per sweep"
        )
    if not np.all(np.isfinite(rates_hz)) or np.any(rates_hz < 0):
        raise SpikeTrainError("rates must be finite and >= 0 (spikes per second)")
    rheobase, threshold, slope = _rheobase_and_slope(amplitudes_pa, rates_hz.astype(float), rules)
    return {
        "threshold_i_long_square": threshold,
        "f_i_curve_slope": slope,
        "rheobase_sweep": rheobase,
    }


def _check_rules(rules: str) -> None:
    if rules not in RULES:
        raise ValueError(f"rules = {rules!r}; allowed: {', '.join(RULES)}")


def _hero_sweep(
    amplitudes_pa: np.ndarray, spiking: np.ndarray, rheobase_pa: float, rules: str
) -> int:
    window = (
        spiking
        & (amplitudes_pa > rheobase_pa + HERO_MIN_OFFSET_PA)
        & (amplitudes_pa < rheobase_pa + HERO_MAX_OFFSET_PA)
    )
    candidates = np.flatnonzero(window)
    if candidates.size:
        return int(candidates[np.argmin(amplitudes_pa[candidates])])  # first on ties
    if rules == "ipfx" and spiking.any():
        index = np.flatnonzero(spiking)
        distance = np.abs(amplitudes_pa[index] - (rheobase_pa + HERO_MIN_OFFSET_PA))
        closest = index[distance == distance.min()]
        return int(closest[np.argmin(amplitudes_pa[closest])])  # the lower amplitude on ties
    return -1


def long_square_features(
    amplitudes: Any,
    spike_trains: Iterable[Any],
    start: Any,
    end: Any,
    *,
    rules: str = "allensdk",
) -> LongSquareFeatures:
    """Allen's cell features from a long-square series.

    Parameters
    ----------
    amplitudes : Quantity
        Stimulus amplitude of each sweep.
    spike_trains : iterable of Quantity
        Spike (threshold) times of each sweep, in the sweep's time base.
    start, end : Quantity
        The stimulus window in that time base (Allen: 1.02 s and 2.02 s).
    rules : {"allensdk", "ipfx"}
        allensdk's rules (those of the released table, default) or ipfx 2.x's variants.

    Returns
    -------
    LongSquareFeatures
        Cell features (Allen's columns and units) and the per-sweep table.
    """
    _check_rules(rules)
    amplitudes_pa = _amplitudes_pa(amplitudes)
    spike_trains = list(spike_trains)
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
    return _cell_features(sweeps, rules)


def _cell_features(sweeps: pd.DataFrame, rules: str) -> LongSquareFeatures:
    """Allen's cell features of per-sweep features (``amplitude_pA`` and the
    `SWEEP_FEATURE_COLUMNS`, NaN where unmeasured)."""
    amplitudes_pa = sweeps.amplitude_pA.to_numpy(dtype=float)
    rates = sweeps.avg_rate_Hz.to_numpy(dtype=float)
    rheobase, threshold, slope = _rheobase_and_slope(amplitudes_pa, rates, rules)
    hero = _hero_sweep(amplitudes_pa, rates > 0, threshold, rules) if rheobase >= 0 else -1
    hero_row = sweeps.iloc[hero] if hero >= 0 else None
    nan = float("nan")
    cell = pd.Series(
        {
            "threshold_i_long_square": threshold,
            "f_i_curve_slope": slope,
            "adaptation": hero_row.adaptation_index if hero_row is not None else nan,
            "avg_isi": hero_row.mean_isi_s * 1e3 if hero_row is not None else nan,
            "latency": hero_row.latency_s if hero_row is not None else nan,
        }
    )
    return LongSquareFeatures(cell=cell, sweeps=sweeps, rheobase_sweep=rheobase, hero_sweep=hero)


def features_of_sweep_table(
    sweeps: pd.DataFrame, width: Any, *, rules: str = "allensdk"
) -> LongSquareFeatures:
    """`long_square_features` of sweeps summarised per sweep instead of given as spike trains.

    Sweep tables (Allen's per-sweep spike counts, the toolkit's per-sweep features, an NWB
    file's long squares) hold each sweep's spike count and, some of them, its latency, ISIs and
    adaptation index. The cell features follow from those with the same rules: the rate of a
    sweep is its spike count over the step's width, and the hero sweep's columns give
    ``adaptation``, ``avg_isi`` and ``latency`` (NaN where the table lacks the column).

    Parameters
    ----------
    sweeps : pandas.DataFrame
        One row per sweep: ``amplitude_pA``, ``spike_count`` (spikes in the step) and any of
        the other `SWEEP_FEATURE_COLUMNS` (times in s); ``avg_rate_Hz`` is always computed
        from the count and the width, other columns are not read.
    width : Quantity
        The step's width (Allen: 1 s), one value or one per sweep.
    rules : {"allensdk", "ipfx"}
        As for `long_square_features`.

    Returns
    -------
    LongSquareFeatures
        Cell features (Allen's columns and units) and the per-sweep table, with ``avg_rate_Hz``
        computed and the missing columns NaN.

    Raises
    ------
    SpikeTrainError
        Without the two required columns, for no sweep, non-finite amplitudes, spike counts
        that are not whole numbers >= 0, or a width that is not a positive time.
    """
    _check_rules(rules)
    missing = [c for c in ("amplitude_pA", "spike_count") if c not in sweeps.columns]
    if missing:
        raise SpikeTrainError(f"the sweep table lacks column(s) {missing}")
    amplitudes_pa = _amplitudes_pa(sweeps.amplitude_pA.to_numpy(dtype=float) * pA)
    counts = sweeps.spike_count.to_numpy(dtype=float)
    if not (np.isfinite(counts) & (counts >= 0) & (counts % 1 == 0)).all():
        raise SpikeTrainError("spike counts must be whole numbers >= 0")
    try:
        width_s = np.asarray(parse_quantity(width, "s", field="width") / second, dtype=float)
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    if width_s.ndim > 1 or width_s.size not in (1, counts.size) or not (width_s > 0).all():
        raise SpikeTrainError(
            f"width = {width!r}: allowed: one positive, finite time or one per sweep"
        )
    if not np.isfinite(width_s).all():
        raise SpikeTrainError(f"width = {width!r}: allowed: finite times")
    table = pd.DataFrame({"amplitude_pA": amplitudes_pa})
    for column in SWEEP_FEATURE_COLUMNS:
        table[column] = sweeps[column].to_numpy(dtype=float) if column in sweeps else np.nan
    table["avg_rate_Hz"] = counts / width_s
    return _cell_features(table, rules)


def features_of_simulation(result: Any, stimulus: Any, **options: Any) -> LongSquareFeatures:
    """`long_square_features` of a simulated long-square series (one neuron per sweep).

    Parameters
    ----------
    result : ahp_models.SimulationResult
        The simulation.
    stimulus : ahp_models.Stimulus
        The long-square stimulus it ran (its amplitudes and window are used).
    **options
        Passed to `long_square_features` (``rules``).

    Returns
    -------
    LongSquareFeatures
        The features.
    """
    window = stimulus.window()
    if stimulus.protocol != "long_square" or window is None:
        raise SpikeTrainError(
            f"features_of_simulation needs a long_square stimulus, got {stimulus.protocol!r}"
        )
    amplitudes = stimulus.amplitudes_si(result.n_neurons) * 1e12 * pA
    start, end = window
    return long_square_features(amplitudes, result.spike_trains(), start, end, **options)
