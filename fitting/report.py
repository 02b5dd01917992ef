"""The fit report: per-cell f-I curves and features, database distributions and quality.

``write_fit_report`` writes, into ``<out>/report``:

- ``quality.csv``: fractions of cells within tolerance per species (`fitting.quality`);
- ``<parameter>_by_<class>.png``: fitted AHP time constants (log10) and increments by species
  and dendrite type;
- ``cell_<id>.png`` for a few cells spread over the achieved costs (best, median, worst...):
  the model's f-I curve against the cell's (its sweeps, or Allen's rheobase-and-slope line) and
  the fitted features side by side with the cell's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.figures import STYLE, plot_feature_distribution, save_figure
from fitting.evaluation import fitted_parameters, simulate_cells
from fitting.quality import fit_quality
from fitting.targets import CellTargets, UnfittableCell

__all__ = ["plot_cell_fit", "write_fit_report"]

GROUPINGS = ("species", "dendrite_type")
#: Short labels of the fitted features (`fitting.targets.FEATURES`), with units.
LABELS = {
    "threshold_i_long_square": "rheobase (pA)",
    "f_i_curve_slope": "f-I slope (Hz/pA)",
    "avg_isi": "mean ISI (ms)",
    "latency": "latency (s)",
    "adaptation": "adaptation index",
}


def _ahp_columns(results: pd.DataFrame) -> list[str]:
    return [c for c in results.columns if c.startswith(("tau_ahp", "b_ahp"))]


def _shown(value: float | None, spec: str) -> str:
    """A table entry: the number, or "n/a" where a feature is undefined (NaN or missing)."""
    return "n/a" if value is None or pd.isna(value) else format(float(value), spec)


def plot_cell_fit(row: Mapping, targets: CellTargets, model_rates_hz: np.ndarray) -> Figure:
    """One cell's fit: f-I curves of model and cell, and the features side by side.

    Parameters
    ----------
    row : mapping
        The cell's row of the fit results table.
    targets : CellTargets
        What the cell was fitted to.
    model_rates_hz : numpy.ndarray
        The fitted model's rate on ``targets.protocol_amplitudes()``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    amplitudes = targets.protocol_amplitudes()
    order = np.argsort(amplitudes, kind="stable")  # measured sweeps come in recording order
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(10.0, 3.8))
        curve, table = figure.subplots(1, 2, width_ratios=(1.1, 1.0))
        curve.plot(
            amplitudes[order],
            np.asarray(model_rates_hz)[order],
            "-",
            color="C0",
            label=f"model ({row['model']})",
        )
        if targets.sweeps is not None:
            curve.plot(
                amplitudes, targets.sweeps.spike_count, "o", color="black", label="cell (sweeps)"
            )
        else:
            # Allen's table has the slope of a line fitted above rheobase but not its offset:
            # draw it through the model's middle suprathreshold point to compare slopes
            rheobase = targets.rheobase_pA
            slope = targets.features["f_i_curve_slope"]
            above = np.flatnonzero(amplitudes >= rheobase)
            anchor = above[above.size // 2] if above.size else amplitudes.size - 1
            line = np.array([rheobase, amplitudes.max()])
            curve.plot(
                line,
                model_rates_hz[anchor] + slope * (line - amplitudes[anchor]),
                "--",
                color="black",
                label="cell's f-I slope (Allen), through the model's curve",
            )
            curve.axvline(rheobase, color="grey", linestyle=":", label="cell's rheobase")
        curve.set_xlabel("long-square amplitude (pA)")
        curve.set_ylabel("rate in the 1 s step (Hz)")
        curve.legend(fontsize=8)
        curve.set_title(f"specimen {row['specimen_id']}: cost {row['cost']:.3g}", fontsize=10)
        cells = []
        for feature, label in LABELS.items():
            cells.append(
                [
                    label,
                    _shown(row.get(f"cell_{feature}"), ".4g"),
                    _shown(row.get(f"model_{feature}"), ".4g"),
                    _shown(row.get(f"error_{feature}"), "+.2f"),
                ]
            )
        table.axis("off")
        drawn = table.table(
            cellText=cells,
            colLabels=["feature", "cell", "model", "error / tolerance"],
            loc="center",
            cellLoc="right",
        )
        drawn.auto_set_font_size(False)
        drawn.set_fontsize(8)
        drawn.scale(1.0, 1.4)
        parameters = ", ".join(
            f"{c} {row[c]:.3g}" for c in _ahp_columns(pd.DataFrame([row])) if pd.notna(row[c])
        )
        table.set_title(parameters, fontsize=8)
        figure.tight_layout()
    return figure


def _chosen_cells(fitted: pd.DataFrame, count: int) -> pd.DataFrame:
    """Cells spread over the achieved costs: best, worst and quantiles between."""
    ordered = fitted.sort_values(["cost", "specimen_id"]).reset_index(drop=True)
    if len(ordered) <= count:
        return ordered
    positions = np.unique(np.round(np.linspace(0, len(ordered) - 1, count)).astype(int))
    return ordered.iloc[positions]


def write_fit_report(
    results: pd.DataFrame,
    cells: pd.DataFrame,
    out: str | os.PathLike,
    *,
    sweeps: Mapping[int, pd.DataFrame] | None = None,
    cell_figures: int = 6,
    dt_ms: float = 0.1,
) -> list[Path]:
    """Write the fit report (see the module docstring).

    Parameters
    ----------
    results : pandas.DataFrame
        The fit results table.
    cells : pandas.DataFrame
        The fitted selection (`analysis.allen_tables.load_cells` rows).
    out : str or os.PathLike
        The fit's output folder; the report goes to ``<out>/report``.
    sweeps : mapping, optional
        Measured sweeps per specimen, for cells fitted to them.
    cell_figures : int
        How many per-cell figures.
    dt_ms : float
        Simulation step of the fits.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(out) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    quality = folder / "quality.csv"
    fit_quality(results, cells).to_csv(quality)
    written.append(quality)
    fitted = results[results.status == "fitted"].copy()
    if fitted.empty:
        return written
    classes = cells.set_index("specimen_id")
    for grouping in GROUPINGS:
        if grouping not in fitted and grouping in classes:
            fitted[grouping] = fitted.specimen_id.map(classes[grouping])
    for column in _ahp_columns(fitted):
        shown, unit = column, column.rsplit("_", 1)[-1]
        if column.startswith("tau_ahp"):  # time constants span 10 ms to 30 s
            shown, unit = f"log10_{column}", f"log10 {unit}"
            fitted[shown] = np.log10(fitted[column])
        for grouping in GROUPINGS:
            if grouping in fitted and fitted[shown].notna().any():
                figure = plot_feature_distribution(
                    fitted, shown, by=grouping, thresholds=(), unit=unit
                )
                written += save_figure(figure, folder / f"{column}_by_{grouping}")
    chosen = {}
    for _, row in _chosen_cells(fitted, cell_figures).iterrows():
        specimen = int(row.specimen_id)
        measured = cells[cells.specimen_id == specimen]
        if measured.empty:
            continue  # not in this selection: nothing to compare with
        try:
            targets = CellTargets.from_row(measured.iloc[0], (sweeps or {}).get(specimen))
        except UnfittableCell:
            continue
        chosen[specimen] = (row, targets, fitted_parameters(row.to_dict()))
    if not chosen:
        return written
    # every chosen cell's f-I curve in one compiled simulation per model
    features = simulate_cells(
        {s: params for s, (_, _, params) in chosen.items()},
        {s: targets.protocol_amplitudes() for s, (_, targets, _) in chosen.items()},
        dt_ms,
    )
    for specimen, (row, targets, _) in chosen.items():
        rates = features.avg_rate_Hz[features.specimen_id == specimen].to_numpy()
        figure = plot_cell_fit(row.to_dict(), targets, rates)
        written += save_figure(figure, folder / f"cell_{specimen}")
    return written
