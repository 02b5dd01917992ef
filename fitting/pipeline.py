"""Fit, then refit the misses with a richer model, and keep the better fit of each cell.

A single AHP current driven by the spikes cannot give every cell its f-I curve and adaptation:
fast-spiking cells fire a few spikes at their rheobase and tens 20-60 pA above it, and cells
with a fast and a slow component (mAHP and sAHP) adapt on two time scales. Each cell whose first
fit misses an acceptance tolerance (`fitting.quality`) is therefore refitted with
`FitSettings.fallback_model`, warm-started from the first fit (`fitting.space.FitSpace.
start_from`), so the refit starts from a model that behaves like the first fit and can only
improve on it:

- ``lif_ahp_input`` (the default): the first fit with no share of the input in its AHP current
  (a first fit whose threshold lies above the cell's rheobase starts at the rheobase, where
  this model's search is capped: `fitting.space.LifAhpInputSpace`);
- ``lif_multi_ahp``: the first fit's AHP becomes the fast or the slow current, the other starts
  at zero.

The kept fit is the one missing fewer tolerances, then the one of lower cost; its row says
which model it is and carries both fits' costs (``first_model``, ``first_cost``,
``refit_model``, ``refit_cost``).

Measured on the whole Allen database (bench/README.md, 2026-12-07), 629 of 2333 cells are
refitted. ``lif_ahp_input`` keeps 517 refits and leaves 92.6 / 94.7 / 94.1 / 99.8 % of all cells
within the adaptation-index, f-I slope, mean-ISI and rheobase tolerances; ``lif_multi_ahp``
keeps 401 and leaves 91.4 / 90.4 / 89.8 / 99.2 %, in the same time (8.4 min).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fitting.engine import CellFit, FitEngine, FitSettings
from fitting.quality import CRITERIA, features_missed, features_within
from fitting.targets import CellTargets

__all__ = ["FirstFit", "fit_cells", "kept_refits", "kept_row", "needs_refit", "refit_cells"]

#: Prefix of the first fit's free values in its record (they warm-start the refit).
FREE_PREFIX = "free_"


@dataclass(frozen=True)
class FirstFit:
    """A first fit waiting for its refit: its results row and its free values.

    Attributes
    ----------
    row : dict
        `fitting.engine.CellFit.to_row` of the first fit.
    free : dict
        Its free parameter values (physical units of `fitting.space`).
    """

    row: Mapping[str, Any]
    free: Mapping[str, float]

    @classmethod
    def of(cls, fit: CellFit) -> FirstFit:
        """The first fit of a `CellFit`."""
        return cls(fit.to_row(), dict(fit.free))

    def to_record(self) -> dict[str, Any]:
        """One flat record (the row plus ``free_<name>`` columns), e.g. for a checkpoint."""
        return {**self.row, **{FREE_PREFIX + k: v for k, v in self.free.items()}}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FirstFit:
        """Read a `to_record` record back (JSON's null as NaN, as a results table reads it)."""
        values = {k: float("nan") if v is None else v for k, v in record.items()}
        free = {
            k[len(FREE_PREFIX) :]: float(v) for k, v in values.items() if k.startswith(FREE_PREFIX)
        }
        row = {k: v for k, v in values.items() if not k.startswith(FREE_PREFIX)}
        return cls(row, free)


def kept_refits(table: pd.DataFrame) -> pd.Series:
    """Which rows of a results table kept their refit (`kept_row` chose the refit model).

    Parameters
    ----------
    table : pandas.DataFrame
        Results rows (``model``, and ``first_model`` where the cell was refitted).

    Returns
    -------
    pandas.Series
        One bool per row (all False without a ``first_model`` column).
    """
    if "first_model" not in table:
        return pd.Series(False, index=table.index)
    return table.first_model.notna() & (table.model != table.first_model)


def needs_refit(fit: CellFit, settings: FitSettings) -> bool:
    """Whether a first fit goes to the fallback model (it has one and the fit misses a
    tolerance)."""
    return settings.fallback_model is not None and not features_within(
        fit.model_features, fit.target_features
    )


def _missed(row: Mapping[str, Any]) -> int:
    model = {f: row.get(f"model_{f}", float("nan")) for f in CRITERIA}
    cell = {f: row.get(f"cell_{f}", float("nan")) for f in CRITERIA}
    return len(features_missed(model, cell))


def kept_row(first: Mapping[str, Any], refit: Mapping[str, Any]) -> dict[str, Any]:
    """The row of the better fit (fewer tolerances missed, then lower cost), with both costs.

    Parameters
    ----------
    first, refit : mapping
        Results rows (`fitting.engine.CellFit.to_row`) of the first fit and of the refit.

    Returns
    -------
    dict
        The kept row plus ``first_model``, ``first_cost``, ``refit_model``, ``refit_cost``.
    """
    better = refit if (_missed(refit), refit["cost"]) < (_missed(first), first["cost"]) else first
    return {
        **better,
        "first_model": first["model"],
        "first_cost": first["cost"],
        "refit_model": refit["model"],
        "refit_cost": refit["cost"],
    }


def refit_cells(
    engine: FitEngine, cells: Iterable[CellTargets], first: Mapping[int, FirstFit]
) -> Iterator[dict[str, Any]]:
    """Refit cells warm-started from their first fits; yield each kept row as it finishes.

    Parameters
    ----------
    engine : FitEngine
        An engine of the fallback model (`FitSettings.fallback_settings`).
    cells : iterable of CellTargets
        The cells to refit.
    first : mapping
        Specimen id -> its `FirstFit`.

    Yields
    ------
    dict
        `kept_row` of each cell.
    """
    cells = list(cells)
    starts = {c.specimen_id: engine.space.start_from(first[c.specimen_id].free) for c in cells}
    for fit in engine.fit(cells, starts):
        yield kept_row(first[fit.specimen_id].row, fit.to_row())


def fit_cells(
    cells: Iterable[CellTargets],
    settings: FitSettings = FitSettings(),  # noqa: B008 (frozen dataclass)
) -> pd.DataFrame:
    """Fit cells in this process (first fits, then refits of the misses) into a results table.

    Parameters
    ----------
    cells : iterable of CellTargets
        The cells.
    settings : FitSettings
        How to fit.

    Returns
    -------
    pandas.DataFrame
        One row per cell (`fitting.engine.CellFit.to_row`, with `kept_row`'s columns for the
        refitted cells).
    """
    groups: dict[int, list[CellTargets]] = {}
    for cell in cells:
        groups.setdefault(cell.simulated_amplitudes().size, []).append(cell)
    rows = []
    fallback = settings.fallback_settings()
    for n_amplitudes, members in groups.items():
        misses: dict[int, FirstFit] = {}
        engine = FitEngine(settings, n_amplitudes)
        try:
            for fit in engine.fit(members):
                if needs_refit(fit, settings):
                    misses[fit.specimen_id] = FirstFit.of(fit)
                else:
                    rows.append(fit.to_row())
        finally:
            engine.close()
        if not misses:
            continue
        engine = FitEngine(fallback, n_amplitudes)
        try:
            rows += refit_cells(engine, [c for c in members if c.specimen_id in misses], misses)
        finally:
            engine.close()
    return pd.DataFrame(rows)
