"""Fitted cells on long squares they were not fitted to: spike counts and Allen's sweep features.

Each fitted row of a fit results table is rebuilt as the model it names
(`fitting.evaluation.fitted_parameters`) and run on long squares with the protocol of the fit
(`fitting.evaluation.simulate_cells`): the step follows the fit's short pre-step
(`fitting.targets.ONSET_S`; the models start at rest, so Allen's longer one would change
nothing) and lasts Allen's 1 s unless told otherwise, at the fit's time step. The features of
each sweep are Allen's, in the step window (`analysis.population_features`, checked against
`analysis.sweep_features`): spike count, rate, latency of the first spike after the step's
onset, first and mean ISI, ISI CV and adaptation index (NaN where a sweep has too few spikes).
All cells of one model run as one compiled population.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Quantity, ms, pA

from ahp_models.errors import UserError
from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.quantities import QuantityError, parse_quantity, positive_time_s
from ahp_models.stimuli import ALLEN_LONG_SQUARE_WIDTH, MAX_STEPS, MAX_STIMULUS_PA
from analysis.population_features import POPULATION_SWEEP_COLUMNS
from fitting.engine import FitSettings
from fitting.evaluation import fitted_parameters, simulate_cells
from fitting.targets import ONSET_S

__all__ = [
    "MAX_AMPLITUDES",
    "PREDICTION_COLUMNS",
    "PredictionError",
    "check_amplitudes",
    "predict_cells",
]

#: Most amplitudes per cell: each is one neuron per cell in the simulated population.
MAX_AMPLITUDES = 1000
#: Decimals (pA) amplitudes are rounded to: 1e-9 pA, far below any current a neuron feels.
AMPLITUDE_DECIMALS = 9
#: Columns of `predict_cells`' table (units in the names).
PREDICTION_COLUMNS = ("specimen_id", "model", "amplitude_pA", *POPULATION_SWEEP_COLUMNS)


class PredictionError(UserError):
    """A prediction that cannot be made as asked (no fitted cell, bad amplitudes or duration)."""


def check_amplitudes(amplitudes: Any, field: str = "amplitudes") -> np.ndarray:
    """Check step amplitudes given by a user.

    Parameters
    ----------
    amplitudes : Quantity
        Currents, one or a 1-D array.
    field : str
        Their name in messages (``"--amplitudes"``).

    Returns
    -------
    numpy.ndarray
        The amplitudes in pA, 1-D, rounded to `AMPLITUDE_DECIMALS` (the float noise of the
        conversion from amperes).

    Raises
    ------
    PredictionError
        For values that are not currents, none, more than `MAX_AMPLITUDES`, a value that is
        not finite or beyond `ahp_models.stimuli.MAX_STIMULUS_PA`, or one given twice.
    """
    try:
        values_pa = np.atleast_1d(np.asarray(parse_quantity(amplitudes, "pA", field=field) / pA))
    except QuantityError as err:
        raise PredictionError(str(err)) from None
    # 250 pA is stored as 2.5e-10 A and reads back as 250.00000000000003 pA: that float noise of
    # the unit conversion would show in the table and move the simulated step by one ulp
    values_pa = np.round(values_pa.astype(float), AMPLITUDE_DECIMALS)
    shown = np.array2string(values_pa, threshold=12, separator=", ")
    if values_pa.ndim != 1 or not 1 <= values_pa.size <= MAX_AMPLITUDES:
        raise PredictionError(
            f"{field} = {shown} pA; allowed: 1 to {MAX_AMPLITUDES} amplitudes, a flat list"
        )
    if not (np.abs(values_pa) <= MAX_STIMULUS_PA).all():  # NaN fails too
        raise PredictionError(
            f"{field} = {shown} pA; allowed: finite currents within +-{MAX_STIMULUS_PA:g} pA"
        )
    repeated = values_pa[pd.Series(values_pa).duplicated().to_numpy()]
    if repeated.size:
        raise PredictionError(
            f"{field}: {repeated[0]:g} pA is given twice; allowed: distinct amplitudes"
        )
    return values_pa


def _duration_s(duration: Any, dt_ms: float) -> float:
    """The step's length in s, checked: positive, on the time step, within the step limit."""
    try:
        value_s = positive_time_s(duration, "duration")
    except QuantityError as err:
        raise PredictionError(str(err)) from None
    steps = value_s * 1e3 / dt_ms
    if steps + ONSET_S * 1e3 / dt_ms > MAX_STEPS:
        raise PredictionError(
            f"duration = {duration!r} is {steps:.3g} steps of {dt_ms:g} ms; allowed: at most "
            f"{MAX_STEPS:.0e} steps in all ({MAX_STEPS * dt_ms * 1e-3:g} s)"
        )
    if abs(steps - round(steps)) > 1e-6:
        raise PredictionError(
            f"duration = {duration!r}; allowed: a whole number of time steps of {dt_ms:g} ms"
        )
    return round(steps) * dt_ms * 1e-3


def _fitted_cells(table: pd.DataFrame) -> dict[int, tuple[str, ParameterSet]]:
    """Specimen -> (model name, neuron) of each fitted row, in table order."""
    missing = sorted({"specimen_id", "model"} - set(table.columns))
    if missing:
        raise PredictionError(f"the fit table has no column(s) {missing}")
    fitted = table[table["status"] == "fitted"] if "status" in table.columns else table
    if fitted.empty:
        raise PredictionError(
            f"the fit table has no fitted cell (of {len(table)} rows, none of status 'fitted')"
        )
    cells = {}
    for _, row in fitted.iterrows():
        specimen = int(row["specimen_id"])
        if specimen in cells:
            raise PredictionError(f"specimen {specimen} is fitted twice in the fit table")
        try:
            cells[specimen] = (str(row["model"]), fitted_parameters(row.to_dict()))
        except ParameterError as err:
            raise PredictionError(f"specimen {specimen}: {err}") from None
    return cells


def predict_cells(
    table: pd.DataFrame,
    amplitudes: Quantity | Mapping[int, Quantity],
    *,
    duration: Quantity = ALLEN_LONG_SQUARE_WIDTH,
    dt: Quantity = FitSettings.dt_ms * ms,
) -> pd.DataFrame:
    """Spike counts and sweep features of fitted cells on long squares.

    Parameters
    ----------
    table : pandas.DataFrame
        A fit results table (``ahp fit`` output, e.g. as `ahp.cell_mapping.read_fit_table`
        reads it): ``specimen_id``, ``model`` and the model's parameter columns. Only rows of
        status ``fitted`` are simulated where the table has a ``status`` column (the others
        have no parameters).
    amplitudes : Quantity or mapping
        Step amplitudes for every cell, or specimen -> its own amplitudes (then one entry per
        fitted cell); see `check_amplitudes`.
    duration : Quantity
        Length of each step (Allen's long square: 1 s), a whole number of ``dt``.
    dt : Quantity
        Simulation step (the fit's).

    Returns
    -------
    pandas.DataFrame
        `PREDICTION_COLUMNS`: one row per cell and amplitude, cells in table order and each
        cell's amplitudes in the order given; ``spike_count`` is an integer.

    Raises
    ------
    PredictionError
        Without fitted rows, for a row whose parameters are missing or out of range, for
        amplitudes refused by `check_amplitudes` or not given for every fitted cell, or for a
        duration that is not a positive multiple of ``dt``.
    """
    try:
        dt_ms = positive_time_s(dt, "dt") * 1e3
    except QuantityError as err:
        raise PredictionError(str(err)) from None
    duration_s = _duration_s(duration, dt_ms)
    cells = _fitted_cells(table)
    if isinstance(amplitudes, Mapping):
        given = {int(s) for s in amplitudes}
        if given != set(cells):
            missing, extra = sorted(set(cells) - given), sorted(given - set(cells))
            raise PredictionError(
                f"amplitudes are given per cell, but not for fitted cell(s) {missing}"
                if missing
                else f"amplitudes are given for specimen(s) {extra}, which the table has not fitted"
            )
        amplitudes_pa = {
            int(s): check_amplitudes(values, f"amplitudes of specimen {s}")
            for s, values in amplitudes.items()
        }
    else:
        shared = check_amplitudes(amplitudes)
        amplitudes_pa = dict.fromkeys(cells, shared)
    features = simulate_cells(
        {s: params for s, (_, params) in cells.items()}, amplitudes_pa, dt_ms, duration_s
    )
    features.insert(1, "model", features.specimen_id.map({s: m for s, (m, _) in cells.items()}))
    features["spike_count"] = features.spike_count.astype(np.int64)
    return features[list(PREDICTION_COLUMNS)]
