"""The fit's part of an HTML report: quality, parameter distributions, a table of every cell
with its flags, and one section per cell.

`ahp fit` puts these on its own page (`write_fit_page`); the pipeline's report
(`ahp.report`) puts the same pieces beside its hardware sections. Tables show human headers
(`analysis.column_labels`); the CSV files beside a page keep the machine-readable names.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ahp_models import MODELS
from ahp_models.files import atomic_write_text
from ahp_models.parameters import ParameterError, ParameterSet
from analysis.column_labels import (
    FEATURE_NAMES,
    column_field,
    feature_label,
    parameter_label,
    parameter_symbol,
    quantity_label,
)
from analysis.figures import plot_feature_distribution
from analysis.report_page import figure_tag, page_html, section_html, table_html
from fitting.evaluation import fitted_parameters
from fitting.fit_flags import flags_text
from fitting.pipeline import kept_refits
from fitting.quality import CRITERIA
from fitting.targets import FEATURES

__all__ = [
    "FIT_SECTIONS",
    "ahp_columns",
    "cell_fit_html",
    "cells_table_html",
    "distribution_figures",
    "fit_labels",
    "models_kept_html",
    "parameter_columns",
    "quality_html",
    "write_fit_page",
]

#: Section ids of the fit page, in order (one ``cell-<id>`` section per cell follows).
FIT_SECTIONS = ("summary", "distributions", "cells")
#: Parameters a fit takes from the cell (its vrest and ri) instead of searching them.
PASSIVE_COLUMNS = ("E_L_mV", "R_Mohm")
#: Headers of the per-cell features table.
FEATURE_TABLE_COLUMNS = ("cell", "model", "error / tolerance")
#: How a table names a cell.
SPECIMEN = "specimen"


def ahp_columns(table: pd.DataFrame) -> list[str]:
    """The AHP parameter columns of a results table (``tau_ahp_ms``, ``b_ahp_2_pA``...)."""
    return [c for c in table.columns if c.startswith(("tau_ahp", "b_ahp"))]


def _params_classes(table: pd.DataFrame) -> list[type[ParameterSet]]:
    models = table["model"].dropna().unique() if "model" in table else ()
    return [MODELS[str(m)].params_class for m in sorted(models) if str(m) in MODELS]


def parameter_columns(table: pd.DataFrame) -> list[str]:
    """The columns of a results table that hold parameters of its rows' models, in order."""
    classes = _params_classes(table)
    found = []
    for column in table.columns:
        try:
            column_field(str(column), classes)
        except ParameterError:
            continue
        found.append(column)
    return found


def fit_labels(table: pd.DataFrame) -> dict[str, str]:
    """Human headers of a results table's columns: parameters, features, cost and quality.

    Parameters
    ----------
    table : pandas.DataFrame
        A results table (or the pipeline's cell table, or `fitting.quality.fit_quality`).

    Returns
    -------
    dict
        Column -> header (``tau_ahp_ms`` -> ``τ_AHP (ms)``).
    """
    labels = {
        "specimen_id": SPECIMEN,
        "cost": quantity_label("cost", "1"),
        "n_cells": quantity_label("selected", "cells"),
        "n_fitted": quantity_label("fitted", "cells"),
        "flags": "flags",
    }
    classes = _params_classes(table)
    labels |= {c: parameter_label(c, classes) for c in parameter_columns(table)}
    for feature in FEATURES:
        labels[f"model_{feature}"] = feature_label(feature, "model ")
        labels[f"cell_{feature}"] = feature_label(feature, "cell ")
        name = feature_label(feature).rsplit(" (", 1)[0]
        labels[f"error_{feature}"] = quantity_label(f"{name} error / tolerance", "1")
    for feature in CRITERIA:
        name = feature_label(feature).rsplit(" (", 1)[0]
        labels[f"n_{feature}"] = quantity_label(f"with a measured {name}", "cells")
        labels[f"frac_{feature}"] = quantity_label(f"{name} within tolerance", "fraction")
    return labels


def quality_html(quality: pd.DataFrame) -> str:
    """The fractions of cells within tolerance per species (`fitting.quality.fit_quality`):
    one row per quantity, with its unit, one column per species."""
    return table_html(quality.T, fit_labels(quality), index=True)


def distribution_figures(fitted: pd.DataFrame) -> list[str]:
    """Embedded figures: the fitted AHP parameters by species and model (one figure per unit;
    time constants and increments on log axes where every value is positive), and every
    feature's error divided by its tolerance.

    Parameters
    ----------
    fitted : pandas.DataFrame
        The fitted rows of a results table, with ``species``.
    """
    parts = []
    classes = _params_classes(fitted)
    for column in ahp_columns(fitted):
        values = fitted[["species", "model", column]].dropna()
        if values.empty:
            continue
        name, current, spec = column_field(column, classes)
        symbol = parameter_symbol(name, current)
        parts.append(
            pd.DataFrame(
                {
                    "group": values.species + " " + values.model + " " + symbol,
                    "value": values[column],
                    "unit": spec.unit_name,
                    "log": spec.axis_scale == "log",
                }
            )
        )
    figures = []
    for unit, table in pd.concat(parts).groupby("unit") if parts else ():
        log = bool(table["log"].all()) and bool((table.value > 0).all())
        title = f"fitted AHP parameters ({unit}{', log axis' if log else ''})"
        figure = plot_feature_distribution(
            table, "value", by="group", thresholds=(), unit=unit, log=log
        )
        figure.axes[0].set_title(title)
        figure.axes[0].set_xlabel(quantity_label("fitted value", unit))
        figures.append(figure_tag(figure, title))
    errors = fitted.melt(
        id_vars=["species"], value_vars=[f"error_{f}" for f in FEATURES if f"error_{f}" in fitted]
    ).dropna()
    errors["group"] = (
        errors.species + " " + errors.variable.str.removeprefix("error_").map(FEATURE_NAMES)
    )
    if len(errors):
        figure = plot_feature_distribution(errors, "value", by="group", thresholds=(-1, 1), top=20)
        figure.axes[0].set_title("feature error / tolerance (within: |x| <= 1)")
        figure.axes[0].set_xlabel(quantity_label("error / tolerance", "1"))
        figures.append(figure_tag(figure, "feature errors"))
    return figures


def _symbol(flag: pd.Series) -> str:
    """The symbol of a flag's parameter (``τ_AHP,2``)."""
    name, current, _ = MODELS[flag.model].params_class.column_field(flag.column)
    return parameter_symbol(name, current)


def _flag_summaries(flags: pd.DataFrame, specimen_id: int) -> str:
    return flags_text(flags, specimen_id, _symbol)


def cells_table_html(table: pd.DataFrame, flags: pd.DataFrame) -> str:
    """Every cell in one table: species, model, status, cost, the searched parameters and the
    flags of its fit (`fitting.fit_flags`).

    Parameters
    ----------
    table : pandas.DataFrame
        A results table (or the pipeline's cell table), with ``species``.
    flags : pandas.DataFrame
        `fitting.fit_flags.flag_table` of its fits.
    """
    columns = ["specimen_id", "species", "model", "status", "cost"]
    shown = table[[c for c in columns if c in table]].copy()
    if "reason" in table:
        unfitted = table.status != "fitted"
        shown.loc[unfitted, "status"] = table.status[unfitted] + ": " + table.reason[unfitted]
    shown["flags"] = [_flag_summaries(flags, int(s)) for s in table.specimen_id]
    searched = [c for c in parameter_columns(table) if c not in PASSIVE_COLUMNS]
    shown[searched] = table[searched]
    return table_html(shown, fit_labels(table))


def _flag_notes(flags: pd.DataFrame, specimen_id: int) -> str:
    mine = flags[flags.specimen_id == specimen_id]
    if mine.empty:
        return ""
    items = "".join(
        f"<li><b>{html.escape(_symbol(flag))}</b>: {html.escape(flag.note)}</li>"
        for _, flag in mine.iterrows()
    )
    return f'<div class="flag"><p>Read with care:</p><ul>{items}</ul></div>'


def cell_fit_html(row: pd.Series, flags: pd.DataFrame, figures: Sequence[str] = ()) -> str:
    """One cell's fit: its flags' notes, parameters, features beside the cell's, and figures.

    Parameters
    ----------
    row : pandas.Series
        The cell's row of a results table (or of the pipeline's cell table).
    flags : pandas.DataFrame
        `fitting.fit_flags.flag_table` (rows of other cells are ignored).
    figures : sequence of str
        Embedded figures (`analysis.report_page.figure_tag`).

    Returns
    -------
    str
        HTML (no enclosing section).
    """
    parts = [_flag_notes(flags, int(row.specimen_id))]
    if row.get("status") == "fitted":
        parameters = pd.DataFrame([fitted_parameters(row.to_dict()).to_row()])
        parameters["flags"] = _flag_summaries(flags, int(row.specimen_id))
        parts.append(table_html(parameters, fit_labels(parameters.assign(model=row.model))))
    error_header = quantity_label(FEATURE_TABLE_COLUMNS[2], "1")
    features = pd.DataFrame(
        {
            FEATURE_TABLE_COLUMNS[0]: [row.get(f"cell_{f}", np.nan) for f in FEATURES],
            FEATURE_TABLE_COLUMNS[1]: [row.get(f"model_{f}", np.nan) for f in FEATURES],
            error_header: [row.get(f"error_{f}", np.nan) for f in FEATURES],
        },
        index=pd.Index([feature_label(f) for f in FEATURES], name="feature"),
    )
    parts.append(table_html(features, index=True))
    parts.extend(figures)
    return "".join(parts)


def write_fit_page(
    path: str | os.PathLike,
    *,
    results: pd.DataFrame,
    quality: pd.DataFrame,
    flags: pd.DataFrame,
    figures: Mapping[int, Sequence[str]],
    run_text: str,
) -> Path:
    """Write ``ahp fit``'s self-contained page.

    Parameters
    ----------
    path : str or os.PathLike
        The page (``<out>/report/index.html``).
    results : pandas.DataFrame
        The results table, with ``species`` (every row gets a section).
    quality : pandas.DataFrame
        `fitting.quality.fit_quality`.
    flags : pandas.DataFrame
        `fitting.fit_flags.flag_table`.
    figures : mapping
        Specimen -> its embedded figures (cells without figures get their tables only).
    run_text : str
        What was fitted and how, one paragraph of plain text.

    Returns
    -------
    pathlib.Path
        The page.
    """
    fitted = results[results.status == "fitted"]
    flagged = flags.specimen_id.nunique()
    body = [
        section_html(
            "summary",
            "Summary",
            f"<p>{html.escape(run_text)}</p><p class='note'>Fractions of the selected cells "
            "within the fit tolerances (adaptation index 0.02, f-I slope and mean ISI 10 %, "
            "rheobase 10 pA); a cell not fitted, or without the feature in its model, counts "
            "as a miss. Tables: quality.csv and flags.csv beside this page, fit_results "
            "in the folder above.</p>" + quality_html(quality),
        ),
        section_html(
            "distributions",
            "Distributions",
            "<p class='note'>Fitted AHP parameters by species and model, and every feature's "
            "error divided by its tolerance.</p>" + "".join(distribution_figures(fitted)),
        ),
        section_html(
            "cells",
            "Cells",
            f"<p class='note'>{len(results)} cells, {len(fitted)} fitted; {flagged} with a "
            f"fitted value to read with care (flags: a value at a bound of the search, or one "
            "the recordings do not pin down). E_L and R are the cell's vrest and ri, shown in "
            "each cell's section. f-I figures: the cells spread over the achieved costs "
            "(--report-cells).</p>"
            + models_kept_html(fitted)
            + cells_table_html(results, flags)
            + "".join(_cell_section(row, flags, figures.get(int(row.specimen_id), ()))
                      for _, row in results.iterrows()),
        ),
    ]  # fmt: skip
    page = page_html(
        f"ahp fit report: {Path(path).parent.parent}",
        "AHP neurons fitted to cells",
        FIT_SECTIONS,
        body,
    )
    atomic_write_text(path, page)
    return Path(path)


#: Cells listed by name per refit model on the page; the rest are counted.
LISTED_REFITS = 60


def models_kept_html(fitted: pd.DataFrame) -> str:
    """Which model each fitted cell kept: counts per model and, for the cells that kept a
    refit (a richer model where the first one missed a tolerance), links to their sections.

    Parameters
    ----------
    fitted : pandas.DataFrame
        The fitted cells' results rows (``model``; ``first_model`` where refitted).

    Returns
    -------
    str
        An HTML paragraph (empty without a ``model`` column).
    """
    if "model" not in fitted or fitted.empty:
        return ""
    counts = fitted.model.value_counts()
    parts = [f"{html.escape(str(m))} {n}" for m, n in counts.items()]
    text = f"<p class='note'>Models kept: {', '.join(parts)}."
    for model, kept in fitted[kept_refits(fitted)].groupby("model"):
        ids = [int(i) for i in kept.specimen_id]
        links = ", ".join(f"<a href='#cell-{i}'>{i}</a>" for i in ids[:LISTED_REFITS])
        more = f" and {len(ids) - LISTED_REFITS} more" if len(ids) > LISTED_REFITS else ""
        text += (
            f" The first model missed a tolerance and {html.escape(str(model))} did better "
            f"for {len(ids)} cells: {links}{more}."
        )
    return text + "</p>"


def _cell_section(row: pd.Series, flags: pd.DataFrame, figures: Sequence[str]) -> str:
    species = row.get("species", "species unknown")
    title = f"specimen {row.specimen_id} ({species}, {row.get('model', 'not fitted')})"
    if row.get("status") == "fitted":
        summary = f"<p>cost {row.cost:.3g}</p>"
    else:
        summary = f"<p>not fitted: {html.escape(str(row.get('reason', row.get('status'))))}</p>"
    return section_html(
        f"cell-{row.specimen_id}", title, summary + cell_fit_html(row, flags, figures), level=3
    )
