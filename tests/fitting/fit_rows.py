"""Results-table rows of neurons at chosen points of a fit space, and the cells behind them."""

from __future__ import annotations

import numpy as np

from fitting.space import FitSpace
from fitting.targets import FEATURES, CellTargets


def cell_targets(adaptation: float = 0.05, specimen: int = 7) -> CellTargets:
    """A cell: rheobase 100 pA, 200 MOhm, rest -70 mV, tau 20 ms."""
    features = {
        "threshold_i_long_square": 100.0,
        "f_i_curve_slope": 0.2,
        "avg_isi": 50.0,
        "latency": 0.05,
        "adaptation": adaptation,
    }
    return CellTargets(specimen, features, vrest_mV=-70.0, ri_MOhm=200.0, tau_ms=20.0)


def row_of_unit(space: FitSpace, cell: CellTargets, unit: np.ndarray) -> dict:
    """The results row of the neuron at a unit-cube point, as the engine writes its columns."""
    values = {k: v[0] for k, v in space.values(np.atleast_2d(unit), cell).items()}
    params = space.model().params_class(**values)
    return {"specimen_id": cell.specimen_id, "model": space.model_name, **params.to_row()}


def row_at(space: FitSpace, cell: CellTargets, **values: float) -> dict:
    """The results row of the neuron with these free values (the others at their start)."""
    return row_of_unit(space, cell, space.unit_of(values))


def fitted_row(space: FitSpace, cell: CellTargets, cost: float, **values: float) -> dict:
    """A whole ``fitted`` row: parameters, the cell's features, the model's 5 % off."""
    row = {"status": "fitted", "reason": "", "cost": cost, **row_at(space, cell, **values)}
    for feature in FEATURES:
        row[f"cell_{feature}"] = cell.features[feature]
        row[f"model_{feature}"] = 1.05 * cell.features[feature]
        row[f"error_{feature}"] = 0.5
    return row


def cell_row(cell: CellTargets, species: str, dendrite_type: str = "spiny") -> dict:
    """The cell as a row of `analysis.allen_tables.load_cells`."""
    return {
        "specimen_id": cell.specimen_id,
        "species": species,
        "dendrite_type": dendrite_type,
        **cell.features,
        "vrest": cell.vrest_mV,
        "ri": cell.ri_MOhm,
        "tau": cell.tau_ms,
    }
