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

from ahp_models.stimuli import MAX_STIMULUS_PA
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
    table = _read_csv(path)
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise AllenTableError(f"{path}: missing column(s) {missing}; needs {list(REQUIRED)}")
    table = _checked_sweeps(path, table, "amp_pA", "n_spikes")
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
    table = _read_csv(path)
    required = ("specimen_id", "amplitude_pA", "spike_count")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise AllenTableError(f"{path}: missing column(s) {missing}; needs {list(required)}")
    known = {*required, *SWEEP_COLUMNS}
    unknown = sorted(set(table.columns) - known)
    if unknown:
        raise AllenTableError(f"{path}: unknown column(s) {unknown}; allowed: {sorted(known)}")
    numbers = _checked_sweeps(path, table, "amplitude_pA", "spike_count")
    numbers = numbers.apply(pd.to_numeric, errors="coerce")
    return {
        int(specimen): cell.drop(columns="specimen_id").reset_index(drop=True)
        for specimen, cell in numbers.groupby("specimen_id", sort=False)
    }


#: Most spikes a 1 s long square can hold (5 kHz: beyond any neuron).
MAX_SPIKES_PER_SWEEP = 5000


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as err:  # empty, not UTF-8, ragged
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AllenTableError(f"{path}: cannot be read as a table ({reason})") from None


def _checked_sweeps(path: Path, table: pd.DataFrame, amplitude: str, count: str) -> pd.DataFrame:
    """The table with whole specimen ids; every row's amplitude and spike count checked."""
    specimens = pd.to_numeric(table["specimen_id"], errors="coerce")
    amplitudes = pd.to_numeric(table[amplitude], errors="coerce")
    counts = pd.to_numeric(table[count], errors="coerce")
    checks = (
        ("specimen_id", "a whole number > 0",
         specimens.notna() & (specimens % 1 == 0) & (specimens > 0) & (specimens < 2**53)),
        (amplitude, f"a finite current within +-{MAX_STIMULUS_PA:g} pA",
         amplitudes.abs() <= MAX_STIMULUS_PA),
        (count, f"a whole number from 0 to {MAX_SPIKES_PER_SWEEP}",
         (counts % 1 == 0) & (counts >= 0) & (counts <= MAX_SPIKES_PER_SWEEP)),
    )  # fmt: skip
    for column, allowed, good in checks:
        if not good.all():
            row = int((~good).to_numpy().nonzero()[0][0])
            raise AllenTableError(
                f"{path}: row {row + 2}: {column} = {table[column].iloc[row]!r}; allowed: {allowed}"
            )
    return table.assign(specimen_id=specimens.astype("int64"))


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
