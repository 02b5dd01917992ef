"""What a fit must reproduce for one cell: Allen's features, passive properties, sweeps.

A `CellTargets` is built from one row of the joined Allen tables (`analysis.allen_tables`), and
optionally from per-sweep spike counts (``osb_longsquare_sweeps.csv`` or an NWB file); a cell
without a row in Allen's feature table gets one computed from its sweeps
(`fitting.sweep_cells`), marked by its ``targets_source``. Cells that cannot be fitted raise
`UnfittableCell` naming the reason; whole-database runs record that reason instead of fitting
(nothing is silently skipped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FEATURES",
    "FEATURE_TABLE",
    "GRID_SWEEPS",
    "SWEEPS",
    "SWEEP_COLUMNS",
    "CellTargets",
    "UnfittableCell",
    "allen_grid",
]

#: The fitted features: Allen's column name -> unit.
FEATURES = {
    "threshold_i_long_square": "pA",
    "f_i_curve_slope": "spikes/s/pA",
    "avg_isi": "ms",
    "latency": "s",
    "adaptation": "1",
}
#: Allen's long square as simulated: a 1 s step; a LIF at rest does nothing before the step,
#: so the pre-step stays short.
ONSET_S, WIDTH_S = 0.02, 1.0
#: Passive properties taken from Allen's table: column -> unit.
PASSIVE = {"vrest": "mV", "ri": "MOhm", "tau": "ms"}
#: Where a cell's targets come from (a row's ``targets_source``, carried into the results):
#: Allen's feature table, or the cell's sweeps alone (`fitting.sweep_cells`).
FEATURE_TABLE, SWEEPS = "feature_table", "sweeps"
#: Where a cell's passive properties come from (a row's ``passive_source``, carried into the
#: results): Allen's feature table, the cell's own recordings (`analysis.subthreshold`), a
#: passive table (`fitting.sweep_cells.read_passive_table`), or nowhere.
RECORDINGS, PASSIVE_TABLE, NO_PASSIVE = "recordings", "passive_table", "none"
#: Row columns carried into the results table as they are.
METADATA = (
    "species",
    "cre_line",
    "dendrite_type",
    "layer",
    "area",
    "targets_source",
    "passive_source",
)


class UnfittableCell(ValueError):
    """A cell lacks what a fit needs (e.g. no rheobase or no passive properties)."""


@dataclass(frozen=True)
class CellTargets:
    """Targets of one cell.

    Attributes
    ----------
    specimen_id : int
        Allen specimen id.
    features : dict of str to float
        `FEATURES` values in Allen's units; NaN where Allen has none (that term is left out).
    vrest_mV, ri_MOhm, tau_ms : float
        Allen's resting potential, input resistance and membrane time constant.
    sweeps : pandas.DataFrame or None
        Measured long squares if available: ``amplitude_pA``, ``spike_count`` (spikes in the
        1 s step) and optionally the `SWEEP_COLUMNS` (``latency_s`` after the step's onset,
        first and mean ISI in s, adaptation index; NaN where undefined or unmeasured), each fitted
        where given (`fitting.objective.SWEEP_TERMS`).
    metadata : dict
        Species, Cre line... carried into the results table.
    """

    specimen_id: int
    features: Mapping[str, float]
    vrest_mV: float
    ri_MOhm: float
    tau_ms: float
    sweeps: pd.DataFrame | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rheobase_pA(self) -> float:
        """Allen's rheobase (``threshold_i_long_square``)."""
        return float(self.features["threshold_i_long_square"])

    @classmethod
    def from_row(cls, row: Mapping[str, Any], sweeps: pd.DataFrame | None = None) -> CellTargets:
        """Targets from a row of `analysis.allen_tables.load_cells` (or of
        `fitting.sweep_cells.cells_from_sweeps`).

        Parameters
        ----------
        row : mapping
            The cell's row (features in Allen's units, checked by the table reader); its
            ``targets_source`` (`FEATURE_TABLE` or `SWEEPS`), if any, goes into the metadata.
        sweeps : pandas.DataFrame, optional
            The cell's long squares (``amplitude_pA``, ``spike_count``); required for a row of
            source `SWEEPS`.

        Returns
        -------
        CellTargets
            The targets.

        Raises
        ------
        UnfittableCell
            Without passive properties, a rheobase or at least one spiking feature, or with
            sweeps that cannot be fitted (checked first for a row of source `SWEEPS`).
        """
        specimen = int(row["specimen_id"])
        from_sweeps = row.get("targets_source") == SWEEPS
        if from_sweeps:  # its features come from its sweeps: their faults come first
            if sweeps is None:
                raise UnfittableCell(f"specimen {specimen}: targets from sweeps, but no sweeps")
            sweeps = _check_sweeps(sweeps, specimen)
        passive = {name: float(row.get(name, math.nan)) for name in PASSIVE}
        missing = [name for name, value in passive.items() if not math.isfinite(value)]
        if missing:
            why = row.get("passive_reason")
            if row.get("passive_source") == PASSIVE_TABLE:
                unmeasured = f"its --passive row leaves them empty ({why})"
            elif isinstance(why, str) and why:
                unmeasured = f"its recordings give none: {why}"
            else:
                unmeasured = "its sweeps hold no voltages"
            raise UnfittableCell(
                f"specimen {specimen}: no {', '.join(missing)} "
                + (
                    f"(the cell has no row in Allen's feature table and {unmeasured}; give "
                    "them in a passive table, `ahp fit --passive`)"
                    if from_sweeps
                    else "in Allen's table"
                )
            )
        if not passive["ri"] > 0 or not passive["tau"] > 0:
            raise UnfittableCell(
                f"specimen {specimen}: ri = {passive['ri']:g} MOhm and tau = {passive['tau']:g} "
                "ms must be > 0"
            )
        features = {name: float(row.get(name, math.nan)) for name in FEATURES}
        if not math.isfinite(features["threshold_i_long_square"]):
            raise UnfittableCell(f"specimen {specimen}: no rheobase (threshold_i_long_square)")
        if not features["threshold_i_long_square"] > 0:
            raise UnfittableCell(
                f"specimen {specimen}: rheobase {features['threshold_i_long_square']:g} pA is "
                "not positive; the LIF models fire only for depolarising steps"
            )
        if sweeps is not None and not from_sweeps:
            sweeps = _check_sweeps(sweeps, specimen)
        metadata = {k: row[k] for k in METADATA if k in row}
        return cls(
            specimen, features, passive["vrest"], passive["ri"], passive["tau"], sweeps, metadata
        )

    def protocol_amplitudes(self) -> np.ndarray:
        """Amplitudes (pA) of the cell's long squares as reported: its own sweeps if known,
        else Allen's grid around its rheobase (`allen_grid`)."""
        if self.sweeps is not None:
            return self.sweeps.amplitude_pA.to_numpy(dtype=float)
        return allen_grid(self.rheobase_pA)

    def simulated_amplitudes(self) -> np.ndarray:
        """Amplitudes (pA) a fit simulates: Allen's grid around the rheobase (`allen_grid`,
        `GRID_SWEEPS` steps), on which the model's Allen features are measured, then the
        cell's own sweeps if any, compared sweep by sweep.

        The features are measured on the grid even when sweeps are given: the cell's features
        summarise all its sweeps, and measuring the model's on a subset of them (a held-out
        split, or a file holding some sweeps only) would compare a coarser rheobase and a
        hero sweep at another amplitude with the cell's.
        """
        grid = allen_grid(self.rheobase_pA)
        return grid if self.sweeps is None else np.concatenate([grid, self.protocol_amplitudes()])


#: Optional per-sweep columns: name -> (spikes needed for a value, lowest, highest allowed).
#: Times are in s within the 1 s step, so a value above 1 is a unit error (ms for s).
SWEEP_COLUMNS = {
    "latency_s": (1, 0.0, 1.0),
    "first_isi_s": (2, 0.0, 1.0),
    "mean_isi_s": (2, 0.0, 1.0),
    "adaptation_index": (3, -1.0, 1.0),
}


def _check_sweeps(sweeps: pd.DataFrame, specimen: int) -> pd.DataFrame:
    missing = {"amplitude_pA", "spike_count"} - set(sweeps.columns)
    if missing:
        raise UnfittableCell(f"specimen {specimen}: sweeps lack column(s) {sorted(missing)}")
    if sweeps.empty:
        raise UnfittableCell(f"specimen {specimen}: no usable sweep (the sweep table is empty)")
    optional = [c for c in SWEEP_COLUMNS if c in sweeps.columns]
    sweeps = sweeps[["amplitude_pA", "spike_count", *optional]].astype(float)
    sweeps = sweeps.reset_index(drop=True)
    values = sweeps[["amplitude_pA", "spike_count"]].to_numpy()
    bad = ~np.isfinite(values).all(axis=1) | (sweeps.spike_count < 0)
    if bad.any():
        raise UnfittableCell(
            f"specimen {specimen}: sweep {int(np.flatnonzero(bad)[0])} has a non-finite amplitude "
            "or a negative spike count"
        )
    if not (sweeps.spike_count > 0).any():
        raise UnfittableCell(f"specimen {specimen}: no sweep has a spike")
    for column in optional:
        needed, low, high = SWEEP_COLUMNS[column]
        value = sweeps[column]
        defined = value.notna()
        wrong = (defined & (sweeps.spike_count < needed)) | ~np.isfinite(value) & defined
        wrong |= (value < low) | (value > high)
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            raise UnfittableCell(
                f"specimen {specimen}: sweep {row} has {column}={float(value.iloc[row])!r} with "
                f"{sweeps.spike_count.iloc[row]:g} spikes; allowed: NaN, or with at least "
                f"{needed} spike(s) a value in [{low:g}, {high:g}]"
                + (" (times are in seconds, not ms)" if column != "adaptation_index" else "")
            )
    return sweeps


#: Steps of Allen's grid (`allen_grid`): the first simulated amplitudes of every fitted cell.
GRID_SWEEPS = 11


def allen_grid(rheobase_pa: float) -> np.ndarray:
    """Allen's long-square amplitudes around a rheobase (Allen's electrophysiology white paper).

    Steps run from -110 pA in 20 pA increments to rheobase + 160 pA, and rheobase is refined to
    10 pA; the suprathreshold part and the refinement give: rheobase - 20, rheobase - 10,
    rheobase, and every grid step above rheobase up to rheobase + 160. The hero sweep then falls
    where Allen's did (rheobase + 40 or + 50 depending on the grid's parity).

    Parameters
    ----------
    rheobase_pa : float
        The cell's rheobase (pA).

    Returns
    -------
    numpy.ndarray
        11 amplitudes (pA), increasing.
    """
    grid = np.arange(-110.0, rheobase_pa + 160.5, 20.0)
    # amplitudes are whole pA, Allen's rheobases floats (209.99998 for 210): a grid step within
    # half a pA of the rheobase is the rheobase sweep itself
    above = grid[grid > rheobase_pa + 0.5][:8]
    return np.concatenate([[rheobase_pa - 20.0, rheobase_pa - 10.0, rheobase_pa], above])
