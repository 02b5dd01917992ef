"""Per-sweep long-square tables as fitting input.

Two layouts: Allen's per-sweep spike counts (``osb_longsquare_sweeps.csv``) and the toolkit's
own per-sweep features (``long_square_sweeps.csv``, one row per sweep: ``specimen_id``,
``amplitude_pA``, ``spike_count`` and any of `fitting.targets.SWEEP_COLUMNS`), which synthetic
cells are written in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from analysis.allen_tables import AllenTableError
from fitting.targets import SWEEP_COLUMNS

__all__ = ["read_sweep_features", "read_sweep_summaries", "read_sweep_table"]

REQUIRED = ("specimen_id", "source_dir", "sweep", "amp_pA", "n_spikes")


def read_sweep_summaries(path: str | os.PathLike) -> dict[int, pd.DataFrame]:
    """Read per-sweep summaries into one table per specimen.

    The file lists some cells twice (``source_dir`` "data" and "bulk_analysis", the latter
    without ISI columns); the "data" copy is used where both exist, and repeated sweep numbers
    are kept once. Amplitudes keep their stored float noise (29.999998 pA), as Allen's own
    analysis does.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.

    Returns
    -------
    dict of int to pandas.DataFrame
        Specimen -> ``sweep``, ``amplitude_pA``, ``spike_count``, in sweep order.
    """
    path = Path(path)
    if not path.is_file():
        raise AllenTableError(f"{path}: no such file")
    table = pd.read_csv(path)
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise AllenTableError(f"{path}: missing column(s) {missing}; needs {list(REQUIRED)}")
    counts = pd.to_numeric(table.n_spikes, errors="coerce")
    amplitudes = pd.to_numeric(table.amp_pA, errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts % 1 != 0) | amplitudes.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise AllenTableError(
            f"{path}: row {row + 2} (specimen {table.specimen_id.iloc[row]}, sweep "
            f"{table.sweep.iloc[row]}): n_spikes must be a whole number >= 0 and amp_pA a number"
        )
    result = {}
    for specimen, cell in table.groupby("specimen_id"):
        source = "data" if (cell.source_dir == "data").any() else cell.source_dir.iloc[0]
        cell = cell[cell.source_dir == source].drop_duplicates("sweep").sort_values("sweep")
        result[int(specimen)] = pd.DataFrame(
            {
                "sweep": cell.sweep.to_numpy(),
                "amplitude_pA": cell.amp_pA.astype(float).to_numpy(),
                "spike_count": cell.n_spikes.astype(float).to_numpy(),
            }
        )
    return result


def read_sweep_features(path: str | os.PathLike) -> dict[int, pd.DataFrame]:
    """Read a per-sweep feature table (``long_square_sweeps.csv``) into one table per specimen.

    Values are checked when a cell's targets are built (`fitting.targets.CellTargets.from_row`:
    counts whole and >= 0, times within the step, adaptation indices in [-1, 1]).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file: ``specimen_id``, ``amplitude_pA``, ``spike_count`` and optionally
        ``latency_s``, ``first_isi_s``, ``mean_isi_s``, ``adaptation_index``.

    Returns
    -------
    dict of int to pandas.DataFrame
        Specimen -> its sweeps in file order.
    """
    path = Path(path)
    if not path.is_file():
        raise AllenTableError(f"{path}: no such file")
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise AllenTableError(f"{path}: cannot be read as a table ({err})") from None
    required = ("specimen_id", "amplitude_pA", "spike_count")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise AllenTableError(f"{path}: missing column(s) {missing}; needs {list(required)}")
    known = {*required, *SWEEP_COLUMNS}
    unknown = sorted(set(table.columns) - known)
    if unknown:
        raise AllenTableError(f"{path}: unknown column(s) {unknown}; allowed: {sorted(known)}")
    numbers = table.apply(pd.to_numeric, errors="coerce")
    bad = numbers[list(required)].isna().any(axis=1)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise AllenTableError(
            f"{path}: row {row + 2}: specimen_id, amplitude_pA and spike_count must be numbers"
        )
    return {
        int(specimen): cell.drop(columns="specimen_id").reset_index(drop=True)
        for specimen, cell in numbers.groupby("specimen_id", sort=False)
    }


def read_sweep_table(path: str | os.PathLike) -> dict[int, pd.DataFrame]:
    """Read either per-sweep layout, told apart by its columns (``amp_pA``: Allen's).

    Parameters
    ----------
    path : str or os.PathLike
        An ``osb_longsquare_sweeps.csv`` or a ``long_square_sweeps.csv`` file.

    Returns
    -------
    dict of int to pandas.DataFrame
        Specimen -> its sweeps (`read_sweep_summaries` or `read_sweep_features`).
    """
    path = Path(path)
    if not path.is_file():
        raise AllenTableError(f"{path}: no such file")
    try:
        columns = pd.read_csv(path, nrows=0).columns
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise AllenTableError(f"{path}: cannot be read as a table ({err})") from None
    if "amp_pA" in columns:
        return read_sweep_summaries(path)
    return read_sweep_features(path)
