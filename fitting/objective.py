"""The fitting objective: per-feature errors normalised by a tolerance.

Each feature's error is divided by its tolerance. The tolerances are half of the acceptance
thresholds of a good fit (10 pA, 10 %, 0.02), so that the optimiser aims well inside them; a
cost (sum of squares) of 1 therefore means every feature is within half its threshold:

========================  ====================================  ============================
feature                   normalised error                      tolerance
========================  ====================================  ============================
threshold_i_long_square   (model - cell) / 5 pA                 half Allen's 10 pA step
f_i_curve_slope           (model - cell) / (0.05 |cell|)        5 %
avg_isi                   (model - cell) / (0.05 cell)          5 %
latency                   (model - cell) / (0.2 cell + 2 ms)    20 % (Allen's timing noise)
adaptation                (model - cell) / 0.01                 0.01 absolute
per-sweep spike counts    each sweep's (model - cell) /         2 spikes or 10 %
                          max(2, 0.1 cell), summed in squares
per-sweep latency,        RMS over sweeps where both have it    latency 10 % + 1 ms, ISIs
first and mean ISI,       of (model - cell) / tolerance         5 %, adaptation index 0.01
adaptation index          (`SWEEP_TERMS`; where measured)
========================  ====================================  ============================

The cost is the sum of squared normalised errors over the features the cell has (Allen's NaN
features are left out). A feature the cell has but the model lacks (no hero sweep, fewer than
three spikes for an adaptation index) costs `MISSING_PENALTY` squared.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fitting.targets import FEATURES, CellTargets

__all__ = [
    "MISSING_PENALTY",
    "SWEEP_TERMS",
    "feature_errors",
    "normalised_errors",
    "sweep_count_errors",
    "sweep_term_errors",
    "total_cost",
]

MISSING_PENALTY = 10.0


def _tolerance(feature: str, cell_value: float) -> float:
    if feature == "threshold_i_long_square":
        return 5.0
    if feature == "adaptation":
        return 0.01
    if feature == "latency":
        return 0.2 * abs(cell_value) + 0.002
    return 0.05 * abs(cell_value) or 1e-9


def normalised_errors(
    model: Mapping[str, np.ndarray] | pd.DataFrame, targets: CellTargets
) -> dict[str, np.ndarray]:
    """Normalised errors of candidates' features against one cell's, as arrays.

    Parameters
    ----------
    model : mapping or pandas.DataFrame
        The `FEATURES` values (Allen's units), one array (or column) entry per candidate.
    targets : CellTargets
        The cell.

    Returns
    -------
    dict of str to numpy.ndarray
        One array per feature the cell has, in `FEATURES` order (NaN model values replaced by
        `MISSING_PENALTY`).
    """
    errors = {}
    for feature in FEATURES:
        cell_value = targets.features[feature]
        if not np.isfinite(cell_value):
            continue
        values = np.asarray(model[feature], dtype=float)
        error = (values - cell_value) / _tolerance(feature, cell_value)
        errors[feature] = np.where(np.isfinite(error), error, MISSING_PENALTY)
    return errors


def feature_errors(model: pd.DataFrame, targets: CellTargets) -> pd.DataFrame:
    """Normalised errors of candidates' features against one cell's.

    Parameters
    ----------
    model : pandas.DataFrame
        One row per candidate with the `FEATURES` columns (Allen's units).
    targets : CellTargets
        The cell.

    Returns
    -------
    pandas.DataFrame
        One column per feature the cell has: normalised error (NaN model values replaced by
        `MISSING_PENALTY`).
    """
    return pd.DataFrame(normalised_errors(model, targets), index=model.index)


def sweep_count_errors(model_counts: np.ndarray, targets: CellTargets) -> np.ndarray:
    """Root of the summed squared normalised spike-count errors over the measured sweeps.

    Every sweep is a term of its own: a sum, not a mean, so that a mismatch costs the same
    however many silent sweeps (exact for any candidate) the cell also has. As a mean over all
    sweeps, a few sweeps off by several spikes cost less than one feature at its tolerance, and
    the fits missed their own sweeps (in-sample mean error 2.4 against 1.7 spikes per spiking
    sweep on 12 cells of the OSB table; `bench/osb_spike_counts.py`).

    Parameters
    ----------
    model_counts : numpy.ndarray
        Shape ``(n_candidates, n_sweeps)``: model spikes in each measured sweep's window.
    targets : CellTargets
        The cell (with ``sweeps``).

    Returns
    -------
    numpy.ndarray
        One value per candidate (its square is the spike counts' share of the cost).
    """
    cell_counts = targets.sweeps.spike_count.to_numpy()
    scale = np.maximum(2.0, 0.1 * cell_counts)
    return np.sqrt(np.sum(((model_counts - cell_counts) / scale) ** 2, axis=1))


#: Optional per-sweep columns (`fitting.targets.SWEEP_COLUMNS`, named as in
#: `analysis.population_features.population_sweep_features`) fitted where a cell has them:
#: column -> (relative, absolute) tolerance.
SWEEP_TERMS = {
    "latency_s": (0.1, 0.001),
    "first_isi_s": (0.05, 0.0),
    "mean_isi_s": (0.05, 0.0),
    "adaptation_index": (0.0, 0.01),
}


def sweep_term_errors(column: str, model_values: np.ndarray, targets: CellTargets) -> np.ndarray:
    """RMS normalised error of one per-sweep feature over sweeps where cell and model have it.

    Parameters
    ----------
    column : str
        A `SWEEP_TERMS` column present in ``targets.sweeps``.
    model_values : numpy.ndarray
        Shape ``(n_candidates, n_sweeps)``: the model's values (NaN where undefined, e.g. a
        silent sweep's latency or the adaptation index below 3 spikes).
    targets : CellTargets
        The cell.

    Returns
    -------
    numpy.ndarray
        One value per candidate (0 if no sweep has both; the spike-count term then carries the
        mismatch).
    """
    relative, absolute = SWEEP_TERMS[column]
    cell = targets.sweeps[column].to_numpy(dtype=float)
    scale = relative * np.abs(cell) + absolute
    squared = ((model_values - cell) / scale) ** 2
    both = np.isfinite(squared)
    with np.errstate(invalid="ignore"):
        mean = np.where(both.any(axis=1), np.nansum(squared, axis=1) / both.sum(axis=1), 0.0)
    return np.sqrt(mean)


def total_cost(
    errors: pd.DataFrame | Mapping[str, np.ndarray], extra: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """Sum of squared normalised errors per candidate (features and optional extra terms).

    ``errors`` is `feature_errors`' table or `normalised_errors`' arrays (the same sum)."""
    matrix = (
        errors.to_numpy()
        if isinstance(errors, pd.DataFrame)
        else np.column_stack(list(errors.values()))
    )
    cost = (matrix**2).sum(axis=1)
    for values in (extra or {}).values():
        cost = cost + np.asarray(values) ** 2
    return cost
