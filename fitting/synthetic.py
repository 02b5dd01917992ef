"""Synthetic cells: neurons with known parameters, measured like Allen's cells.

A synthetic cell is a parameter set of a catalogue model, "recorded" on Allen's long-square
protocol: its rheobase is found on Allen's 10 pA grid, its sweeps are simulated on Allen's
amplitude grid around it (`fitting.targets.allen_grid`), and its features come from the same
analysis code as real cells. Fitting them back tests whether a fit recovers known parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from brian2 import ms, pA, second

from ahp_models import long_square, model_for_params, simulate
from ahp_models.parameters import ParameterSet
from analysis.population_features import population_cell_features, population_sweep_features
from fitting.targets import FEATURES, SWEEP_COLUMNS, CellTargets, allen_grid

__all__ = ["SyntheticCell", "record_cells"]

ONSET_S, WIDTH_S = 0.02, 1.0
RHEOBASE_SEARCH_PA = np.arange(10.0, 1010.0, 10.0)


@dataclass(frozen=True)
class SyntheticCell:
    """A synthetic cell: its true parameters and what Allen's protocol measures on it."""

    parameters: ParameterSet
    targets: CellTargets


def _spike_counts(params: ParameterSet, amplitudes_pa: np.ndarray, dt_ms: float) -> pd.DataFrame:
    """Simulate every (cell, amplitude) pair of a stacked parameter set; return sweep features."""
    stimulus = long_square(
        amplitudes_pa * pA,
        onset=ONSET_S * second,
        width=WIDTH_S * second,
        duration=(ONSET_S + WIDTH_S) * second,
        dt=dt_ms * ms,
    )
    result = simulate(model_for_params(params), params, stimulus, backend="cpp_standalone")
    return population_sweep_features(
        result.spike_neuron, result.spike_time_s, amplitudes_pa.size, ONSET_S, ONSET_S + WIDTH_S
    )


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
    counts = _spike_counts(search, np.tile(RHEOBASE_SEARCH_PA, n_cells), dt_ms)
    spiking = counts.spike_count.to_numpy().reshape(n_cells, repeat) > 0
    if not spiking.any(axis=1).all():
        raise ValueError("a synthetic cell does not spike below 1 nA; choose other parameters")
    rheobases = RHEOBASE_SEARCH_PA[np.argmax(spiking, axis=1)]
    grids = np.stack([allen_grid(r) for r in rheobases])
    recorded = type(params).concatenate([params], repeat=grids.shape[1])
    sweeps = _spike_counts(recorded, grids.ravel(), dt_ms)
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
