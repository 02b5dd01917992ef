"""Fitted values to read with care: at a bound of the search, or not fixed by the protocol.

A fit's value is only as good as the search and the recordings let it be:

- ``at_bound``: the value sits within `BOUND_FRACTION` of the searched range from one of its
  bounds (in the optimiser's coordinates, logarithmic for log parameters; CMA-ES clips its
  candidates to the range, so a fit that wants to go beyond piles up at the bound): the best
  value may lie outside the range, and the number shown is the bound, not a measurement. An
  AHP increment of 0 is not flagged so: no current at all is a possible answer, not a limit of
  the search (its time constant is flagged instead, below);
- ``unidentifiable``: the recordings hardly constrain the value. An AHP time constant longer
  than `SLOW_AHP_FACTOR` times the step (Allen's long square lasts 1 s) decays by less than
  1 - exp(-1/5) = 18 % within it, so the step tells it apart from a current that never decays
  only weakly: the fit fixes the current's build-up (its increment), not how long it lasts. A
  cell that hardly adapts (adaptation index below `ADAPTATION_FLOOR`) leaves its AHP's time
  constant and increment loose, and a current whose increment is at most
  `NEGLIGIBLE_INCREMENT` of the rheobase per spike (under 10 % of the rheobase even after 100
  spikes, whatever its time constant) hardly acts, so its time constant is loose.

Flags only describe fits; nothing is changed or left out because of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from fitting.space import FitSpace, space_for
from fitting.targets import WIDTH_S, CellTargets

__all__ = [
    "ADAPTATION_FLOOR",
    "BOUND_FRACTION",
    "FLAG_COLUMNS",
    "NEGLIGIBLE_INCREMENT",
    "SLOW_AHP_FACTOR",
    "FitFlag",
    "cell_flags",
    "flag_table",
    "flags_text",
]

#: A value within this fraction of the searched range from a bound is at the bound.
BOUND_FRACTION = 0.01
#: An AHP time constant beyond this many step durations is not fixed by the step.
SLOW_AHP_FACTOR = 5.0
#: Below this adaptation index (the fit tolerance of the index) a cell's AHP hardly acts.
ADAPTATION_FLOOR = 0.02
#: An AHP increment per spike up to this fraction of the rheobase hardly acts.
NEGLIGIBLE_INCREMENT = 1e-3
#: Columns of `flag_table`.
FLAG_COLUMNS = ("specimen_id", "model", "column", "parameter", "kind", "value", "summary", "note")


@dataclass(frozen=True)
class FitFlag:
    """One fitted value to read with care.

    Attributes
    ----------
    specimen_id : int
        The cell.
    model : str
        The fitted model.
    column : str
        The results-table column the value sets (``tau_ahp_ms``).
    parameter : str
        The searched parameter (`fitting.space.FreeParameter` name, ``b_ahp_per_rheobase``).
    kind : str
        ``at_bound`` or ``unidentifiable`` (see the module docstring).
    value : float
        The searched parameter's value.
    summary : str
        A few words for a table cell, after the column (``at upper search bound``).
    note : str
        Why, in a sentence.
    """

    specimen_id: int
    model: str
    column: str
    parameter: str
    kind: str
    value: float
    summary: str
    note: str


def _number(value: float) -> str:
    """A value for a note: ``29800``, ``0.05`` (five significant digits, no exponent noise)."""
    return f"{value:.5g}"


def _bound_flags(
    specimen: int, model: str, space: FitSpace, free: Mapping[str, float]
) -> list[FitFlag]:
    increments = {increment for _, increment in space.currents}
    flags = []
    for p in space.free:
        value = free[p.name]
        side, distance = p.bound_distance(value)
        no_current = p.name in increments and side == "lower" and p.low == 0
        if distance <= BOUND_FRACTION and not no_current:
            bound = p.low if side == "lower" else p.high
            note = (
                f"{p.name} = {_number(value)} lies within {BOUND_FRACTION:.0%} of the searched "
                f"range [{p.low:g}, {p.high:g}] from its {side} bound {bound:g}: the best value "
                "may lie beyond the range"
            )
            summary = f"at {side} search bound"
            flags.append(
                FitFlag(specimen, model, p.column, p.name, "at_bound", value, summary, note)
            )
    return flags


def _unidentified(space: FitSpace, free: Mapping[str, float], adaptation: float) -> dict:
    """Searched parameter -> why the recordings do not fix it (the first reason found)."""
    step_ms = WIDTH_S * 1e3
    reasons: dict[str, str] = {}
    for tau, increment in space.currents:
        if tau in free and increment in free and free[increment] <= NEGLIGIBLE_INCREMENT:
            reasons.setdefault(
                tau,
                f"its current's increment {increment} = {_number(free[increment])} is at most "
                f"{NEGLIGIBLE_INCREMENT:g} of the rheobase, so the current hardly acts",
            )
        if tau in free and free[tau] > SLOW_AHP_FACTOR * step_ms:
            reasons.setdefault(
                tau,
                f"{_number(free[tau])} ms is over {SLOW_AHP_FACTOR:g} times the {step_ms:g} ms "
                f"step, within which the current loses under "
                f"{1 - math.exp(-1 / SLOW_AHP_FACTOR):.0%}",
            )
        if adaptation < ADAPTATION_FLOOR:  # NaN (unknown) compares False: not judged
            for name in (tau, increment):
                reasons.setdefault(
                    name,
                    f"the cell's adaptation index {_number(adaptation)} is below "
                    f"{ADAPTATION_FLOOR:g}, so its AHP hardly acts",
                )
    return {name: reason for name, reason in reasons.items() if name in free}


def cell_flags(row: Mapping[str, Any], targets: CellTargets, space: FitSpace) -> list[FitFlag]:
    """The flags of one fitted cell.

    Parameters
    ----------
    row : mapping
        The cell's ``fitted`` row of a results table.
    targets : CellTargets
        The cell it was fitted to.
    space : FitSpace
        The space the row's model was searched in.

    Returns
    -------
    list of FitFlag
        At-bound flags, then identifiability flags, in the space's parameter order.
    """
    specimen, model = int(row["specimen_id"]), str(row["model"])
    free = space.free_values(row, targets)
    adaptation = float(targets.features.get("adaptation", np.nan))
    columns = {p.name: p.column for p in space.free}
    flags = _bound_flags(specimen, model, space, free)
    for name, reason in _unidentified(space, free, adaptation).items():
        summary = "not identifiable"
        note = f"{name} is not identifiable: {reason}"
        flags.append(
            FitFlag(
                specimen, model, columns[name], name, "unidentifiable", free[name], summary, note
            )
        )
    return flags


def flag_table(
    results: pd.DataFrame,
    cells: pd.DataFrame,
    *,
    dt_ms: float = 0.1,
    fixed: Mapping[str, float] | None = None,
    sweeps: Mapping[int, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Every flag of every fitted cell (`FLAG_COLUMNS`), in the results table's order.

    Parameters
    ----------
    results : pandas.DataFrame
        A fit results table.
    cells : pandas.DataFrame
        The fitted selection (`analysis.allen_tables.load_cells` rows), holding every fitted
        cell.
    dt_ms : float
        The fits' simulation step.
    fixed : mapping, optional
        Free parameters the fits held fixed (`fitting.engine.FitSettings.fixed`).
    sweeps : mapping, optional
        Measured sweeps per specimen: required for cells whose targets come from them
        (``targets_source`` `fitting.targets.SWEEPS`).

    Returns
    -------
    pandas.DataFrame
        One row per flag.
    """
    measured = cells.set_index("specimen_id")
    flags: list[FitFlag] = []
    for _, row in results[results.status == "fitted"].iterrows():
        specimen = int(row.specimen_id)
        if specimen not in measured.index:
            raise ValueError(
                f"specimen {specimen} is fitted but not among the cells given: its fit cannot "
                "be judged without the cell's measurements"
            )
        targets = CellTargets.from_row(
            measured.loc[specimen].to_dict() | {"specimen_id": specimen},
            (sweeps or {}).get(specimen),
        )
        flags += cell_flags(row.to_dict(), targets, space_for(str(row.model), dt_ms, fixed))
    return pd.DataFrame([asdict(f) for f in flags], columns=list(FLAG_COLUMNS))


def flags_text(
    flags: pd.DataFrame, specimen_id: int, name: Callable[[pd.Series], str] | None = None
) -> str:
    """One cell's flags in a few words: ``tau_ahp_ms at upper search bound; ...``.

    Parameters
    ----------
    flags : pandas.DataFrame
        `flag_table`.
    specimen_id : int
        The cell (empty text if it has no flag).
    name : callable, optional
        Flag row -> how to name its parameter (default: its results-table column).
    """
    mine = flags[flags.specimen_id == specimen_id]
    return "; ".join(
        f"{name(row) if name else row.column} {row.summary}" for _, row in mine.iterrows()
    )
