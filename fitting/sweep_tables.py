"""Per-sweep long-square summaries (``osb_longsquare_sweeps.csv`` layout) as fitting input."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from analysis.allen_tables import AllenTableError

__all__ = ["read_sweep_summaries"]

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
