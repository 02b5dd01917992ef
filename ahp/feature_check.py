"""Registers vs the cell they were fitted to: Allen's features of the cell, its float fit and
its registers side by side.

The fit is judged by how close its features come to the cell's (`fitting.quality`); the
registers should lose nothing of that. For every mapped cell the registers run on Allen's
grid around the cell's rheobase (`ahp.cell_mapping.feature_protocol`), and each feature is
judged with the fit's own tolerances against the cell's value, beside the float fit's own
verdict from the fit results table.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from brian2 import ms

from ahp.cell_mapping import MappedCell, feature_protocol
from fitting.quality import features_missed
from hardware_mapping.neuron_mapping import MappingError
from hardware_mapping.validation import CELL_FEATURES, cell_features

__all__ = ["feature_summary", "has_cell_features", "register_features"]


def register_features(
    fits: pd.DataFrame,
    mapped: Mapping[str, MappedCell],
    *,
    dt_ms: float = 1.0,
    backend: str = "cpp_standalone",
) -> pd.DataFrame:
    """Per cell and feature: the cell's value, the fit's and the registers', and whether each
    is within the fit's tolerance of the cell's.

    Parameters
    ----------
    fits : pandas.DataFrame
        The fit results table (``cell_<feature>`` and ``model_<feature>`` columns).
    mapped : mapping
        Neuron name -> its `MappedCell` (``provenance["specimen_id"]`` finds its row).
    dt_ms : float
        Hardware step.
    backend : str
        Brian2 backend of the float runs.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``neuron``, ``specimen_id`` and per feature ``cell_``, ``fit_``,
        ``float_`` (the float neuron at the hardware step), ``registers_`` values and
        ``fit_within_``, ``float_within_``, ``registers_within_`` (NaN where the cell lacks
        the feature).
    """
    missing = _missing_columns(fits)
    if missing:
        raise MappingError(
            f"the fit results table lacks {', '.join(missing)}: the registers' features cannot "
            "be compared with the cell's (a table written by `ahp fit` has them)"
        )
    rows = fits.set_index("specimen_id")
    names = [n for n, c in mapped.items() if c.provenance.get("specimen_id") in rows.index]
    protocols = {n: feature_protocol(rows.loc[mapped[n].provenance["specimen_id"]]) for n in names}
    names = [n for n in names if protocols[n].size]
    if not names:
        return pd.DataFrame()
    table = cell_features(
        {n: mapped[n].params for n in names},
        {n: mapped[n].mapping for n in names},
        protocols,
        dt=dt_ms * ms,
        backend=backend,
    ).set_index("neuron")
    result = []
    for name in names:
        specimen = mapped[name].provenance["specimen_id"]
        row = {"neuron": name, "specimen_id": specimen}
        for feature in CELL_FEATURES:
            cell = float(rows.loc[specimen, f"cell_{feature}"])
            row[f"cell_{feature}"] = cell
            row[f"fit_{feature}"] = float(rows.loc[specimen, f"model_{feature}"])
            row[f"float_{feature}"] = table.loc[name, f"float_{feature}"]
            row[f"registers_{feature}"] = table.loc[name, f"registers_{feature}"]
            for source in ("fit", "float", "registers"):
                row[f"{source}_within_{feature}"] = _within(feature, row[f"{source}_{feature}"],
                                                            cell)  # fmt: skip
        result.append(row)
    return pd.DataFrame(result)


def has_cell_features(fits: pd.DataFrame) -> bool:
    """Whether a fit results table holds the cells' and the fits' Allen features."""
    return not _missing_columns(fits)


def _missing_columns(fits: pd.DataFrame) -> list[str]:
    wanted = {f"{side}_{feature}" for side in ("cell", "model") for feature in CELL_FEATURES}
    return sorted(wanted - set(fits.columns))


def feature_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Fractions of cells within tolerance per feature, fit vs registers.

    Parameters
    ----------
    table : pandas.DataFrame
        `register_features` rows.

    Returns
    -------
    pandas.DataFrame
        One row per feature: ``cells`` (that have it), ``fit_within`` (the fit, at its own
        step), ``float_within`` (the float neuron at the hardware step), ``registers_within``,
        ``difference`` (registers - fit) and ``quantization`` (registers - float at the same
        step), in fractions.
    """
    rows = []
    for feature in CELL_FEATURES:
        row = {"feature": feature}
        for source in ("fit", "float", "registers"):
            judged = table[f"{source}_within_{feature}"].dropna().astype(bool)
            row["cells"] = len(judged)
            row[f"{source}_within"] = float(judged.mean()) if len(judged) else np.nan
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary["difference"] = summary["registers_within"] - summary["fit_within"]
    summary["quantization"] = summary["registers_within"] - summary["float_within"]
    return summary


def _within(feature: str, value: float, cell: float) -> float:
    """1.0 / 0.0 within the fit's tolerance of the cell's value; NaN if the cell lacks it."""
    if not np.isfinite(cell):
        return np.nan
    return float(not features_missed({feature: value}, {feature: cell}))
