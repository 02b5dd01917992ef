"""The Allen Cell Types tables: electrophysiology features and specimen details, joined.

Reads the two tables as allensdk writes them (``CellTypesCache.get_ephys_features()`` and the
``cells.json`` / ApiCellTypesSpecimenDetail specimen table), as CSV or JSON records; checks the
columns it needs and that values lie in ranges that are possible in the documented units (a
latency in milliseconds instead of seconds is a real trap of older releases); joins them on the
specimen id; and summarises features by species and cell class.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ahp_models.errors import UserError

__all__ = [
    "FEATURE_FILE",
    "FEATURE_UNITS",
    "SPECIMEN_FILE",
    "AllenTableError",
    "adaptation_summary",
    "check_feature_units",
    "feature_quantiles",
    "load_cells",
    "read_ephys_features",
    "read_specimens",
    "select",
]

FEATURE_FILE = "allen_ephys_features.csv"
SPECIMEN_FILE = "allen_cell_types_specimen_details.csv"

#: Features used by the toolkit: unit, and the range possible in that unit (NaN is allowed).
FEATURE_UNITS: dict[str, tuple[str, float, float]] = {
    "adaptation": ("1", -1.0, 1.0),  # |norm_diff| <= 1 by definition
    "avg_isi": ("ms", 0.0, 1000.0),  # inside a 1 s step
    "latency": ("s", 0.0, 1.0),  # inside a 1 s step
    "f_i_curve_slope": ("spikes/s/pA", -np.inf, np.inf),
    "threshold_i_long_square": ("pA", -1000.0, 10000.0),
    "tau": ("ms", 0.1, 1000.0),
    "ri": ("MOhm", 0.0, 100000.0),
    "vrest": ("mV", -150.0, 50.0),
}

#: Specimen columns (allensdk names) and the names used here.
SPECIMEN_COLUMNS = {
    "specimen__id": "specimen_id",
    "donor__species": "species",
    "structure__layer": "layer",
    "tag__dendrite_type": "dendrite_type",
    "line_name": "cre_line",
    "structure_parent__acronym": "area",
}
#: Where `load_cells` looks, in this order: the toolkit's names (CSV, or the JSON records that
#: `fitting.allen_api` caches), then allensdk ``CellTypesCache``'s own file names.
FEATURE_FILES = (FEATURE_FILE, "allen_ephys_features.json", "ephys_features.csv")
SPECIMEN_FILES = (SPECIMEN_FILE, "allen_cell_types_specimen_details.json", "cells.json")
SPECIES = {"Mus musculus": "mouse", "Homo Sapiens": "human", "Homo sapiens": "human"}


class AllenTableError(UserError):
    """An Allen table that is missing, malformed, or holds values in the wrong units."""


def _read_table(path: str | os.PathLike, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise AllenTableError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".json":
            return pd.read_json(path, orient="records", dtype={c: str for c in text_columns})
        # class labels stay text: layer "5" must not become 5.0 when a value is missing
        return pd.read_csv(path, dtype={c: str for c in text_columns})
    except (ValueError, pd.errors.ParserError) as err:
        raise AllenTableError(f"{path}: cannot be read as a table ({err})") from None


def _require(table: pd.DataFrame, columns: Iterable[str], path: str | os.PathLike) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise AllenTableError(
            f"{path}: missing column(s) {missing}; the table must hold {sorted(columns)}"
        )


def read_ephys_features(path: str | os.PathLike) -> pd.DataFrame:
    """Read Allen's ``ephys_features`` table and check the features' units.

    Parameters
    ----------
    path : str or os.PathLike
        CSV or JSON (records) file.

    Returns
    -------
    pandas.DataFrame
        The table, with float feature columns (units: `FEATURE_UNITS`).

    Raises
    ------
    AllenTableError
        For a missing file or column, a non-numeric feature or a value impossible in the
        documented unit (the message names the column, specimen and value).
    """
    table = _read_table(path)
    _require(table, ["specimen_id", *FEATURE_UNITS], path)
    return check_feature_units(table, FEATURE_UNITS, path)


def check_feature_units(
    table: pd.DataFrame, columns: Iterable[str], path: str | os.PathLike
) -> pd.DataFrame:
    """Check feature columns against the ranges possible in their units (`FEATURE_UNITS`).

    Parameters
    ----------
    table : pandas.DataFrame
        A table with ``specimen_id`` and the columns.
    columns : iterable of str
        `FEATURE_UNITS` names to check.
    path : str or os.PathLike
        The table's file, for messages.

    Returns
    -------
    pandas.DataFrame
        The table, with those columns as floats (NaN where empty).

    Raises
    ------
    AllenTableError
        For a value that is not a number or impossible in the documented unit (the message
        names the column, specimen and value).
    """
    for column in columns:
        unit, low, high = FEATURE_UNITS[column]
        values = pd.to_numeric(table[column], errors="coerce")
        bad_type = values.isna() & table[column].notna()
        if bad_type.any():
            row = int(np.flatnonzero(bad_type)[0])
            raise AllenTableError(
                f"{path}: column {column!r}, specimen {table.specimen_id.iloc[row]}: "
                f"{table[column].iloc[row]!r} is not a number"
            )
        outside = values.notna() & ~((values >= low) & (values <= high) & np.isfinite(values))
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise AllenTableError(
                f"{path}: column {column!r} (unit {unit}), specimen "
                f"{table.specimen_id.iloc[row]}: {values.iloc[row]:g} is outside [{low:g}, "
                f"{high:g}] {unit}; is the column in another unit (e.g. ms instead of s)?"
            )
        table[column] = values.astype(float)
    return table


def read_specimens(path: str | os.PathLike) -> pd.DataFrame:
    """Read Allen's specimen table and keep the columns that classify cells.

    Parameters
    ----------
    path : str or os.PathLike
        CSV or JSON (records) file with allensdk's column names.

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``species`` (``mouse`` or ``human``), ``layer``, ``dendrite_type``,
        ``cre_line``, ``area``.
    """
    labels = [c for c in SPECIMEN_COLUMNS if c != "specimen__id"]
    table = _read_table(path, text_columns=labels)
    _require(table, SPECIMEN_COLUMNS, path)
    table = table[list(SPECIMEN_COLUMNS)].rename(columns=SPECIMEN_COLUMNS)
    unknown = sorted(set(table.species.dropna()) - set(SPECIES))
    if unknown:
        raise AllenTableError(
            f"{path}: column 'donor__species' holds {unknown}; known: {sorted(SPECIES)}"
        )
    table["species"] = table.species.map(SPECIES)
    return table


def _find(folder: Path, names: Sequence[str]) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise AllenTableError(f"{folder}: no such file: none of {list(names)} found")


def load_cells(directory: str | os.PathLike) -> pd.DataFrame:
    """Join the feature and specimen tables of a folder on the specimen id.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder holding a feature table (`FEATURE_FILES`) and a specimen table
        (`SPECIMEN_FILES`), CSV or JSON records.

    Returns
    -------
    pandas.DataFrame
        One row per cell present in both tables: the specimen columns, then the features.
        ``attrs["only_in_features"]`` and ``attrs["only_in_specimens"]`` count the cells found
        in one table only.
    """
    folder = Path(directory)
    features = read_ephys_features(_find(folder, FEATURE_FILES))
    specimens = read_specimens(_find(folder, SPECIMEN_FILES))
    for name, table in (("features", features), ("specimens", specimens)):
        ids = pd.to_numeric(table.specimen_id, errors="coerce")
        if ids.isna().any() or (ids % 1 != 0).any():
            row = int(np.flatnonzero(ids.isna() | (ids % 1 != 0))[0])
            raise AllenTableError(
                f"{folder}: the {name} table has specimen id {table.specimen_id.iloc[row]!r}; "
                "ids must be whole numbers"
            )
        table["specimen_id"] = ids.astype("int64")
        duplicated = table.specimen_id[table.specimen_id.duplicated()]
        if len(duplicated):
            raise AllenTableError(
                f"{folder}: the {name} table lists specimen {duplicated.iloc[0]} twice"
            )
    cells = specimens.merge(features, on="specimen_id", how="inner", validate="one_to_one")
    # cells in only one table cannot be analysed; they are counted, not silently dropped
    cells.attrs["only_in_features"] = int((~features.specimen_id.isin(cells.specimen_id)).sum())
    cells.attrs["only_in_specimens"] = int((~specimens.specimen_id.isin(cells.specimen_id)).sum())
    return cells


def select(
    cells: pd.DataFrame,
    *,
    species: str | Sequence[str] | None = None,
    layer: str | Sequence[str] | None = None,
    dendrite_type: str | Sequence[str] | None = None,
    cre_line: str | Sequence[str] | None = None,
    area: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Keep the cells matching every given criterion (each a value or a list of values).

    Parameters
    ----------
    cells : pandas.DataFrame
        Output of `load_cells`.
    species, layer, dendrite_type, cre_line, area : str or sequence of str, optional
        Allowed values of that column.

    Returns
    -------
    pandas.DataFrame
        The matching rows.
    """
    mask = pd.Series(True, index=cells.index)
    criteria = {
        "species": species,
        "layer": layer,
        "dendrite_type": dendrite_type,
        "cre_line": cre_line,
        "area": area,
    }
    for column, allowed in criteria.items():
        if allowed is None:
            continue
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)
        unknown = sorted(set(allowed) - set(cells[column].dropna().astype(str)))
        if unknown:
            raise AllenTableError(
                f"{column} {unknown} matches no cell; present: "
                f"{sorted(cells[column].dropna().astype(str).unique())[:20]}"
            )
        mask &= cells[column].astype(str).isin(allowed)
    return cells[mask]


#: Label of cells without a value in a grouping column (e.g. human cells have no Cre line).
UNKNOWN = "unknown"


def _groups(cells: pd.DataFrame, by: str):
    """Groups of cells by a column; cells without a value form the group `UNKNOWN`."""
    if by not in cells.columns:
        raise AllenTableError(f"cannot group by {by!r}; columns: {sorted(cells.columns)}")
    if cells.empty:
        raise AllenTableError(f"no cells to group by {by!r}")
    return cells.groupby(cells[by].astype(object).fillna(UNKNOWN), sort=True)


def adaptation_summary(
    cells: pd.DataFrame, thresholds: Sequence[float] = (0.05, 0.1), by: str = "species"
) -> pd.DataFrame:
    """Fractions of adapting cells, among the cells with a defined adaptation index.

    Parameters
    ----------
    cells : pandas.DataFrame
        Output of `load_cells` (or a selection of it).
    thresholds : sequence of float
        AI levels; a column ``frac_ai_gt_<level>`` each.
    by : str
        Grouping column.

    Returns
    -------
    pandas.DataFrame
        Per group: ``n_cells``, ``n_with_ai``, ``median_ai`` and the fractions.
    """
    rows = []
    for group, members in _groups(cells, by):
        defined = members.adaptation.dropna()
        row = {
            by: group,
            "n_cells": len(members),
            "n_with_ai": len(defined),
            "median_ai": float(defined.median()) if len(defined) else float("nan"),
        }
        for level in thresholds:
            row[f"frac_ai_gt_{level:g}"] = (
                float((defined > level).mean()) if len(defined) else float("nan")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def feature_quantiles(
    cells: pd.DataFrame,
    features: Sequence[str] = (
        "adaptation",
        "avg_isi",
        "f_i_curve_slope",
        "threshold_i_long_square",
        "tau",
        "ri",
    ),
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    by: str = "species",
) -> pd.DataFrame:
    """Quantiles of features per group (a reference table of the database).

    Parameters
    ----------
    cells : pandas.DataFrame
        Output of `load_cells`.
    features : sequence of str
        Feature columns.
    quantiles : sequence of float
        Quantile levels.
    by : str
        Grouping column.

    Returns
    -------
    pandas.DataFrame
        One row per (group, feature) with the unit and a column per quantile (``q05``...).
    """
    unknown = sorted(set(features) - set(FEATURE_UNITS))
    if unknown:
        raise AllenTableError(f"unknown feature(s) {unknown}; known: {sorted(FEATURE_UNITS)}")
    rows = []
    for group, members in _groups(cells, by):
        for feature in features:
            values = members[feature].dropna()
            row = {
                by: group,
                "feature": feature,
                "unit": FEATURE_UNITS[feature][0],
                "n": len(values),
            }
            row.update({f"q{round(q * 100):02d}": float(values.quantile(q)) for q in quantiles})
            rows.append(row)
    return pd.DataFrame(rows)
