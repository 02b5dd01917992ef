"""Held-out evaluation: fit on half of a cell's sweeps, score spike counts on the other half.

A fit scored on the sweeps it was fitted to says little about how it predicts: the fair test
fits each cell on alternate amplitudes of its long squares and scores the spike counts of the
amplitudes in between, with every model compared on exactly the same held-out sweeps.
`split_alternate_amplitudes` makes the split, `score_spike_counts` the summary per model and
`error_signs` the direction of each cell's error (a model that errs the same way on most cells
is biased, whatever its mean error). `interpolated_counts` is the neuron-free reference: what
the fitted half's own counts, interpolated, predict of the other half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "error_signs",
    "first_ascending_series",
    "first_sweep_of_each_amplitude",
    "interpolated_counts",
    "score_spike_counts",
    "split_alternate_amplitudes",
]

#: Amplitudes closer than this (pA) are one amplitude: the tables store 29.999998 for 30 pA and
#: Allen repeats a sweep at the same amplitude.
SAME_AMPLITUDE_PA = 0.5


def split_alternate_amplitudes(
    sweeps: Mapping[int, pd.DataFrame], held_out: int = 1
) -> tuple[dict[int, pd.DataFrame], dict[int, pd.DataFrame]]:
    """Split every cell's sweeps by alternate amplitudes into a fitting and a held-out half.

    Each cell's distinct amplitudes are ranked from the lowest; sweeps of even-ranked
    amplitudes go to one half, odd-ranked to the other, so that repeats of one amplitude stay
    together and both halves span the whole f-I curve.

    Parameters
    ----------
    sweeps : mapping
        Specimen -> its sweeps (``amplitude_pA`` and any other columns).
    held_out : int
        Which rank parity is held out: 1 (default) the odd ranks, 0 the even ranks.

    Returns
    -------
    tuple of dict
        ``(fitting, held_out)``: specimen -> the sweeps of that half (index reset). A cell whose
        held-out or fitting half has no spiking sweep is kept in both halves all the same; the
        caller decides (`score_spike_counts` scores only spiking sweeps).
    """
    if held_out not in (0, 1):
        raise ValueError(f"held_out = {held_out!r}; allowed: 0 or 1")
    fitting, testing = {}, {}
    for specimen, table in sweeps.items():
        amplitudes = table.amplitude_pA.to_numpy(dtype=float)
        ranks = _amplitude_ranks(amplitudes)
        test = ranks % 2 == held_out
        fitting[specimen] = table[~test].reset_index(drop=True)
        testing[specimen] = table[test].reset_index(drop=True)
    return fitting, testing


def interpolated_counts(
    fitting: Mapping[int, pd.DataFrame], held_out: Mapping[int, pd.DataFrame]
) -> pd.DataFrame:
    """The neuron-free reference prediction: the fitted half's counts interpolated.

    Per cell, the median count of each distinct amplitude of the fitting half (repeats within
    `SAME_AMPLITUDE_PA` are one amplitude) is interpolated linearly at the held-out amplitudes,
    rounded to whole spikes; outside the fitted amplitudes it is the count of the nearest end
    (no extrapolation). A model that predicts no better than this has learned nothing the
    counts next to a sweep do not already say.

    Parameters
    ----------
    fitting, held_out : mapping
        Specimen -> its sweeps of that half (``sweep``, ``amplitude_pA``, ``spike_count``),
        as `split_alternate_amplitudes` returns them.

    Returns
    -------
    pandas.DataFrame
        One row per held-out sweep of a cell that has fitted sweeps: ``specimen_id``,
        ``sweep``, ``amplitude_pA``, ``interpolated_spike_count``.
    """
    rows = []
    for specimen, table in held_out.items():
        known = fitting.get(specimen)
        if known is None or known.empty or table.empty:
            continue
        amplitudes = known.amplitude_pA.to_numpy(dtype=float)
        ranks = _amplitude_ranks(amplitudes)
        medians = known.spike_count.groupby(ranks).median()
        at = known.amplitude_pA.groupby(ranks).mean()
        predicted = np.interp(table.amplitude_pA.to_numpy(dtype=float), at, medians)
        rows.append(
            pd.DataFrame(
                {
                    "specimen_id": specimen,
                    "sweep": table.sweep.to_numpy(),
                    "amplitude_pA": table.amplitude_pA.to_numpy(dtype=float),
                    "interpolated_spike_count": np.round(predicted),
                }
            )
        )
    columns = ["specimen_id", "sweep", "amplitude_pA", "interpolated_spike_count"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def _amplitude_ranks(amplitudes_pa: np.ndarray) -> np.ndarray:
    """Rank of each sweep's amplitude among the cell's distinct amplitudes (0 = lowest)."""
    order = np.sort(np.unique(amplitudes_pa))
    distinct = order[np.concatenate([[True], np.diff(order) > SAME_AMPLITUDE_PA])]
    # an amplitude belongs to the last distinct value at or below it (within the tolerance)
    return np.searchsorted(distinct, amplitudes_pa + SAME_AMPLITUDE_PA, side="right") - 1


def first_sweep_of_each_amplitude(table: pd.DataFrame) -> pd.Series:
    """Which sweeps are the first (lowest sweep number) of their cell at their amplitude.

    Cells drift during a recording: Allen's repeats of an amplitude, recorded later, often fire
    far fewer spikes than the first sweep at that amplitude (e.g. 8 spikes at 210 pA in sweep
    50, then 1, 1, 1, 0 in sweeps 65-79 of specimen 485931158). No fixed neuron predicts both;
    scoring the first sweeps separately tells a model's error from the cell's drift.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per sweep: ``specimen_id``, ``sweep``, ``amplitude_pA``.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``table``.
    """
    rounded = (table.amplitude_pA / (2 * SAME_AMPLITUDE_PA)).round()
    first = table.groupby([table.specimen_id, rounded]).sweep.transform("min")
    return table.sweep == first


def first_ascending_series(table: pd.DataFrame) -> pd.Series:
    """Which sweeps come before the cell's protocol first steps back down in amplitude.

    Allen's long squares rise in steps, then go back to lower amplitudes (repeats near rheobase
    and the hero sweep, finer steps) minutes later. Cells run down meanwhile: a cell that fired
    6 and 11 spikes at 50 and 70 pA in its rising series may fire none at 50, 70 and 80 pA
    afterwards (specimen 469793303), so that later sweeps at *new* amplitudes show the drift
    too, which `first_sweep_of_each_amplitude` cannot see. Taking each cell's sweeps in sweep
    order, the series ends at the first positive step lower (by more than `SAME_AMPLITUDE_PA`)
    than a positive step before it; that sweep and every later one, of whatever amplitude, are
    out. A negative or zero step never ends the series.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per sweep: ``specimen_id``, ``sweep``, ``amplitude_pA``.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``table``.
    """
    # positions, not labels: a table concatenated from several may repeat index labels
    ordered = table.reset_index(drop=True).sort_values(["specimen_id", "sweep"], kind="stable")
    positive = ordered.amplitude_pA.where(ordered.amplitude_pA > 0)
    highest = positive.groupby(ordered.specimen_id).cummax()
    stepped_down = (highest - positive > SAME_AMPLITUDE_PA).groupby(ordered.specimen_id).cummax()
    return pd.Series(~stepped_down.sort_index().to_numpy(dtype=bool), index=table.index)


def score_spike_counts(
    table: pd.DataFrame, columns: Sequence[str], measured: str = "spike_count"
) -> pd.DataFrame:
    """Spike-count errors of models on the same sweeps, on the sweeps where the cell spiked.

    Sweeps where the cell stayed silent are left out of the error statistics: nearly any model
    is exact on them, and they would make every median 0. A sweep a model lacks (NaN) is
    refused: models are compared on the same sweeps only.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per sweep: ``specimen_id``, the measured count and one count column per model.
    columns : sequence of str
        The models' count columns.
    measured : str
        The measured count column.

    Returns
    -------
    pandas.DataFrame
        One row per model (indexed by column): ``cells``, ``spiking_sweeps``, ``median_error``,
        ``mean_error``, ``within_1``, ``within_3`` (fractions of spiking sweeps with
        |error| <= 1 and <= 3 spikes), ``over_cells``, ``under_cells`` (fractions of cells whose
        error sum is positive or negative, `error_signs`) and ``same_sign`` (the larger of the
        two).
    """
    missing = [c for c in columns if table[c].isna().any()]
    if missing:
        raise ValueError(f"model columns {missing} lack some sweeps: compare on the same sweeps")
    spiking = table[table[measured] > 0]
    rows = {}
    for column in columns:
        error = (spiking[column] - spiking[measured]).abs()
        signs = error_signs(table, column, measured).sign
        over, under = float((signs > 0).mean()), float((signs < 0).mean())
        rows[column] = {
            "cells": int(table.specimen_id.nunique()),
            "spiking_sweeps": len(spiking),
            "median_error": float(error.median()),
            "mean_error": float(error.mean()),
            "within_1": float((error <= 1).mean()),
            "within_3": float((error <= 3).mean()),
            "over_cells": over,
            "under_cells": under,
            "same_sign": max(over, under),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def error_signs(table: pd.DataFrame, column: str, measured: str = "spike_count") -> pd.DataFrame:
    """The direction of each cell's spike-count error over all its sweeps.

    Every sweep counts, silent ones included: a model firing where the cell stayed silent
    over-predicts as much as one firing too often on a spiking sweep.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per sweep: ``specimen_id``, the measured and the model's counts.
    column : str
        The model's count column.
    measured : str
        The measured count column.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``specimen_id``: ``signed_error`` (sum of model - cell), ``mean_abs_error``
        (on the cell's spiking sweeps; NaN without one) and ``sign`` (+1 over-predicts, -1
        under-predicts, 0 exact in sum).
    """
    difference = table[column] - table[measured]
    spiking = table[measured] > 0
    grouped = pd.DataFrame(
        {
            "specimen_id": table.specimen_id,
            "signed_error": difference,
            "abs_spiking": difference.abs().where(spiking),
        }
    ).groupby("specimen_id")
    result = pd.DataFrame(
        {
            "signed_error": grouped.signed_error.sum(),
            "mean_abs_error": grouped.abs_spiking.mean(),
        }
    )
    result["sign"] = np.sign(result.signed_error).astype(int)
    return result
