"""What a pipeline run computes (its settings) and what it produced, shared by the pipeline,
its command and its report."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ahp.cell_mapping import MappedCell
from fitting.batch import FitRunError
from fitting.cohort import cohort_fingerprint
from fitting.engine import FitSettings
from hardware_mapping.neuron_mapping import TIME_STEP_RANGE_MS, MappingError
from hardware_mapping.validation import ValidationResult, check_protocol_step

__all__ = ["SPECIES", "PipelineRun", "PipelineSettings"]

SPECIES = ("mouse", "human")


@dataclass(frozen=True)
class PipelineSettings:
    """What a pipeline run computes (everything that changes its numbers).

    Attributes
    ----------
    allen : str or None
        Folder of the Allen tables; None: the built-in default cohort (`fitting.cohort`).
    species : tuple of str
        Species to take cells of, in this order.
    limit : int or None
        At most this many cells per species (the first ones of the table).
    fit : FitSettings
        How to fit (seed included).
    dt_ms : float
        Hardware time step.
    decay_rounding : str
        See `hardware_mapping.neuron_mapping.map_neuron`.
    energy_table : str
        Energy figures of the estimate (`hardware_mapping.energy.ENERGY_TABLES`).
    backend : str
        Brian2 backend of the validation's float runs.
    """

    allen: str | None = None
    species: tuple[str, ...] = SPECIES
    limit: int | None = None
    fit: FitSettings = field(default_factory=FitSettings)
    dt_ms: float = 1.0
    decay_rounding: str = "nearest"
    energy_table: str = "davies2018"
    backend: str = "cpp_standalone"

    def __post_init__(self) -> None:
        unknown = [s for s in self.species if s not in SPECIES]
        if unknown or not self.species or len(set(self.species)) != len(self.species):
            raise FitRunError(
                f"species {list(self.species)}; allowed: one or both of {list(SPECIES)}, once each"
            )
        if self.limit is not None and self.limit < 1:
            raise FitRunError(f"limit {self.limit}: allowed: at least 1 cell per species")
        low_ms, high_ms = TIME_STEP_RANGE_MS
        if not low_ms <= self.dt_ms <= high_ms:  # NaN and inf too
            raise MappingError(
                f"--dt {self.dt_ms}: allowed: a hardware step from {low_ms:g} to {high_ms:g} ms"
            )
        check_protocol_step(self.dt_ms, "--dt")

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON-ready values, with the default cohort's fingerprint (a run of
        an older cohort definition is not resumed with a newer one)."""
        values = dataclasses.asdict(self)
        values["species"] = list(self.species)
        values["cohort"] = cohort_fingerprint(self.fit.dt_ms) if self.allen is None else None
        return json.loads(json.dumps(values))


@dataclass(frozen=True)
class PipelineRun:
    """What a pipeline run produced.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    cells : pandas.DataFrame
        The selected cells (`analysis.allen_tables.load_cells` rows).
    sweeps : dict or None
        Measured sweeps per specimen the cells were fitted to (synthetic cells).
    truth : pandas.DataFrame or None
        True parameters of synthetic cells, by specimen id.
    fits : pandas.DataFrame
        The fit results table.
    mapped : dict
        Neuron name -> `ahp.cell_mapping.MappedCell`.
    unmappable : dict
        Neuron name -> why it could not be mapped.
    validation : ValidationResult
        Float model vs registers of the mapped cells.
    cell_counters : dict
        Neuron name -> its own runs' operation counters (for a per-cell energy estimate).
    files : dict
        What the run wrote, by name.
    features : pandas.DataFrame
        Allen's features of each cell, its fit and its registers (`ahp.feature_check`).
    """

    out: Path
    cells: pd.DataFrame
    sweeps: dict[int, pd.DataFrame] | None
    truth: pd.DataFrame | None
    fits: pd.DataFrame
    mapped: dict[str, MappedCell]
    unmappable: dict[str, str]
    validation: ValidationResult
    cell_counters: dict[str, pd.DataFrame]
    files: dict[str, Path]
    features: pd.DataFrame = field(default_factory=pd.DataFrame)
