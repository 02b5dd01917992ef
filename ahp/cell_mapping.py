"""One fitted cell (a row of a fit results table) -> its Loihi mapping, as `ahp map` does it.

`ahp map` and `ahp pipeline` both map through `map_fitted_cell`, so a pipeline's parameter files
and validation are those of the individual command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Quantity, ms, pA

from ahp_models.parameters import ParameterSet
from fitting.evaluation import fitted_parameters
from hardware_mapping.neuron_mapping import NeuronMapping, map_neuron
from hardware_mapping.validation import long_square_amplitudes

__all__ = ["MappedCell", "cell_name", "cell_provenance", "map_fitted_cell"]


def cell_name(specimen_id: int) -> str:
    """The neuron name of a cell in parameter files and validation tables."""
    return f"cell_{int(specimen_id)}"


@dataclass(frozen=True)
class MappedCell:
    """A fitted cell and its mapping.

    Attributes
    ----------
    name : str
        `cell_name` of its specimen.
    params : ParameterSet
        The fitted float model.
    mapping : NeuronMapping
        Its registers.
    currents : Quantity
        Its long-square series (`hardware_mapping.validation.long_square_amplitudes`).
    provenance : dict
        ``specimen_id`` and, where the row has one, ``fit_id`` (the fit settings' fingerprint).
    """

    name: str
    params: ParameterSet
    mapping: NeuronMapping
    currents: Quantity
    provenance: dict[str, Any] = field(default_factory=dict)


def map_fitted_cell(
    row: Mapping[str, Any], *, dt_ms: float = 1.0, decay_rounding: str = "nearest"
) -> MappedCell:
    """Map one fitted cell over the current range of its long-square series.

    Parameters
    ----------
    row : mapping
        The cell's row of a fit results table (status ``fitted``).
    dt_ms : float
        Hardware time step.
    decay_rounding : str
        See `hardware_mapping.neuron_mapping.map_neuron`.

    Returns
    -------
    MappedCell
        The cell, its mapping and provenance.

    Raises
    ------
    hardware_mapping.neuron_mapping.MappingError
        If the registers cannot hold the neuron.
    """
    params = fitted_parameters(dict(row))
    amplitudes_pA = np.asarray(long_square_amplitudes(params) / pA)
    mapping = map_neuron(
        params,
        dt=dt_ms * ms,
        current_range=(min(0.0, amplitudes_pA.min()) * pA, amplitudes_pA.max() * pA),
        decay_rounding=decay_rounding,
    )
    return MappedCell(
        cell_name(row["specimen_id"]), params, mapping, amplitudes_pA * pA, cell_provenance(row)
    )


def cell_provenance(row: Mapping[str, Any]) -> dict[str, Any]:
    """A fitted cell's provenance in parameter files: ``specimen_id`` and, where the row has
    one, ``fit_id`` (the fit settings' fingerprint)."""
    provenance: dict[str, Any] = {"specimen_id": int(row["specimen_id"])}
    if isinstance(row.get("settings"), str):
        provenance["fit_id"] = row["settings"]
    return provenance
