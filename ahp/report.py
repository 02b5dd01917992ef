"""The pipeline report: one self-contained HTML page (figures embedded) and its tables as CSV.

``OUT/report/`` holds:

- ``index.html``: the run, the cohort summary, distributions, parameter recovery (synthetic
  cells), float-vs-registers agreement and energy, then one section per cell (its numbers, f-I
  curve and features, hero-sweep trace, and the registers' raster against the float model's);
- ``summary.csv``: per species and overall, cells fitted, fractions within the fit tolerances,
  cells mapped, fractions within the validation tolerances, energy;
- ``cells.csv``: per cell, the fitted parameters, every feature of cell and model with its
  normalised error, the largest quantization error of the mapping, the float-vs-registers
  agreement and the energy estimate (and, for synthetic cells, the true parameters);
- ``quantization.csv``: per cell the mapping's requested and realized quantities;
- ``recovery.csv`` (synthetic cells): true and fitted value of every parameter.

Every number comes from the pipeline's own tables (`ahp.pipeline.PipelineRun`), which are those
of `ahp fit` and `ahp map`: the report formats, it does not recompute.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ahp.cell_mapping import cell_name
from ahp.feature_check import feature_summary
from ahp.report_figures import (
    hero_amplitude,
    plot_agreement,
    plot_recovery,
    plot_traces,
    simulate_traces,
)
from ahp_models.files import atomic_write_text
from analysis.figures import STYLE, plot_feature_distribution
from fitting.evaluation import fitted_parameters, simulate_cells
from fitting.quality import fit_quality
from fitting.report import plot_cell_fit
from fitting.targets import FEATURES, CellTargets
from hardware_mapping.energy import estimate_energy
from hardware_mapping.figures import plot_validation
from hardware_mapping.parameter_files import toolkit_version
from hardware_mapping.validation import (
    TOLERANCES,
    largest_quantization,
    quantization_table,
    tolerance_summary,
)

if TYPE_CHECKING:
    from ahp.pipeline_settings import PipelineRun, PipelineSettings

#: Display names of Allen's features in tables.
FEATURE_TITLES = {
    "adaptation": "adaptation index",
    "f_i_curve_slope": "f-I slope",
    "avg_isi": "mean ISI",
    "threshold_i_long_square": "rheobase",
}

__all__ = ["SECTIONS", "cell_table", "recovery_table", "summary_table", "write_report"]

#: Section ids of the page, in order (the per-cell sections follow as ``cell-<id>``).
SECTIONS = ("run", "summary", "distributions", "recovery", "hardware", "cells")
FIGURE_DPI = 80
#: Parameters a fit takes from the cell's vrest and ri instead of fitting them (`fitting.space`;
#: tau_m is fitted around the cell's tau).
PASSIVE_COLUMNS = ("E_L_mV", "R_Mohm")


def recovery_table(run: PipelineRun) -> pd.DataFrame:
    """True against fitted parameters of synthetic cells (those a fit frees: membrane time
    constant, threshold, reset, refractory period and the AHP; E_L and R are the cell's vrest
    and ri).

    A cell's AHP parameters count as identifiable when its AHP acts on the recording (hero
    sweep adaptation index >= 0.02): without adaptation a time constant is not measurable.
    """
    if run.truth is None:
        return pd.DataFrame()
    fitted = run.fits[run.fits.status == "fitted"].set_index("specimen_id")
    adaptation = run.cells.set_index("specimen_id").adaptation
    rows = []
    for specimen, truth in run.truth.iterrows():
        if specimen not in fitted.index:
            continue
        row = fitted.loc[specimen]
        for column, true_value in truth.items():
            if column in PASSIVE_COLUMNS or column not in row.index or pd.isna(row[column]):
                continue  # set from the cell's vrest and ri; or a parameter of another model
            rows.append(
                {
                    "specimen_id": specimen,
                    "model": row.model,
                    "parameter": column,
                    "true": float(true_value),
                    "fitted": float(row[column]),
                    "relative_error": float(row[column]) / float(true_value) - 1
                    if true_value
                    else np.nan,
                    "identifiable": not column.startswith(("tau_ahp", "b_ahp"))
                    or bool(adaptation.get(specimen, 0) >= 0.02),
                }
            )
    return pd.DataFrame(rows)


def cell_table(run: PipelineRun, settings: PipelineSettings) -> pd.DataFrame:
    """One row per selected cell: fit, mapping, validation and energy (see the module doc)."""
    table = run.cells[["specimen_id", "species", "dendrite_type"]].merge(
        run.fits, on="specimen_id", how="left", suffixes=("", "_fit")
    )
    table.insert(1, "neuron", [cell_name(s) for s in table.specimen_id])
    validation = run.validation.neurons.drop(columns=["model"]).rename(
        columns={"reason": "validation_reason", "passes": "validation_passes"}
    )
    table = table.merge(validation, on="neuron", how="left")
    worst = []
    for name in table.neuron:
        cell = run.mapped.get(name)
        if cell is None:
            worst.append(
                {
                    "neuron": name,
                    "mapped": False,
                    "unmappable_reason": run.unmappable.get(name, "not fitted"),
                }
            )
            continue
        largest = largest_quantization(cell.mapping)
        energy = estimate_energy(run.cell_counters[name], table=settings.energy_table)
        sweeps = len(cell.currents)
        worst.append(
            {
                "neuron": name,
                "mapped": True,
                "unmappable_reason": "",
                "compartments": 1 + len(cell.mapping.aux),
                "largest_quantization": largest.quantity,
                "largest_quantization_error": float(largest.relative_error),
                "dynamic_per_sweep_uJ": energy.dynamic_J / sweeps * 1e6,
                "static_uJ": energy.static_J * 1e6,
                "chip_time_ms": energy.latency_s * 1e3,
            }
        )
    table = table.merge(pd.DataFrame(worst), on="neuron", how="left")
    if run.truth is not None:
        truth = run.truth.add_prefix("true_")
        table = table.merge(truth, left_on="specimen_id", right_index=True, how="left")
    return table


def summary_table(run: PipelineRun, cells: pd.DataFrame) -> pd.DataFrame:
    """Per species and overall: fit quality, mapping and validation fractions, energy."""
    quality = fit_quality(run.fits, run.cells)
    rows = {}
    for species in [*sorted(cells.species.unique()), "all"]:
        members = cells if species == "all" else cells[cells.species == species]
        mapped = members[members.mapped.fillna(False).astype(bool)]
        row = {"cells": len(members), "fitted": int((members.status == "fitted").sum())}
        row["refitted_kept_lif_multi_ahp"] = int((members.model == "lif_multi_ahp").sum())
        row["median_cost"] = float(members.cost.median())
        for column in quality.columns:
            if column.startswith("frac_"):
                row[f"fit_{column}"] = float(quality.loc[species, column])
        row["mapped"] = len(mapped)
        if len(mapped):
            fractions = tolerance_summary(mapped.rename(columns={"validation_passes": "passes"}))
            for name in ("count_within", "ai_within", "gamma_at_floor", "gamma_at_least", "all"):
                row[f"validation_{name}"] = fractions.get(name, np.nan)
            row["median_gamma"] = float(mapped.gamma.median())
            row["median_dynamic_per_sweep_uJ"] = float(mapped.dynamic_per_sweep_uJ.median())
        rows[species] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("species")


def _features_html(features: pd.DataFrame) -> str:
    """The registers vs the cell, beside the float fit, as a paragraph and a table."""
    if features.empty:
        return ""
    summary = feature_summary(features)
    summary["feature"] = summary["feature"].map(FEATURE_TITLES)
    return (
        "<p>Allen's features of the registers (run on Allen's grid around the cell's rheobase) "
        "against the cell's, with the fit's tolerances, beside the float fit's own (at the "
        "fit's step) and the float neuron's at the hardware step: fractions of cells within "
        "tolerance.</p>"
        + _table_html(summary.rename(columns={"fit_within": "float fit within",
                                              "float_within": "float at the hardware step",
                                              "registers_within": "registers within",
                                              "difference": "registers - fit",
                                              "quantization": "registers - float same step"}))
    )  # fmt: skip


def _figure_tag(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table_html(table: pd.DataFrame, index: bool = False) -> str:
    return table.to_html(
        index=index, float_format=lambda x: f"{x:.4g}", na_rep="n/a", border=0, escape=True
    )


CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0; }
th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
th { background: #f4f4f4; } img { max-width: 100%; display: block; margin: 0.4em 0; }
nav a { margin-right: 1em; } .cell { border-left: 3px solid #ddd; padding-left: 1em; }
.pass { color: #17692b; } .miss { color: #a33; } .note { color: #555; font-size: 0.9em; }
"""


def _cell_section(row: pd.Series, figures: list[str]) -> str:
    verdict = (
        "not fitted: " + html.escape(str(row.get("reason", "")))
        if row.get("status") != "fitted"
        else "not mapped: " + html.escape(str(row.unmappable_reason))
        if not row.get("mapped", False)
        else (
            '<span class="pass">registers within every tolerance</span>'
            if bool(row.validation_passes)
            else f'<span class="miss">{html.escape(str(row.validation_reason))}</span>'
        )
    )
    features = pd.DataFrame(
        {
            "feature": list(FEATURES),
            "cell": [row.get(f"cell_{f}") for f in FEATURES],
            "model": [row.get(f"model_{f}") for f in FEATURES],
            "error / tolerance": [row.get(f"error_{f}") for f in FEATURES],
        }
    )
    shown = {}
    if row.get("status") == "fitted":
        shown = fitted_parameters(row.to_dict()).to_row()
    title = f"specimen {row.specimen_id} ({row.species}, {row.get('model', 'not fitted')})"
    return (
        f'<section class="cell" id="cell-{row.specimen_id}"><h3>{html.escape(title)}</h3>'
        f"<p>cost {row.get('cost', np.nan):.3g}; {verdict}</p>"
        + _table_html(pd.DataFrame([shown]))
        + _table_html(features)
        + "".join(figures)
        + "</section>"
    )


def write_report(
    run: PipelineRun, settings: PipelineSettings, say: Callable[[str], None] = print
) -> dict[str, Path]:
    """Write ``OUT/report`` (see the module docstring); return the files written."""
    folder = run.out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    cells = cell_table(run, settings)
    summary = summary_table(run, cells)
    recovery = recovery_table(run)
    quantization = quantization_table(run.validation.mappings)
    files = {}
    for name, table, index in (
        ("summary", summary, True),
        ("cells", cells, False),
        ("quantization", quantization, False),
        ("recovery", recovery, False),
    ):
        if len(table):
            files[name] = folder / f"{name}.csv"
            atomic_write_text(files[name], table.to_csv(index=index))
    say("report: drawing figures")
    body = [_run_section(run, settings), _summary_section(summary)]
    body.append(_distribution_section(cells))
    body.append(_recovery_section(recovery))
    body.append(
        '<section id="hardware"><h2>Loihi mapping: agreement and energy</h2>'
        f"<p>Each mapped cell's registers run in the bit-accurate fixed-point simulator on its "
        f"long squares (rheobase -20 to +160 pA) at {settings.dt_ms:g} ms steps, against the "
        f"float model at the same step. Tolerances: every spike count within "
        f"max({TOLERANCES['count_spikes']} spike, {TOLERANCES['count_relative']:.0%}), "
        f"adaptation indices within {TOLERANCES['adaptation_index']}, and the gamma factor "
        "(2 ms) at or above the float neuron's own sensitivity floor: the 5th percentile of "
        "the gammas between the float neuron and 20 copies of it with every parameter moved by "
        f"1e-4 (the plain gamma >= {TOLERANCES['gamma']} is counted too). The registers were "
        "chosen by a search of their integer neighbourhood on the amplitudes between the "
        "scored ones. Energy: "
        f"{html.escape(settings.energy_table)} figures from the simulator's counters.</p>"
        + _features_html(run.features)
        + _figure_tag(
            plot_agreement(cells[cells.mapped.fillna(False).astype(bool)]), "agreement and energy"
        )
        + "</section>"
    )
    body.append(_cells_section(run, cells, settings))
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>ahp pipeline report: {html.escape(str(run.out))}</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>AHP neurons: fits, Loihi mapping and validation</h1><nav>"
        + "".join(f'<a href="#{s}">{s}</a>' for s in SECTIONS)
        + "</nav>"
        + "".join(body)
        + "</body></html>\n"
    )
    files["html"] = folder / "index.html"
    atomic_write_text(files["html"], page)
    return files


def _run_section(run: PipelineRun, settings: PipelineSettings) -> str:
    source = settings.allen or "the built-in default cohort (synthetic cells, fitting/cohort.py)"
    fit = settings.fit
    return (
        '<section id="run"><h2>Run</h2><p>'
        f"Cells: {len(run.cells)} from {html.escape(str(source))} "
        f"({', '.join(settings.species)}, "
        f"{'all' if settings.limit is None else f'at most {settings.limit}'} per species). "
        f"Fit: {fit.model} (refit: {fit.fallback_model}), CMA-ES population {fit.popsize}, "
        f"{fit.max_generations} generations, seed {fit.seed}, {fit.dt_ms:g} ms steps. "
        f"Hardware: Loihi 1 at {settings.dt_ms:g} ms steps, decay rounding "
        f"{html.escape(settings.decay_rounding)}. Toolkit {html.escape(toolkit_version())}."
        "</p><p class='note'>Tables: summary.csv, cells.csv, quantization.csv"
        + (", recovery.csv" if run.truth is not None else "")
        + " beside this page; parameter files in ../hardware/.</p></section>"
    )


def _summary_section(summary: pd.DataFrame) -> str:
    return (
        '<section id="summary"><h2>Summary</h2><p class="note">fit_frac_*: fraction of cells '
        "within the fit tolerances (adaptation index 0.02, f-I slope and avg_isi 10 %, "
        "rheobase 10 pA); validation_*: fraction of mapped cells within the float-vs-registers "
        "tolerances.</p>" + _table_html(summary.T, index=True) + "</section>"
    )


def _distribution_section(cells: pd.DataFrame) -> str:
    fitted = cells[cells.status == "fitted"]
    rows = []
    for column in [c for c in fitted.columns if c.startswith(("tau_ahp", "b_ahp"))]:
        values = fitted[["species", "model", column]].dropna()
        unit = column.rsplit("_", 1)[-1]
        logged = column.startswith("tau_ahp")  # time constants span 10 ms to 30 s
        name = column.removesuffix(f"_{unit}")
        rows.append(
            pd.DataFrame(
                {
                    "group": values.species + " " + values.model + " " + name,
                    "value": np.log10(values[column]) if logged else values[column],
                    "unit": f"log10 {unit}" if logged else unit,
                }
            )
        )
    figures = []
    for unit, table in pd.concat(rows).groupby("unit") if rows else ():
        figure = plot_feature_distribution(table, "value", by="group", thresholds=(), unit=unit)
        figure.axes[0].set_title(f"fitted AHP parameters ({unit})")
        figures.append(_figure_tag(figure, f"fitted AHP parameters ({unit})"))
    errors = fitted.melt(
        id_vars=["species"], value_vars=[f"error_{f}" for f in FEATURES if f"error_{f}" in fitted]
    ).dropna()
    errors["group"] = errors.species + " " + errors.variable.str.removeprefix("error_")
    if len(errors):
        figure = plot_feature_distribution(errors, "value", by="group", thresholds=(-1, 1), top=20)
        figure.axes[0].set_title("feature error / tolerance (within: |x| <= 1)")
        figures.append(_figure_tag(figure, "feature errors"))
    return (
        '<section id="distributions"><h2>Distributions</h2><p class="note">Fitted AHP '
        "parameters by species and model, and every feature's error divided by its tolerance."
        "</p>" + "".join(figures) + "</section>"
    )


def _recovery_section(recovery: pd.DataFrame) -> str:
    if recovery.empty:
        return (
            '<section id="recovery"><h2>Parameter recovery</h2><p>Real cells: their true '
            "parameters are unknown. Run the default cohort (no --allen) to see how well fits "
            "recover known parameters.</p></section>"
        )
    known = recovery[recovery.identifiable]
    medians = (
        known.assign(abs_error=known.relative_error.abs())
        .groupby("parameter")
        .abs_error.median()
        .rename("median |relative error|")
        .to_frame()
    )
    return (
        '<section id="recovery"><h2>Parameter recovery</h2><p class="note">True against fitted '
        "parameters of the synthetic cells (all lif_ahp; a cell kept with two AHP currents "
        "shows its membrane parameters only). E_L and R are the cell's measured vrest and ri, "
        "so they are not shown. A cell whose AHP hardly acts (adaptation index < 0.02) does not "
        "pin down tau_ahp and b_ahp: those are drawn as crosses and left out of the medians.</p>"
        + _table_html(medians, index=True)
        + _figure_tag(plot_recovery(recovery), "recovery")
        + "</section>"
    )


def _cells_section(run: PipelineRun, cells: pd.DataFrame, settings: PipelineSettings) -> str:
    fitted = cells[cells.status == "fitted"]
    params = {int(r.specimen_id): fitted_parameters(r.to_dict()) for _, r in fitted.iterrows()}
    targets = {}
    for _, row in run.cells.iterrows():
        if int(row.specimen_id) in params:
            sweeps = (run.sweeps or {}).get(int(row.specimen_id))
            targets[int(row.specimen_id)] = CellTargets.from_row(row, sweeps)
    rates = simulate_cells(
        params, {s: t.protocol_amplitudes() for s, t in targets.items()}, settings.fit.dt_ms
    )
    heroes = {s: hero_amplitude(t.rheobase_pA, t.protocol_amplitudes()) for s, t in targets.items()}
    neurons = {f"fit {s}": p for s, p in params.items()}
    if run.truth is not None:
        from ahp_models import LifAhpParams

        for s in params:
            neurons[f"true {s}"] = LifAhpParams.from_row(run.truth.loc[s].to_dict())
    amplitudes = {key: heroes[int(key.split()[1])] for key in neurons}
    traces = simulate_traces(neurons, amplitudes, settings.fit.dt_ms)
    sections = []
    for _, row in cells.iterrows():
        specimen, figures = int(row.specimen_id), []
        if specimen in params:
            curve = rates.avg_rate_Hz[rates.specimen_id == specimen].to_numpy()
            figures.append(
                _figure_tag(
                    plot_cell_fit(row.to_dict(), targets[specimen], curve), f"fit of {specimen}"
                )
            )
            figures.append(
                _figure_tag(
                    plot_traces(
                        f"specimen {specimen}",
                        heroes[specimen],
                        traces[f"fit {specimen}"],
                        traces.get(f"true {specimen}"),
                    ),
                    f"trace of {specimen}",
                )
            )
        if row.get("mapped", False):
            figures.append(
                _figure_tag(plot_validation(run.validation, row.neuron), f"registers of {specimen}")
            )
        sections.append(_cell_section(row, figures))
    return '<section id="cells"><h2>Cells</h2>' + "".join(sections) + "</section>"
