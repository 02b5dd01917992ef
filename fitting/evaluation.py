"""Fitted (and Allen's GLIF3) neurons re-run on a cell's measured long squares.

Allen's long square is a 1 s step; spikes are counted in the step window, both ends included,
as Allen counts them (`analysis.sweep_features`). Every (cell, sweep) pair is one neuron of a
single compiled C++ standalone population.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from brian2 import ms, pA, second

from ahp_models import Glif3Params, long_square, model_for_params, simulate
from ahp_models.parameters import ParameterSet
from analysis.population_features import population_sweep_features
from fitting.space import space_for
from fitting.targets import ONSET_S, WIDTH_S

__all__ = [
    "fitted_parameters",
    "glif3_sweep_counts",
    "model_sweep_counts",
    "simulate_cells",
    "simulate_long_squares",
]


def simulate_long_squares(
    params: ParameterSet, amplitudes_pa: np.ndarray, dt_ms: float, width_s: float = WIDTH_S
) -> pd.DataFrame:
    """Simulate one long square (1 s unless told) per neuron of a stacked parameter set.

    Parameters
    ----------
    params : ParameterSet
        One neuron per amplitude (or shared values).
    amplitudes_pa : numpy.ndarray
        Step amplitude (pA) of each neuron.
    dt_ms : float
        Simulation step.
    width_s : float
        The step's width (s); it starts after the fit's short pre-step
        (`fitting.targets.ONSET_S`), and the features are those of the step's window.

    Returns
    -------
    pandas.DataFrame
        One row per neuron: the sweep features of `population_sweep_features`.
    """
    amplitudes_pa = np.asarray(amplitudes_pa, dtype=float)
    stimulus = long_square(
        amplitudes_pa * pA,
        onset=ONSET_S * second,
        width=width_s * second,
        duration=(ONSET_S + width_s) * second,
        dt=dt_ms * ms,
    )
    result = simulate(model_for_params(params), params, stimulus, backend="cpp_standalone")
    return population_sweep_features(
        result.spike_neuron, result.spike_time_s, amplitudes_pa.size, ONSET_S, ONSET_S + width_s
    )


def fitted_parameters(row: Mapping[str, Any]) -> ParameterSet:
    """The fitted neuron of one results row, of the fittable model the row names.

    Parameters
    ----------
    row : mapping
        A ``fitted`` row of a results table; columns of other models (NaN in a table mixing
        ``lif_ahp`` and ``lif_multi_ahp`` rows) are ignored.

    Returns
    -------
    ParameterSet
        The validated parameters.
    """
    present = {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
    params_class = space_for(str(row["model"])).model().params_class
    return params_class.from_row(present, source="fit results")


def simulate_cells(
    parameter_sets: Mapping[int, ParameterSet],
    amplitudes_pa: Mapping[int, np.ndarray],
    dt_ms: float,
    width_s: float = WIDTH_S,
) -> pd.DataFrame:
    """Long squares of several fitted cells, one compiled population per model.

    Parameters
    ----------
    parameter_sets : mapping
        Specimen -> its neuron (one value per parameter).
    amplitudes_pa : mapping
        Specimen -> step amplitudes (pA) to simulate.
    dt_ms : float
        Simulation step.
    width_s : float
        The steps' width (s), as for `simulate_long_squares`.

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``amplitude_pA`` and the sweep features of
        `simulate_long_squares`, in the order of ``parameter_sets`` and of each cell's
        amplitudes.
    """
    by_model: dict[type, list[int]] = {}
    for specimen, params in parameter_sets.items():
        by_model.setdefault(type(params), []).append(specimen)
    parts = []
    for params_class, cells in by_model.items():
        sizes = [len(amplitudes_pa[s]) for s in cells]
        stacked = params_class.concatenate(
            [
                params_class.concatenate([parameter_sets[s]], repeat=n)
                for s, n in zip(cells, sizes, strict=True)
            ]
        )
        amplitudes = np.concatenate([np.asarray(amplitudes_pa[s], dtype=float) for s in cells])
        features = simulate_long_squares(stacked, amplitudes, dt_ms, width_s)
        features.insert(0, "amplitude_pA", amplitudes)
        features.insert(0, "specimen_id", np.repeat(cells, sizes))
        parts.append(features)
    order = {specimen: k for k, specimen in enumerate(parameter_sets)}
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values("specimen_id", key=lambda c: c.map(order), kind="stable").reset_index(
        drop=True
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
    features = simulate_cells(
        {s: parameter_sets[s] for s in cells},
        {s: sweeps[s].amplitude_pA.to_numpy(dtype=float) for s in cells},
        dt_ms,
    )
    return pd.DataFrame(
        {
            "specimen_id": features.specimen_id.to_numpy(),
            "sweep": np.concatenate([sweeps[s].sweep.to_numpy() for s in cells]),
            "amplitude_pA": features.amplitude_pA.to_numpy(),
            column: features.spike_count.to_numpy(),
        }
    )


def model_sweep_counts(
    results: pd.DataFrame, sweeps: Mapping[int, pd.DataFrame], dt_ms: float = 0.1
) -> pd.DataFrame:
    """Spike counts of fitted neurons on their cells' measured sweeps.

    Parameters
    ----------
    results : pandas.DataFrame
        A fit results table (`fitting.batch.fit_database`); rows not ``fitted`` are ignored,
        each fitted row is rebuilt as the model it names (`fitted_parameters`).
    sweeps : mapping
        Specimen -> table with ``sweep`` and ``amplitude_pA``.
    dt_ms : float
        Simulation step (the fit's).

    Returns
    -------
    pandas.DataFrame
        ``specimen_id``, ``sweep``, ``amplitude_pA``, ``model_spike_count``.
    """
    fitted = results[results.status == "fitted"]
    sets = {int(row.specimen_id): fitted_parameters(row.to_dict()) for _, row in fitted.iterrows()}
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
