"""Synthetic cells: neurons with known parameters, measured like Allen's cells.

A synthetic cell is a parameter set of a catalogue model, "recorded" on Allen's long-square
protocol: its rheobase is found on Allen's 10 pA grid, its sweeps are simulated on Allen's
amplitude grid around it (`fitting.targets.allen_grid`), and its features come from the same
analysis code as real cells. Fitting them back tests whether a fit recovers known parameters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from brian2 import Mohm, ms, mV, pA

from ahp_models import LifAhpParams
from ahp_models.files import atomic_write_text
from ahp_models.parameters import ParameterSet
from analysis.allen_tables import FEATURE_FILE, SPECIMEN_FILE
from analysis.population_features import population_cell_features
from fitting.evaluation import simulate_long_squares
from fitting.targets import FEATURES, SWEEP_COLUMNS, CellTargets, allen_grid

__all__ = [
    "SWEEP_FILE",
    "TRUTH_FILE",
    "SyntheticCell",
    "draw_lif_ahp_cells",
    "record_cells",
    "write_allen_tables",
]

RHEOBASE_SEARCH_PA = np.arange(10.0, 1010.0, 10.0)
#: Species names of Allen's specimen table.
ALLEN_SPECIES = {"mouse": "Mus musculus", "human": "Homo sapiens"}
TRUTH_FILE = "true_parameters.csv"
SWEEP_FILE = "long_square_sweeps.csv"


@dataclass(frozen=True)
class SyntheticCell:
    """A synthetic cell: its true parameters and what Allen's protocol measures on it."""

    parameters: ParameterSet
    targets: CellTargets


def record_cells(
    params: ParameterSet,
    specimen_ids: np.ndarray,
    *,
    dt_ms: float = 0.1,
    metadata: list[dict] | None = None,
    sweep_columns: tuple[str, ...] = tuple(SWEEP_COLUMNS),
) -> list[SyntheticCell]:
    """Record synthetic cells on Allen's protocol.

    Parameters
    ----------
    params : ParameterSet
        One value per cell (``n_cells`` neurons) of a model with ``E_L``, ``R`` and ``tau_m``.
    specimen_ids : numpy.ndarray
        An id per cell.
    dt_ms : float
        Simulation step.
    metadata : list of dict, optional
        Per-cell metadata (species, class...) for the targets.
    sweep_columns : tuple of str
        Per-sweep features recorded besides the spike count (`fitting.targets.SWEEP_COLUMNS`;
        all by default, as an NWB recording gives them).

    Returns
    -------
    list of SyntheticCell
        The cells, with their measured features, passive properties (E_L, R, tau_m as Allen's
        vrest, ri, tau) and per-sweep spike counts and ``sweep_columns``.
    """
    n_cells = params.n_neurons or 1
    specimen_ids = np.asarray(specimen_ids)
    repeat = RHEOBASE_SEARCH_PA.size
    # Allen's rheobase: the lowest 10 pA step with a spike in the 1 s window
    search = type(params).concatenate([params], repeat=repeat)
    counts = simulate_long_squares(search, np.tile(RHEOBASE_SEARCH_PA, n_cells), dt_ms)
    spiking = counts.spike_count.to_numpy().reshape(n_cells, repeat) > 0
    if not spiking.any(axis=1).all():
        raise ValueError("a synthetic cell does not spike below 1 nA; choose other parameters")
    rheobases = RHEOBASE_SEARCH_PA[np.argmax(spiking, axis=1)]
    grids = np.stack([allen_grid(r) for r in rheobases])
    recorded = type(params).concatenate([params], repeat=grids.shape[1])
    sweeps = simulate_long_squares(recorded, grids.ravel(), dt_ms)
    cells = population_cell_features(sweeps, grids)
    p = params.si_arrays(n_cells)
    result = []
    for k in range(n_cells):
        rows = slice(k * grids.shape[1], (k + 1) * grids.shape[1])
        targets = CellTargets(
            specimen_id=int(specimen_ids[k]),
            features={f: float(cells[f].iloc[k]) for f in FEATURES},
            vrest_mV=float(p["E_L"][k] * 1e3),
            ri_MOhm=float(p["R"][k] / 1e6),
            tau_ms=float(p["tau_m"][k] * 1e3),
            sweeps=pd.DataFrame(
                {
                    "amplitude_pA": grids[k],
                    **{c: sweeps[c].to_numpy()[rows] for c in ("spike_count", *sweep_columns)},
                }
            ),
            metadata=(metadata or [{}] * n_cells)[k],
        )
        one = type(params)(
            **{name: _row(getattr(params, name), k, n_cells) for name in params.specs()}
        )
        result.append(SyntheticCell(one, targets))
    return result


def _row(value, k: int, n_cells: int):
    """Value of cell k of a (possibly shared) field."""
    array = np.asarray(value)
    if array.ndim == 0 or (array.ndim >= 1 and array.shape[0] != n_cells):
        return value
    return value[k]


def draw_lif_ahp_cells(n_cells: int, seed: int) -> LifAhpParams:
    """Draw LIF neurons with one AHP current whose ranges cover Allen's cortical cells.

    Passive values follow Allen's mouse medians and spread (tau 10-30 ms, ri
    100-300 MOhm, rest -75 to -65 mV); thresholds lie 12-25 mV above rest, resets 5-15 mV below
    threshold, refractory periods 1-4 ms. AHP time constants are log-uniform in 50-2000 ms and
    increments uniform in 0-40 pA, which gives hero-sweep adaptation indices from about 0 to
    0.3 (and a few cells too adapted for three spikes in the hero sweep, as in Allen's data).

    Parameters
    ----------
    n_cells : int
        Number of cells.
    seed : int
        Seed of the draw.

    Returns
    -------
    LifAhpParams
        One value per cell.
    """
    rng = np.random.default_rng(seed)
    tau_ahp_ms = np.exp(rng.uniform(np.log(50.0), np.log(2000.0), n_cells))
    rest_mv = rng.uniform(-75.0, -65.0, n_cells)
    resistance_mohm = rng.uniform(100.0, 300.0, n_cells)
    tau_m_ms = rng.uniform(10.0, 30.0, n_cells)
    threshold_mv = rest_mv + rng.uniform(12.0, 25.0, n_cells)
    reset_mv = threshold_mv - rng.uniform(5.0, 15.0, n_cells)
    return LifAhpParams(
        E_L=rest_mv * mV,
        R=resistance_mohm * Mohm,
        tau_m=tau_m_ms * ms,
        V_th=threshold_mv * mV,
        V_reset=reset_mv * mV,
        t_ref=np.round(rng.uniform(1.0, 4.0, n_cells), 1) * ms,
        tau_ahp=tau_ahp_ms * ms,
        b_ahp=rng.uniform(0.0, 40.0, n_cells) * pA,
    )


def write_allen_tables(cells: list[SyntheticCell], folder: str | os.PathLike) -> Path:
    """Write synthetic cells as Allen's two tables, so every Allen tool reads them.

    The feature table has allensdk's column names and units; the specimen table gives each
    cell the species and dendrite type of its metadata (mouse and spiny where it has none) and
    Cre line ``synthetic``. The cells' true parameters go to ``true_parameters.csv`` beside them
    (`ParameterSet.to_row` columns), to compare fits with, and their recorded sweeps to
    ``long_square_sweeps.csv`` (`fitting.sweep_tables.read_sweep_features` reads it back).

    Parameters
    ----------
    cells : list of SyntheticCell
        The cells (`record_cells`).
    folder : str or os.PathLike
        Output folder (created).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [c.targets.specimen_id for c in cells]
    features = pd.DataFrame([c.targets.features for c in cells])
    features["specimen_id"] = ids
    features["vrest"] = [c.targets.vrest_mV for c in cells]
    features["ri"] = [c.targets.ri_MOhm for c in cells]
    features["tau"] = [c.targets.tau_ms for c in cells]
    species = [c.targets.metadata.get("species", "mouse") for c in cells]
    unknown = sorted(set(species) - set(ALLEN_SPECIES))
    if unknown:
        raise ValueError(f"synthetic cells of species {unknown}; allowed: {sorted(ALLEN_SPECIES)}")
    specimens = pd.DataFrame(
        {
            "specimen__id": ids,
            "donor__species": [ALLEN_SPECIES[s] for s in species],
            "structure__layer": "5",
            "tag__dendrite_type": [c.targets.metadata.get("dendrite_type", "spiny") for c in cells],
            "line_name": "synthetic",
            "structure_parent__acronym": "VISp",
        }
    )
    truth = pd.DataFrame([c.parameters.to_row() for c in cells])
    truth.insert(0, "specimen_id", ids)
    sweeps = pd.concat(
        [c.targets.sweeps.assign(specimen_id=c.targets.specimen_id) for c in cells],
        ignore_index=True,
    )
    sweeps = sweeps[["specimen_id", *(c for c in sweeps.columns if c != "specimen_id")]]
    for name, table in (
        (FEATURE_FILE, features),
        (SPECIMEN_FILE, specimens),
        (TRUTH_FILE, truth),
        (SWEEP_FILE, sweeps),
    ):
        atomic_write_text(folder / name, table.to_csv(index=False))
    return folder
