"""The fit report: per-cell f-I curves and features, database distributions and quality.

``write_fit_report`` writes, into ``<out>/report``:

- ``index.html``: one self-contained page (`fitting.fit_page`) with the quality per species,
  the parameter distributions, a table of every cell with the flags of its fit, and a section
  per cell (the f-I figure for the cells below);
- ``quality.csv``: fractions of cells within tolerance per species (`fitting.quality`);
- ``flags.csv``: fitted values at a bound of the search or not fixed by the recordings
  (`fitting.fit_flags`), one row per cell and parameter;
- ``<parameter>_by_<class>.png``: fitted AHP time constants and increments by species and
  dendrite type (log axes where the parameter is a positive scale);
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

from ahp_models import MODELS
from ahp_models.files import atomic_write_text
from analysis.column_labels import column_field, feature_label, parameter_symbol, unit_text
from analysis.figures import STYLE, plot_feature_distribution, save_figure
from analysis.report_page import figure_tag
from fitting.evaluation import fitted_parameters, simulate_cells
from fitting.fit_flags import flag_table
from fitting.fit_page import ahp_columns, write_fit_page
from fitting.quality import fit_quality
from fitting.targets import FEATURES, CellTargets, UnfittableCell

__all__ = ["plot_cell_fit", "write_fit_report"]

GROUPINGS = ("species", "dendrite_type")
#: Labels of the fitted features (`fitting.targets.FEATURES`), with units.
LABELS = {feature: feature_label(feature) for feature in FEATURES}


def _shown(value: float | None, spec: str) -> str:
    """A table entry: the number, or "n/a" where a feature is undefined (NaN or missing)."""
    return "n/a" if value is None or pd.isna(value) else format(float(value), spec)


def _parameter_text(row: Mapping, column: str) -> str:
    """``τ_AHP = 312 ms`` for a parameter column of a results row."""
    name, current, spec = MODELS[row["model"]].params_class.column_field(column)
    unit = "" if spec.unit_name == "1" else f" {unit_text(spec.unit_name)}"
    return f"{parameter_symbol(name, current)} = {row[column]:.3g}{unit}"


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
            _parameter_text(row, c) for c in ahp_columns(pd.DataFrame([row])) if pd.notna(row[c])
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
    fixed: Mapping[str, float] | None = None,
    run_text: str = "",
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
    fixed : mapping, optional
        Free parameters the fits held fixed (`fitting.engine.FitSettings.fixed`).
    run_text : str
        What was fitted and how, for the page's summary.

    Returns
    -------
    list of pathlib.Path
        The files written: ``quality.csv`` first.
    """
    folder = Path(out) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    quality = fit_quality(results, cells)
    atomic_write_text(folder / "quality.csv", quality.to_csv())
    written.append(folder / "quality.csv")
    results = _with_classes(results, cells)
    # a folder resumed with another selection holds fits of cells not given here: only the
    # selection's fits can be judged against their cells' measurements
    judged = results[results.specimen_id.isin(cells.specimen_id)]
    flags = flag_table(judged, cells, dt_ms=dt_ms, fixed=fixed, sweeps=sweeps)
    atomic_write_text(folder / "flags.csv", flags.to_csv(index=False))
    written.append(folder / "flags.csv")
    fitted = results[results.status == "fitted"].copy()
    for column in ahp_columns(fitted):
        written += _distribution_pngs(fitted, column, folder)
    figures = {}
    for specimen, figure in _cell_figures(fitted, cells, sweeps, cell_figures, dt_ms).items():
        written += save_figure(figure, folder / f"cell_{specimen}")
        figures[specimen] = [figure_tag(figure, f"fit of specimen {specimen}")]
    written.append(
        write_fit_page(
            folder / "index.html",
            results=results,
            quality=quality,
            flags=flags,
            figures=figures,
            run_text=run_text or f"{len(results)} cells fitted at {dt_ms:g} ms steps.",
        )
    )
    return written


def _with_classes(results: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The results with the cells' species and dendrite type where the table lacks them."""
    results = results.copy()
    classes = cells.set_index("specimen_id")
    for grouping in GROUPINGS:
        if grouping not in results and grouping in classes:
            results[grouping] = results.specimen_id.map(classes[grouping])
    return results


def _distribution_pngs(fitted: pd.DataFrame, column: str, folder: Path) -> list[Path]:
    """``<column>_by_<grouping>.png``: the column's distribution per species and dendrite type,
    on a log axis where the parameter is a positive scale (its spec says so)."""
    values = fitted[column].dropna()
    if values.empty:
        return []
    models = sorted(fitted.model[fitted[column].notna()].unique())
    name, current, spec = column_field(column, [MODELS[m].params_class for m in models])
    label = parameter_symbol(name, current)
    shown = fitted.rename(columns={column: label})
    written = []
    for grouping in GROUPINGS:
        if grouping in shown:
            figure = plot_feature_distribution(
                shown,
                label,
                by=grouping,
                thresholds=(),
                unit=spec.unit_name,
                log=spec.scale_for(values) == "log",
            )
            written += save_figure(figure, folder / f"{column}_by_{grouping}")
    return written


def _cell_figures(
    fitted: pd.DataFrame,
    cells: pd.DataFrame,
    sweeps: Mapping[int, pd.DataFrame] | None,
    count: int,
    dt_ms: float,
) -> dict[int, Figure]:
    """The f-I figures of ``count`` cells spread over the achieved costs."""
    chosen = {}
    for _, row in _chosen_cells(fitted, count).iterrows() if count else ():
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
        return {}
    # every chosen cell's f-I curve in one compiled simulation per model
    features = simulate_cells(
        {s: params for s, (_, _, params) in chosen.items()},
        {s: targets.protocol_amplitudes() for s, (_, targets, _) in chosen.items()},
        dt_ms,
    )
    figures = {}
    for specimen, (row, targets, _) in chosen.items():
        rates = features.avg_rate_Hz[features.specimen_id == specimen].to_numpy()
        figures[specimen] = plot_cell_fit(row.to_dict(), targets, rates)
    return figures
