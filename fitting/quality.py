"""How well fits reproduce their cells: the fractions of cells within tolerance, per species.

The tolerances are those the fitting is judged by: adaptation index within 0.02
(absolute), f-I slope and average ISI within 10 %, rheobase within 10 pA. The denominator of
each fraction is every cell of the selection that has the measured feature, fitted or not: a
cell that could not be fitted, or whose model lacks the feature (fewer than three spikes for an
adaptation index), counts as a miss.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["CRITERIA", "features_missed", "features_within", "fit_quality", "within_tolerance"]

#: feature -> (kind, tolerance): "abs" in the feature's unit, or "rel" as a fraction.
CRITERIA = {
    "adaptation": ("abs", 0.02),
    "f_i_curve_slope": ("rel", 0.10),
    "avg_isi": ("rel", 0.10),
    "threshold_i_long_square": ("abs", 10.0),
}


def features_missed(
    model: Mapping[str, float], cell: Mapping[str, float], scale: float = 1.0
) -> list[str]:
    """The `CRITERIA` features where a model lies outside the tolerance of a cell.

    Parameters
    ----------
    model, cell : mapping
        Feature -> value; a feature the cell lacks (NaN or absent) is not judged, one the model
        lacks where the cell has it is a miss.
    scale : float
        Multiplies every tolerance (below 1: a margin inside the acceptance tolerances).

    Returns
    -------
    list of str
        The missed features, in `CRITERIA` order.
    """
    missed = []
    for feature, (kind, tolerance) in CRITERIA.items():
        measured = float(cell.get(feature, np.nan))
        if np.isnan(measured):
            continue
        limit = scale * (tolerance * abs(measured) if kind == "rel" else tolerance)
        if not abs(float(model.get(feature, np.nan)) - measured) <= limit:
            missed.append(feature)
    return missed


def features_within(
    model: Mapping[str, float], cell: Mapping[str, float], scale: float = 1.0
) -> bool:
    """Whether a model's features lie within every `CRITERIA` tolerance (times ``scale``) of a
    cell's (`features_missed` is empty)."""
    return not features_missed(model, cell, scale)


def within_tolerance(results: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Per cell and feature: within tolerance (True/False), or NaN where the cell lacks it.

    Parameters
    ----------
    results : pandas.DataFrame
        A fit results table (``specimen_id``, ``status``, ``model_<feature>``).
    cells : pandas.DataFrame
        The selection that was fitted (`analysis.allen_tables.load_cells` rows): the measured
        features and ``species``.

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``species`` and one column per `CRITERIA` feature (object dtype:
        True, False or NaN).
    """
    fitted = results[results.status == "fitted"].set_index("specimen_id")
    table = cells[["specimen_id", "species"]].copy()
    for feature, (kind, tolerance) in CRITERIA.items():
        measured = cells[feature].to_numpy(dtype=float)
        model = (
            fitted[f"model_{feature}"].reindex(cells.specimen_id).to_numpy(dtype=float)
            if f"model_{feature}" in fitted
            else np.full(len(cells), np.nan)
        )
        limit = tolerance * np.abs(measured) if kind == "rel" else tolerance
        good = np.abs(model - measured) <= limit  # NaN model: False, a miss
        table[feature] = pd.Series(good, dtype=object).where(~np.isnan(measured), np.nan).values
    return table


def fit_quality(results: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Fractions of cells within tolerance per species and overall.

    Parameters
    ----------
    results, cells : pandas.DataFrame
        As for `within_tolerance`.

    Returns
    -------
    pandas.DataFrame
        Index: species and ``all``. Columns per feature: ``n_<feature>`` (cells that have the
        measured feature) and ``frac_<feature>`` (the fraction of them within tolerance); and
        ``n_cells``, ``n_fitted``.
    """
    verdicts = within_tolerance(results, cells)
    fitted = set(results.specimen_id[results.status == "fitted"])
    rows = {}
    groups = [
        (s, verdicts[verdicts.species == s]) for s in sorted(verdicts.species.dropna().unique())
    ]
    for name, group in [*groups, ("all", verdicts)]:
        row = {"n_cells": len(group), "n_fitted": int(group.specimen_id.isin(fitted).sum())}
        for feature in CRITERIA:
            known = group[feature].dropna()
            row[f"n_{feature}"] = len(known)
            row[f"frac_{feature}"] = float(known.astype(bool).mean()) if len(known) else np.nan
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("species")
