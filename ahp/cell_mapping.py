"""One fitted cell (a row of a fit results table) -> its Loihi mapping, as `ahp map` does it.

`ahp map` and `ahp pipeline` both map through `map_fitted_cell`, so a pipeline's parameter files
and validation are those of the individual command.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Quantity, pA

from ahp_models.parameters import ParameterError, ParameterSet
from fitting.evaluation import fitted_parameters
from fitting.targets import allen_grid
from hardware_mapping.neuron_mapping import MappingError, NeuronMapping
from hardware_mapping.register_search import SEARCH_ROUNDS, map_and_search
from hardware_mapping.validation import long_square_amplitudes

__all__ = [
    "MappedCell",
    "cell_name",
    "cell_provenance",
    "feature_protocol",
    "map_fitted_cell",
    "map_fitted_cells",
    "read_fit_table",
    "select_fitted_rows",
]


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
    row: Mapping[str, Any],
    *,
    dt_ms: float = 1.0,
    decay_rounding: str = "nearest",
    search_rounds: int = SEARCH_ROUNDS,
    backend: str = "cpp_standalone",
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
    search_rounds : int
        Rounds of the register search (`hardware_mapping.register_search`; 0: none).
    backend : str
        Brian2 backend of the search's float runs.

    Returns
    -------
    MappedCell
        The cell, its mapping and provenance.

    Raises
    ------
    hardware_mapping.neuron_mapping.MappingError
        If the registers cannot hold the neuron.
    """
    mapped, unmappable = map_fitted_cells(
        [row], dt_ms=dt_ms, decay_rounding=decay_rounding, search_rounds=search_rounds,
        backend=backend,
    )  # fmt: skip
    if unmappable:
        raise MappingError(next(iter(unmappable.values())))
    return next(iter(mapped.values()))


def map_fitted_cells(
    rows: Sequence[Mapping[str, Any]],
    *,
    dt_ms: float = 1.0,
    decay_rounding: str = "nearest",
    search_rounds: int = SEARCH_ROUNDS,
    backend: str = "cpp_standalone",
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, MappedCell], dict[str, str]]:
    """Map fitted cells together (the register search runs them in one simulation).

    Parameters
    ----------
    rows : sequence of mapping
        Rows of a fit results table (status ``fitted``).
    dt_ms, decay_rounding, search_rounds, backend
        See `map_fitted_cell`.
    progress : callable, optional
        Called with a line after each search round.

    Returns
    -------
    (dict, dict)
        `cell_name` -> `MappedCell`, and `cell_name` -> why it could not be mapped.
    """
    by_name = {cell_name(row["specimen_id"]): row for row in rows}
    params = {name: fitted_parameters(dict(row)) for name, row in by_name.items()}
    amplitudes = {name: np.asarray(long_square_amplitudes(p) / pA) for name, p in params.items()}
    mappings, unmappable, _ = map_and_search(
        params, amplitudes, dt_ms=dt_ms, decay_rounding=decay_rounding, rounds=search_rounds,
        backend=backend, progress=progress,
        also_pA={name: feature_protocol(row) for name, row in by_name.items()},
    )  # fmt: skip
    mapped = {
        name: MappedCell(name, params[name], mappings[name], amplitudes[name] * pA,
                         cell_provenance(by_name[name]))
        for name in by_name if name in mappings
    }  # fmt: skip
    return mapped, unmappable


def feature_protocol(row: Mapping[str, Any]) -> np.ndarray:
    """The amplitudes (pA) on which a cell's Allen features are compared with its registers:
    Allen's grid around the cell's own rheobase (as the fit simulated it), without the
    hyperpolarizing steps (they carry no spiking feature); empty if the row has no rheobase."""
    rheobase = float(row.get("cell_threshold_i_long_square", np.nan))
    if not np.isfinite(rheobase):
        return np.zeros(0)
    grid = allen_grid(rheobase)
    return grid[grid >= 0]


def read_fit_table(path: Path) -> pd.DataFrame:
    """The fitted rows of a fit results table (`ahp fit` output).

    Parameters
    ----------
    path : pathlib.Path
        The CSV file, or a Parquet file (``.parquet``, with the ``parquet`` extra installed).

    Returns
    -------
    pandas.DataFrame
        Its rows of status ``fitted``.

    Raises
    ------
    MappingError
        If the file cannot be read or is not a fit results table.
    """
    parquet = Path(path).suffix == ".parquet"
    if parquet and importlib.util.find_spec("pyarrow") is None:
        raise MappingError(
            f"cannot read fit results {path}: reading Parquet needs pyarrow (pip install "
            "'ahp-toolkit[parquet]'); allowed here: a CSV fit table"
        )
    # a row's place in the file, as the user would look for it (CSV: line 1 is the header)
    row_word, first_row = ("row", 1) if parquet else ("line", 2)
    try:
        table = pd.read_parquet(path) if parquet else pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:  # incl. empty, not UTF-8
        reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
        reason = reason.splitlines()[0] if reason else type(error).__name__
        raise MappingError(f"cannot read fit results {path}: {reason}") from None
    missing = {"status", "specimen_id", "model"} - set(table.columns)
    if missing:
        raise MappingError(
            f"{path}: not a fit results table (no column {', '.join(sorted(missing))})"
        )
    fitted = table[table["status"] == "fitted"]
    if fitted.empty:
        raise MappingError(
            f"{path}: no row of status 'fitted' (of {len(table)} rows); allowed: a table with "
            "fitted cells, as `ahp fit` writes it"
        )
    booleans = fitted["specimen_id"].map(lambda v: isinstance(v, bool | np.bool_))
    specimens = pd.to_numeric(fitted["specimen_id"], errors="coerce").mask(booleans)
    whole = specimens.notna() & (specimens % 1 == 0) & (specimens > 0) & (specimens < 2**53)
    if not whole.all():
        line = int(fitted.index[~whole][0]) + first_row
        value = fitted["specimen_id"][~whole].iloc[0]
        value = value.item() if isinstance(value, np.generic) else value  # nan, not np.float64
        raise MappingError(
            f"{path}: {row_word} {line}: specimen_id = {value!r}; allowed: a whole number > 0"
        )
    repeated = specimens[specimens.duplicated()]
    if not repeated.empty:
        lines = [int(i) + first_row for i in specimens.index[specimens == repeated.iloc[0]]]
        raise MappingError(
            f"{path}: specimen_id {int(repeated.iloc[0])} is fitted on {row_word}s "
            f"{', '.join(map(str, lines))}; allowed: one fitted row per cell"
        )
    fitted = fitted.assign(specimen_id=specimens.astype(np.int64))
    if "settings" in fitted.columns:  # it becomes the parameter files' fit_id
        long = fitted["settings"].map(lambda v: isinstance(v, str) and len(v) > 200)
        if long.any():
            line = int(fitted.index[long][0]) + first_row
            raise MappingError(
                f"{path}: {row_word} {line}: settings has {len(fitted['settings'][long].iloc[0])} "
                "characters; allowed: at most 200 (the fit settings' fingerprint)"
            )
    for index, row in fitted.iterrows():
        try:  # every parameter present, finite and in range, for the model the row names
            fitted_parameters(row.to_dict())
        except ParameterError as error:
            raise MappingError(
                f"{path}: {row_word} {int(index) + first_row} (specimen {row['specimen_id']}): "
                f"{error}"
            ) from None
    return fitted


def select_fitted_rows(
    path: Path, specimens: Sequence[int] | None = None, limit: int | None = None
) -> pd.DataFrame:
    """The fitted rows of a fit table that a command's ``--specimen`` and ``--limit`` select.

    Parameters
    ----------
    path : pathlib.Path
        The fit results table (`read_fit_table`).
    specimens : sequence of int, optional
        Only these cells; each must be a fitted cell of the table.
    limit : int, optional
        At most this many cells, in the table's order.

    Returns
    -------
    pandas.DataFrame
        The selected rows.

    Raises
    ------
    MappingError
        For a table `read_fit_table` refuses, a ``--specimen`` cell it has not fitted, or a
        selection of no cell.
    """
    table = read_fit_table(path)
    if specimens:
        unknown = sorted(set(specimens) - set(table["specimen_id"]))
        if unknown:
            raise MappingError(f"--specimen {unknown}: not among the fitted cells of {path}")
        table = table[table["specimen_id"].isin(specimens)]
    if limit:
        table = table.head(limit)
    if table.empty:
        raise MappingError(f"{path}: no fitted cells selected")
    return table


def cell_provenance(row: Mapping[str, Any]) -> dict[str, Any]:
    """A fitted cell's provenance in parameter files: ``specimen_id`` and, where the row has
    one, ``fit_id`` (the fit settings' fingerprint)."""
    provenance: dict[str, Any] = {"specimen_id": int(row["specimen_id"])}
    if isinstance(row.get("settings"), str):
        provenance["fit_id"] = row["settings"]
    return provenance
