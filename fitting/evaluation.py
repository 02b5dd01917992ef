"""Fitted (and Allen's GLIF3) neurons re-run on a cell's measured long squares.

Allen's long square is a 1 s step; spikes are counted in the step window, both ends included,
as Allen counts them (`analysis.sweep_features`). Every (cell, sweep) pair is one neuron of a
single compiled C++ standalone population.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from brian2 import ms, pA, second

from ahp_models import Glif3Params, long_square, model_for_params, simulate
from ahp_models.parameters import ParameterSet
from analysis.population_features import population_sweep_features
from fitting.targets import ONSET_S, WIDTH_S

__all__ = ["glif3_sweep_counts", "model_sweep_counts", "simulate_long_squares"]


def simulate_long_squares(
    params: ParameterSet, amplitudes_pa: np.ndarray, dt_ms: float
) -> pd.DataFrame:
    """Simulate one 1 s long square per neuron of a stacked parameter set.

    Parameters
    ----------
    params : ParameterSet
        One neuron per amplitude (or shared values).
    amplitudes_pa : numpy.ndarray
        Step amplitude (pA) of each neuron.
    dt_ms : float
        Simulation step.

    Returns
    -------
    pandas.DataFrame
        One row per neuron: the sweep features of `population_sweep_features`.
    """
    amplitudes_pa = np.asarray(amplitudes_pa, dtype=float)
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


def _counts(
    parameter_sets: Mapping[int, ParameterSet],
    sweeps: Mapping[int, pd.DataFrame],
    dt_ms: float,
    column: str,
) -> pd.DataFrame:
    cells = [s for s in parameter_sets if s in sweeps and len(sweeps[s])]
    if not cells:
        return pd.DataFrame(columns=["specimen_id", "sweep", "amplitude_pA", column])
    stacked = type(parameter_sets[cells[0]]).concatenate(
        [
            type(parameter_sets[s]).concatenate([parameter_sets[s]], repeat=len(sweeps[s]))
            for s in cells
        ]
    )
    amplitudes = np.concatenate([sweeps[s].amplitude_pA.to_numpy(dtype=float) for s in cells])
    features = simulate_long_squares(stacked, amplitudes, dt_ms)
    return pd.DataFrame(
        {
            "specimen_id": np.repeat(cells, [len(sweeps[s]) for s in cells]),
            "sweep": np.concatenate([sweeps[s].sweep.to_numpy() for s in cells]),
            "amplitude_pA": amplitudes,
            column: features.spike_count.to_numpy(),
        }
    )


def model_sweep_counts(
    results: pd.DataFrame,
    sweeps: Mapping[int, pd.DataFrame],
    params_class: type[ParameterSet],
    dt_ms: float = 0.1,
) -> pd.DataFrame:
    """Spike counts of fitted neurons on their cells' measured sweeps.

    Parameters
    ----------
    results : pandas.DataFrame
        A fit results table (`fitting.batch.fit_database`); rows not ``fitted`` are ignored.
    sweeps : mapping
        Specimen -> table with ``sweep`` and ``amplitude_pA``.
    params_class : type
        The fitted model's parameter class (e.g. `LifAhpParams`).
    dt_ms : float
        Simulation step (the fit's).

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``sweep``, ``amplitude_pA``, ``model_spike_count``.
    """
    fitted = results[results.status == "fitted"]
    sets = {
        int(row.specimen_id): params_class.from_row(row.to_dict(), source="fit results")
        for _, row in fitted.iterrows()
    }
    return _counts(sets, sweeps, dt_ms, "model_spike_count")


def glif3_sweep_counts(
    glif_table: pd.DataFrame, sweeps: Mapping[int, pd.DataFrame]
) -> pd.DataFrame:
    """Spike counts of Allen's GLIF3 fits on the same sweeps, at the fits' own time step.

    Parameters
    ----------
    glif_table : pandas.DataFrame
        ``glif_teeter2018_params_summary.csv``; its level-3 rows are used.
    sweeps : mapping
        Specimen -> table with ``sweep`` and ``amplitude_pA``.

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``sweep``, ``amplitude_pA``, ``glif3_spike_count`` for the cells that
        have a GLIF3 fit.
    """
    level3 = glif_table[glif_table.glif_level == 3]
    steps = level3.dt_s.unique()
    if steps.size > 1:
        raise ValueError(f"GLIF3 rows use several time steps {sorted(steps)}; expected one")
    sets = {
        int(row.specimen_id): Glif3Params.from_allen(row)
        for _, row in level3.iterrows()
        if int(row.specimen_id) in sweeps
    }
    return _counts(sets, sweeps, float(steps[0]) * 1e3 if steps.size else 0.1, "glif3_spike_count")
