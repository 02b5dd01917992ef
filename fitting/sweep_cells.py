"""Cells fitted from their sweeps alone: the feature-table row a cell's sweeps give.

A cell with long squares (a sweep table, `fitting.sweep_tables`, or an NWB file,
`fitting.nwb`) but no row in Allen's feature table gets that row computed from its sweeps with
Allen's own rules (`analysis.long_square.features_of_sweep_table`): rheobase and f-I slope
from the spike counts, and the hero sweep's adaptation index, mean ISI and latency where the
sweeps hold those per-sweep features (NaN otherwise, as in Allen's table: the fit then leaves
those terms out; Allen's spike-count layout has none of them).

The passive properties (``vrest``, ``ri``, ``tau``) the fit takes as measured come from a
passive table (`read_passive_table`) when it lists the cell: it wins. Otherwise a cell read
from NWB files takes those its own recordings give (Allen's definitions,
`analysis.subthreshold`; ``attrs["passive"]`` of `fitting.nwb.long_square_sweeps`). A sweep
table of spike counts holds no voltages: a cell that has neither is recorded as unfittable with
the reason. Each row's ``passive_source`` says which (`fitting.targets.PASSIVE_TABLE`,
`fitting.targets.RECORDINGS` or `fitting.targets.NO_PASSIVE`; ``passive_reason`` says why the
recordings gave none). Species, Cre line, dendrite type, layer and area,
which only Allen's specimen table knows, come from the passive table's optional columns, else
they are `analysis.allen_tables.UNKNOWN`, so that such cells form their own group in the
report instead of passing for mouse or human. Each row's ``targets_source`` is
`fitting.targets.SWEEPS`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from brian2 import second

from analysis.allen_tables import UNKNOWN, AllenTableError, check_feature_units
from analysis.long_square import features_of_sweep_table
from analysis.spike_trains import SpikeTrainError
from analysis.subthreshold import PassiveProperties
from fitting.targets import (
    FEATURES,
    NO_PASSIVE,
    PASSIVE,
    PASSIVE_TABLE,
    RECORDINGS,
    SWEEPS,
    WIDTH_S,
)

__all__ = ["CLASS_COLUMNS", "SPECIES", "cells_from_sweeps", "read_passive_table"]

#: Cell classes of the specimen table (names as `analysis.allen_tables.load_cells` gives them).
CLASS_COLUMNS = ("species", "layer", "dendrite_type", "cre_line", "area")
#: Species a passive table may name (as ``ahp fit --species`` selects them).
SPECIES = ("mouse", "human")


def read_passive_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read the passive properties (and cell classes) of cells fitted from their sweeps alone.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file: ``specimen_id``, ``vrest`` (mV), ``ri`` (MOhm), ``tau`` (ms), Allen's names
        and units (an empty value: that cell is unfittable, with the reason), and optionally
        `CLASS_COLUMNS` (``species`` one of `SPECIES`; empty values become ``unknown``).

    Returns
    -------
    pandas.DataFrame
        One row per specimen, indexed by ``specimen_id``: the passive properties as floats and
        every `CLASS_COLUMNS` column.

    Raises
    ------
    AllenTableError
        For a missing or unreadable file, a missing or unknown column, a specimen id that is not
        a whole number > 0 or is repeated, a passive value impossible in its unit (as Allen's
        feature table is checked), or an unknown species.
    """
    path = Path(path)
    if not path.is_file():
        raise AllenTableError(f"{path}: no such file")
    try:  # class labels stay text: layer "5" must not become 5.0
        table = pd.read_csv(path, dtype={c: str for c in CLASS_COLUMNS})
    except (OSError, ValueError, pd.errors.ParserError) as err:  # empty, not UTF-8, ragged
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AllenTableError(f"{path}: cannot be read as a table ({reason})") from None
    required = ["specimen_id", *PASSIVE]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise AllenTableError(f"{path}: missing column(s) {missing}; needs {required}")
    unknown = sorted(set(table.columns) - {*required, *CLASS_COLUMNS})
    if unknown:
        raise AllenTableError(
            f"{path}: unknown column(s) {unknown}; allowed: {[*required, *CLASS_COLUMNS]}"
        )
    ids = pd.to_numeric(table.specimen_id, errors="coerce")
    whole = ids.notna() & (ids % 1 == 0) & (ids > 0) & (ids < 2**53)
    if not whole.all():
        row = int(np.flatnonzero(~whole)[0])
        value = table.specimen_id.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value  # 5.5, not np.float64
        raise AllenTableError(
            f"{path}: row {row + 2}: specimen_id = {value!r}; allowed: a whole number > 0"
        )
    table["specimen_id"] = ids.astype("int64")
    repeated = table.specimen_id[table.specimen_id.duplicated()]
    if len(repeated):
        raise AllenTableError(f"{path}: specimen {repeated.iloc[0]} is listed twice")
    table = check_feature_units(table, PASSIVE, path)
    for column in CLASS_COLUMNS:
        labels = table[column].str.strip() if column in table else pd.Series(pd.NA, table.index)
        table[column] = labels.replace("", pd.NA).fillna(UNKNOWN)
    wrong = sorted(set(table.species) - {*SPECIES, UNKNOWN})
    if wrong:
        raise AllenTableError(
            f"{path}: column 'species' holds {wrong}; allowed: {list(SPECIES)} or empty"
        )
    return table.set_index("specimen_id")[[*PASSIVE, *CLASS_COLUMNS]]


def _step_width(sweeps: pd.DataFrame):
    """Each sweep's step width: an NWB table's own window, else Allen's 1 s step."""
    if {"stimulus_start_s", "stimulus_end_s"} <= set(sweeps.columns):
        return (sweeps.stimulus_end_s - sweeps.stimulus_start_s).to_numpy(dtype=float) * second
    return WIDTH_S * second


def _recorded_passive(sweeps: pd.DataFrame) -> tuple[dict[str, float], str, str]:
    """The passive properties a cell's recordings give, their source and why they are missing."""
    recorded = sweeps.attrs.get("passive")
    if not isinstance(recorded, PassiveProperties):
        return dict.fromkeys(PASSIVE, np.nan), NO_PASSIVE, ""
    values = {"vrest": recorded.vrest_mv, "ri": recorded.ri_mohm, "tau": recorded.tau_ms}
    if all(np.isfinite(list(values.values()))):
        return values, RECORDINGS, ""
    return values, NO_PASSIVE, recorded.reason or "no usable long square"


def cells_from_sweeps(
    sweeps: Mapping[int, pd.DataFrame], passive: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Feature-table rows of cells computed from their sweeps.

    Parameters
    ----------
    sweeps : mapping
        Specimen -> its sweeps (`fitting.sweep_tables.read_sweep_table` or
        `fitting.nwb.read_nwb_folder` tables; the latter carry the passive properties of their
        recordings in ``attrs["passive"]``).
    passive : pandas.DataFrame, optional
        `read_passive_table`: the passive properties of the cells it lists (rather than those
        of their recordings). Cells it does not list get ``unknown`` classes and the passive
        properties of their recordings, else NaN (unfittable, with the reason, when fitted).

    Returns
    -------
    pandas.DataFrame
        One row per specimen, in increasing id order, with the columns of
        `analysis.allen_tables.load_cells` that fitting reads (``specimen_id``, the
        `CLASS_COLUMNS`, the `fitting.targets.FEATURES`, ``vrest``, ``ri``, ``tau``),
        ``targets_source`` = `fitting.targets.SWEEPS`, ``passive_source`` and
        ``passive_reason`` (see the module text). A cell whose sweeps give no feature
        (no sweep at all) has NaN features; `fitting.targets.CellTargets.from_row` names why.
    """
    passive = passive if passive is not None else pd.DataFrame(columns=[*PASSIVE, *CLASS_COLUMNS])
    rows = []
    for specimen in sorted(sweeps):
        table = sweeps[specimen]
        try:
            features = features_of_sweep_table(table, _step_width(table)).cell.to_dict()
        except SpikeTrainError:  # e.g. no usable sweep: the targets' check gives the reason
            features = {}
        known = passive.loc[specimen] if specimen in passive.index else None
        row = {"specimen_id": int(specimen)}
        row |= {c: UNKNOWN if known is None else known[c] for c in CLASS_COLUMNS}
        row |= {f: float(features.get(f, np.nan)) for f in FEATURES}
        if known is not None:
            values, source = {p: float(known[p]) for p in PASSIVE}, PASSIVE_TABLE
            empty = [p for p, value in values.items() if np.isnan(value)]
            reason = f"{', '.join(empty)} empty in the --passive table" if empty else ""
        else:
            values, source, reason = _recorded_passive(table)
        row |= values | {"passive_source": source, "passive_reason": reason}
        rows.append(row | {"targets_source": SWEEPS})
    columns = [
        "specimen_id",
        *CLASS_COLUMNS,
        *FEATURES,
        *PASSIVE,
        "targets_source",
        "passive_source",
        "passive_reason",
    ]
    return pd.DataFrame(rows, columns=columns)
