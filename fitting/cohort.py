"""The built-in default cohort: synthetic cells with known parameters, mouse and human.

Sixteen `lif_ahp` cells (``fitting/data/default_cohort.csv``, one row per cell with its
parameters and a description), eight per species, chosen so that their Allen features span the
real ranges of Allen's table (`REFERENCE_RANGES`, the 5-95 % intervals of Allen's table): fast-
spiking cells without adaptation, regular-spiking cells with fast (50-80 ms) and slow (1-2 s)
AHPs, weakly to strongly adapting cells, low and high input resistances. Recorded on Allen's
long-square protocol (`fitting.synthetic.record_cells`: rheobase on the 10 pA grid, sweeps on
Allen's amplitude grid, every per-sweep feature an NWB recording gives), they are what the
pipeline runs on without downloads, and the report compares the fits with the true parameters.
No Allen data is in them: every number comes from the parameters in the CSV.
"""

from __future__ import annotations

import hashlib
import io
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ahp_models import LifAhpParams
from ahp_models.files import atomic_write_text
from fitting.synthetic import record_cells, write_allen_tables

__all__ = [
    "COHORT_FILE",
    "REFERENCE_RANGES",
    "cohort_fingerprint",
    "cohort_parameters",
    "default_cohort",
    "write_cohort",
]

COHORT_FILE = "cohort.csv"
#: Computed from Allen's table: feature -> species -> (5 %, median, 95 %).
REFERENCE_RANGES: dict[str, dict[str, tuple[float, float, float]]] = {
    "adaptation": {"mouse": (-0.008, 0.023, 0.228), "human": (0.002, 0.055, 0.624)},
    "avg_isi": {"mouse": (9.5, 59.0, 144.0), "human": (7.8, 74.0, 298.0)},
    "f_i_curve_slope": {"mouse": (0.026, 0.21, 1.15), "human": (0.009, 0.11, 0.56)},
    "threshold_i_long_square": {"mouse": (30.0, 110.0, 350.0), "human": (30.0, 120.0, 410.0)},
    "tau": {"mouse": (6.0, 16.4, 36.0), "human": (10.0, 24.1, 44.9)},
    "ri": {"mouse": (77.0, 167.0, 339.0), "human": (40.0, 118.0, 340.0)},
}
#: Description columns of the cohort table (the rest are `LifAhpParams.to_row` columns).
DESCRIPTION_COLUMNS = ("specimen_id", "name", "species", "dendrite_type", "description")


def _cohort_text() -> str:
    return resources.files("fitting").joinpath("data/default_cohort.csv").read_text("utf-8")


def default_cohort() -> pd.DataFrame:
    """The default cohort's table: one row per cell, its description and true parameters.

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``name``, ``species``, ``dendrite_type``, ``description`` and the
        parameters as `LifAhpParams.to_row` columns (``E_L_mV``, ``tau_ahp_ms``, ...).
    """
    return pd.read_csv(io.StringIO(_cohort_text()))


def cohort_parameters(table: pd.DataFrame) -> LifAhpParams:
    """The cells of a cohort table as one `LifAhpParams` population (one value per cell).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of `default_cohort`.

    Returns
    -------
    LifAhpParams
        One neuron per row.
    """
    cells = [LifAhpParams.from_row(row, source="default cohort") for _, row in table.iterrows()]
    return LifAhpParams.concatenate(cells)


def cohort_fingerprint(dt_ms: float) -> str:
    """A short hash of the cohort's definition and recording step (what its files depend on)."""
    return hashlib.sha256(f"{_cohort_text()}\ndt_ms={dt_ms!r}".encode()).hexdigest()[:16]


def write_cohort(folder: str | os.PathLike, *, dt_ms: float = 0.1) -> Path:
    """Record the default cohort on Allen's protocol and write it as Allen tables.

    Writes `fitting.synthetic.write_allen_tables`'s files (feature and specimen tables, true
    parameters, per-sweep features) and ``cohort.csv`` (names and descriptions).

    Parameters
    ----------
    folder : str or os.PathLike
        Output folder (created).
    dt_ms : float
        Simulation step of the recording.

    Returns
    -------
    pathlib.Path
        The folder; `analysis.allen_tables.load_cells` reads it, and
        `fitting.sweep_tables.read_sweep_features` its ``long_square_sweeps.csv``.
    """
    table = default_cohort()
    metadata = [
        {"species": row.species, "dendrite_type": row.dendrite_type} for row in table.itertuples()
    ]
    cells = record_cells(
        cohort_parameters(table),
        np.asarray(table.specimen_id),
        dt_ms=dt_ms,
        metadata=metadata,
    )
    folder = write_allen_tables(cells, folder)
    atomic_write_text(folder / COHORT_FILE, table[list(DESCRIPTION_COLUMNS)].to_csv(index=False))
    return folder
