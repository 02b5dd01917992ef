"""The pipeline report: one self-contained HTML page (figures embedded) and its tables as CSV.

``OUT/report/`` holds:

- ``index.html``: the run, the cohort summary, distributions, parameter recovery (synthetic
  cells), float-vs-registers agreement and energy, then one section per cell (its numbers, f-I
  curve and features, hero-sweep trace, and the registers' raster against the float model's);
- ``summary.csv``: per species and overall, cells fitted, fractions within the fit tolerances,
  cells mapped, fractions within the validation tolerances, energy;
- ``cells.csv``: per cell, the fitted parameters and the flags of its fit (``fit_flags``),
  every feature of cell and model with its normalised error, the largest quantization error of
  the mapping, the float-vs-registers agreement and the energy estimate (and, for synthetic
  cells, the true parameters);
- ``quantization.csv``: per cell the mapping's requested and realized quantities;
- ``recovery.csv`` (synthetic cells): true and fitted value of every parameter;
- ``flags.csv``: fitted values at a bound of the search or not fixed by the recordings
  (`fitting.fit_flags`), one row per cell and parameter.

Every number comes from the pipeline's own tables (`ahp.pipeline_settings.PipelineRun`), which
are those of `ahp fit` and `ahp map`: the report formats, it does not recompute. The fit's
sections are `fitting.fit_page`'s, as on `ahp fit`'s own page; the tables on the page have
human headers with units, the CSV files the machine-readable column names.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ahp.cell_mapping import cell_name
from ahp.feature_check import feature_summary
from ahp.report_figures import (
    hero_amplitude,
    plot_agreement,
    plot_recovery,
    plot_traces,
    simulate_traces,
)
from ahp_models import MODELS
from ahp_models.files import atomic_write_text
from analysis.column_labels import FEATURE_NAMES, parameter_label, quantity_label
from analysis.report_page import figure_tag, page_html, section_html, table_html
from fitting.evaluation import fitted_parameters, simulate_cells
from fitting.fit_flags import flag_table, flags_text
from fitting.fit_page import (
    PASSIVE_COLUMNS,
    cell_fit_html,
    cells_table_html,
    distribution_figures,
)
from fitting.pipeline import kept_refits
from fitting.quality import CRITERIA, fit_quality
from fitting.report import plot_cell_fit
from fitting.targets import CellTargets
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

__all__ = [
    "SECTIONS",
    "cell_table",
    "recovery_table",
    "summary_labels",
    "summary_table",
    "write_report",
]

#: Section ids of the page, in order (the per-cell sections follow as ``cell-<id>``).
SECTIONS = ("run", "summary", "distributions", "recovery", "hardware", "cells")
#: Headers of the float-vs-registers fractions (`hardware_mapping.validation.tolerance_summary`).
VALIDATION_NAMES = {
    "count_within": "spike counts within tolerance",
    "ai_within": "adaptation indices within tolerance",
    "gamma_at_floor": "gamma at the float neuron's floor",
    "gamma_at_least": f"gamma at least {TOLERANCES['gamma']}",
    "all": "within every tolerance",
}


def recovery_table(run: PipelineRun, flags: pd.DataFrame) -> pd.DataFrame:
    """True against fitted parameters of synthetic cells (those a fit frees: membrane time
    constant, threshold, reset, refractory period and the AHP; E_L and R are the cell's vrest
    and ri).

    A parameter counts as identifiable unless its fit is flagged ``unidentifiable``
    (`fitting.fit_flags`: e.g. a cell that hardly adapts does not pin down its AHP).
    """
    if run.truth is None:
        return pd.DataFrame()
    fitted = run.fits[run.fits.status == "fitted"].set_index("specimen_id")
    loose = flags[flags.kind == "unidentifiable"]
    loose = set(zip(loose.specimen_id, loose.column, strict=True))
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
                    else float("nan"),
                    "identifiable": (specimen, column) not in loose,
                }
            )
    return pd.DataFrame(rows)


def cell_table(run: PipelineRun, settings: PipelineSettings, flags: pd.DataFrame) -> pd.DataFrame:
    """One row per selected cell: fit and its flags, mapping, validation and energy (see the
    module doc)."""
    table = run.cells[["specimen_id", "species", "dendrite_type"]].merge(
        run.fits, on="specimen_id", how="left", suffixes=("", "_fit")
    )
    table.insert(1, "neuron", [cell_name(s) for s in table.specimen_id])
    table["fit_flags"] = [flags_text(flags, int(s)) for s in table.specimen_id]
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
        row["kept_refit"] = int(kept_refits(members).sum())
        row["median_cost"] = float(members.cost.median())
        for column in quality.columns:
            if column.startswith("frac_"):
                row[f"fit_{column}"] = float(quality.loc[species, column])
        row["mapped"] = len(mapped)
        if len(mapped):
            fractions = tolerance_summary(mapped.rename(columns={"validation_passes": "passes"}))
            for name in VALIDATION_NAMES:
                row[f"validation_{name}"] = fractions.get(name, float("nan"))
            row["median_gamma"] = float(mapped.gamma.median())
            row["median_dynamic_per_sweep_uJ"] = float(mapped.dynamic_per_sweep_uJ.median())
        rows[species] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("species")


def summary_labels() -> dict[str, str]:
    """Human headers, with units, of the `summary_table` columns."""
    labels = {
        "cells": quantity_label("selected", "cells"),
        "fitted": quantity_label("fitted", "cells"),
        "kept_refit": quantity_label("kept the refit (first model missed a tolerance)", "cells"),
        "median_cost": quantity_label("median fit cost", "1"),
        "mapped": quantity_label("mapped", "cells"),
        "median_gamma": quantity_label("median gamma factor, float vs registers", "1"),
        "median_dynamic_per_sweep_uJ": quantity_label("median dynamic energy per sweep", "uJ"),
    }
    for feature in CRITERIA:
        name = f"fit: {FEATURE_NAMES[feature]} within tolerance"
        labels[f"fit_frac_{feature}"] = quantity_label(name, "fraction")
    for name, text in VALIDATION_NAMES.items():
        labels[f"validation_{name}"] = quantity_label(f"registers: {text}", "fraction")
    return labels


#: Headers of `ahp.feature_check.feature_summary`, by column.
FEATURE_SUMMARY_LABELS = {
    "cells": quantity_label("cells", "cells"),
    "fit_within": quantity_label("float fit within", "fraction"),
    "float_within": quantity_label("float at the hardware step within", "fraction"),
    "registers_within": quantity_label("registers within", "fraction"),
    "difference": quantity_label("registers - fit", "fraction"),
    "quantization": quantity_label("registers - float at the same step", "fraction"),
}


def _features_html(features: pd.DataFrame) -> str:
    """The registers vs the cell, beside the float fit, as a paragraph and a table."""
    if features.empty:
        return ""
    summary = feature_summary(features)
    summary = summary.set_index(summary.feature.map(FEATURE_NAMES).rename("feature"))
    return (
        "<p>Allen's features of the registers (run on Allen's grid around the cell's rheobase) "
        "against the cell's, with the fit's tolerances, beside the float fit's own (at the "
        "fit's step) and the float neuron's at the hardware step: fractions of cells within "
        "tolerance.</p>"
        + table_html(summary.drop(columns="feature"), FEATURE_SUMMARY_LABELS, index=True)
    )


def _cell_section(row: pd.Series, flags: pd.DataFrame, figures: list[str]) -> str:
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
    title = f"specimen {row.specimen_id} ({row.species}, {row.get('model', 'not fitted')})"
    return section_html(
        f"cell-{row.specimen_id}",
        title,
        f"<p>cost {row.get('cost', float('nan')):.3g}; {verdict}</p>"
        + cell_fit_html(row, flags, figures),
        level=3,
    )


def write_report(
    run: PipelineRun, settings: PipelineSettings, say: Callable[[str], None] = print
) -> dict[str, Path]:
    """Write ``OUT/report`` (see the module docstring); return the files written."""
    folder = run.out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    flags = flag_table(
        run.fits, run.cells, dt_ms=settings.fit.dt_ms, fixed=dict(settings.fit.fixed)
    )
    cells = cell_table(run, settings, flags)
    summary = summary_table(run, cells)
    recovery = recovery_table(run, flags)
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
    files["flags"] = folder / "flags.csv"
    atomic_write_text(files["flags"], flags.to_csv(index=False))
    say("report: drawing figures")
    fitted = cells[cells.status == "fitted"]
    body = [
        _run_section(run, settings),
        section_html(
            "summary",
            "Summary",
            '<p class="note">Fit: fractions of cells within the fit tolerances (adaptation '
            "index 0.02, f-I slope and mean ISI 10 %, rheobase 10 pA); registers: fractions of "
            "mapped cells within the float-vs-registers tolerances.</p>"
            + table_html(summary.T, summary_labels(), index=True),
        ),
        section_html(
            "distributions",
            "Distributions",
            '<p class="note">Fitted AHP parameters by species and model, and every feature\'s '
            "error divided by its tolerance.</p>" + "".join(distribution_figures(fitted)),
        ),
        _recovery_section(recovery),
        section_html(
            "hardware",
            "Loihi mapping: agreement and energy",
            f"<p>Each mapped cell's registers run in the bit-accurate fixed-point simulator on "
            f"its long squares (rheobase -20 to +160 pA) at {settings.dt_ms:g} ms steps, against "
            f"the float model at the same step. Tolerances: every spike count within "
            f"max({TOLERANCES['count_spikes']} spike, {TOLERANCES['count_relative']:.0%}), "
            f"adaptation indices within {TOLERANCES['adaptation_index']}, and the gamma factor "
            "(2 ms) at or above the float neuron's own sensitivity floor: the 5th percentile of "
            "the gammas between the float neuron and 20 copies of it with every parameter moved "
            f"by 1e-4 (the plain gamma >= {TOLERANCES['gamma']} is counted too). The registers "
            "were chosen by a search of their integer neighbourhood on the amplitudes between "
            "the scored ones. Energy: "
            f"{html.escape(settings.energy_table)} figures from the simulator's counters.</p>"
            + _features_html(run.features)
            + figure_tag(
                plot_agreement(cells[cells.mapped.fillna(False).astype(bool)]),
                "agreement and energy",
            ),
        ),
        _cells_section(run, cells, flags, settings),
    ]
    page = page_html(
        f"ahp pipeline report: {run.out}",
        "AHP neurons: fits, Loihi mapping and validation",
        SECTIONS,
        body,
    )
    files["html"] = folder / "index.html"
    atomic_write_text(files["html"], page)
    return files


def _run_section(run: PipelineRun, settings: PipelineSettings) -> str:
    source = settings.allen or "the built-in default cohort (synthetic cells, fitting/cohort.py)"
    fit = settings.fit
    return section_html(
        "run",
        "Run",
        f"<p>Cells: {len(run.cells)} from {html.escape(str(source))} "
        f"({', '.join(settings.species)}, "
        f"{'all' if settings.limit is None else f'at most {settings.limit}'} per species). "
        f"Fit: {fit.model} (refit: {fit.fallback_model or 'none'}), CMA-ES population "
        f"{fit.popsize}, {fit.max_generations} generations, seed {fit.seed}, "
        f"{fit.steps_text()}. "
        f"Hardware: Loihi 1 at {settings.dt_ms:g} ms steps, decay rounding "
        f"{html.escape(settings.decay_rounding)}. Toolkit {html.escape(toolkit_version())}."
        "</p><p class='note'>Tables: summary.csv, cells.csv, quantization.csv, flags.csv"
        + (", recovery.csv" if run.truth is not None else "")
        + " beside this page (machine-readable column names); parameter files in ../hardware/."
        "</p>",
    )


def _recovery_section(recovery: pd.DataFrame) -> str:
    if recovery.empty:
        return section_html(
            "recovery",
            "Parameter recovery",
            "<p>Real cells: their true parameters are unknown. Run the default cohort (no "
            "--allen) to see how well fits recover known parameters.</p>",
        )
    known = recovery[recovery.identifiable]
    medians = (
        known.assign(abs_error=known.relative_error.abs())
        .groupby("parameter")
        .abs_error.median()
        .rename("median_abs_relative_error")
        .to_frame()
    )
    classes = [MODELS[m].params_class for m in sorted(set(recovery.model))]
    labels = {p: parameter_label(p, classes) for p in medians.index}
    labels["median_abs_relative_error"] = quantity_label("median |relative error|", "fraction")
    return section_html(
        "recovery",
        "Parameter recovery",
        '<p class="note">True against fitted parameters of the synthetic cells (all lif_ahp; a '
        "cell kept with two AHP currents shows its membrane parameters only). E_L and R are "
        "the cell's measured vrest and ri, so they are not shown. A parameter the recordings "
        "do not pin down (flagged not identifiable: the cell hardly adapts, an AHP time "
        "constant far beyond the 1 s step, an AHP increment about 0) is drawn as a cross and "
        "left out of the medians. Time constants, resistances and increments are on log axes, "
        "potentials on linear ones.</p>"
        + table_html(medians, labels, index=True)
        + figure_tag(plot_recovery(recovery), "recovery"),
    )


def _cells_section(
    run: PipelineRun, cells: pd.DataFrame, flags: pd.DataFrame, settings: PipelineSettings
) -> str:
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
                figure_tag(
                    plot_cell_fit(row.to_dict(), targets[specimen], curve), f"fit of {specimen}"
                )
            )
            figures.append(
                figure_tag(
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
                figure_tag(plot_validation(run.validation, row.neuron), f"registers of {specimen}")
            )
        sections.append(_cell_section(row, flags, figures))
    overview = (
        '<p class="note">Every selected cell, with the flags of its fit: a value at a bound '
        "of the search, or one the recordings do not pin down (notes in the cell's section). "
        "E_L and R are the cell's vrest and ri, shown in each cell's section.</p>"
        + cells_table_html(cells, flags)
    )
    return section_html("cells", "Cells", overview + "".join(sections))
