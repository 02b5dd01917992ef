"""Spike counts of unseen sweeps: fitted AHP neurons against Allen's own GLIF3 fits.

For the cells of ``osb_longsquare_sweeps.csv`` (per-sweep spike counts of real Allen long
squares), each cell's sweeps are split by alternate amplitudes (`fitting.holdout`): the model is
fitted to the cell's Allen features plus one half (variant ``sweeps``, `ahp fit --sweeps`) or to
the features alone (variant ``features``), and both fits and Allen's GLIF3
(``glif_teeter2018_params_summary.csv``) predict the other half. Every model is scored on exactly
the same held-out sweeps: median and mean absolute spike-count error on the sweeps where the
cell spiked, the fractions within 1 and 3 spikes, and the direction of each cell's error.
Every table also scores ``interpolation``, the neuron-free reference: the fitted half's own
counts interpolated at the held-out amplitudes (`fitting.holdout.interpolated_counts`).

``--in-sample`` scores the sweeps the model was fitted to instead (the figure this bench used
to print, kept for comparison: it flatters the fit).

Usage: python bench/osb_spike_counts.py --allen DIR [--model lif_ahp] [--fallback-model M|none]
       [--workers 2] [--out DIR] [--variants sweeps,features] [--held-out 1] [--in-sample]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from analysis.allen_tables import load_cells
from fitting.batch import fit_database
from fitting.engine import FitSettings
from fitting.evaluation import glif3_sweep_counts, model_sweep_counts
from fitting.holdout import (
    error_signs,
    first_ascending_series,
    first_sweep_of_each_amplitude,
    interpolated_counts,
    score_spike_counts,
    split_alternate_amplitudes,
)
from fitting.space import FITTABLE_MODELS
from fitting.sweep_tables import read_sweep_summaries

#: Allen's f-I slope (spikes/s/pA) above which a cell counts as fast spiking.
FAST_SPIKING_SLOPE = 0.5
VARIANTS = ("sweeps", "features")


def _measured(sweeps: dict[int, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(
        [table.assign(specimen_id=specimen) for specimen, table in sweeps.items()],
        ignore_index=True,
    )[["specimen_id", "sweep", "amplitude_pA", "spike_count"]]


def _print_scores(title: str, scores: pd.DataFrame) -> None:
    print(title)
    for model, row in scores.iterrows():
        print(
            f"  {model:>8}: {row.cells:.0f} cells, {row.spiking_sweeps:.0f} spiking sweeps: median "
            f"|error| {row.median_error:.1f}, mean {row.mean_error:.2f}, within 1 "
            f"{row.within_1:.0%}, within 3 {row.within_3:.0%}; cells over-predicting "
            f"{row.over_cells:.0%}, under {row.under_cells:.0%}"
        )


def _print_kept_models(results: pd.DataFrame, cells: pd.DataFrame) -> None:
    """Which model each cell kept, and the fast-spiking cells among those of each model."""
    slope = cells.set_index("specimen_id").f_i_curve_slope
    for model, kept in results.groupby("model"):
        fast = kept.specimen_id[kept.specimen_id.map(slope) > FAST_SPIKING_SLOPE]
        print(
            f"  kept {model}: {len(kept)} cells, {len(fast)} of them fast spiking"
            + (f" ({', '.join(map(str, fast))})" if len(fast) else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allen", type=Path, required=True)
    parser.add_argument("--model", default="lif_ahp", choices=tuple(FITTABLE_MODELS))
    parser.add_argument(
        "--fallback-model",
        default=FitSettings.fallback_model,
        choices=(*FITTABLE_MODELS, "none"),
        help="the model that refits the cells the first fit misses (none: no refit)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("osb_spike_counts_output"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--held-out", type=int, default=1, choices=(0, 1))
    parser.add_argument("--in-sample", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    variants = args.variants.split(",")
    if not set(variants) <= set(VARIANTS):
        parser.error(f"--variants: choose from {', '.join(VARIANTS)}")

    sweeps = read_sweep_summaries(args.allen / "osb_longsquare_sweeps.csv")
    cells = load_cells(args.allen)
    cells = cells[cells.specimen_id.isin(sweeps)]
    fitted_half, held_out = split_alternate_amplitudes(sweeps, args.held_out)
    scored = fitted_half if args.in_sample else held_out
    table = _measured(scored)
    glif = glif3_sweep_counts(
        pd.read_csv(args.allen / "glif_teeter2018_params_summary.csv"), scored
    ).rename(columns={"glif3_spike_count": "glif3"})
    table = table.merge(glif.drop(columns="amplitude_pA"), on=["specimen_id", "sweep"], how="left")
    reference = interpolated_counts(fitted_half, scored).rename(
        columns={"interpolated_spike_count": "interpolation"}
    )
    table = table.merge(
        reference.drop(columns="amplitude_pA"), on=["specimen_id", "sweep"], how="left"
    )
    fallback = None if args.fallback_model == "none" else args.fallback_model
    settings = FitSettings(model=args.model, fallback_model=fallback, seed=args.seed)
    for variant in variants:
        start = time.perf_counter()
        results = fit_database(
            cells,
            args.out / f"fit_{variant}",
            settings,
            sweeps=fitted_half if variant == "sweeps" else None,
            workers=args.workers,
            progress=print,
        )
        print(f"variant {variant}: fitted in {time.perf_counter() - start:.0f} s")
        _print_kept_models(results, cells)
        counts = model_sweep_counts(results, scored, settings.dt_ms)
        table = table.merge(
            counts.drop(columns="amplitude_pA").rename(columns={"model_spike_count": variant}),
            on=["specimen_id", "sweep"],
            how="left",
        )
    slope = cells.set_index("specimen_id").f_i_curve_slope
    table["fast_spiking"] = table.specimen_id.map(slope) > FAST_SPIKING_SLOPE
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "sweep_counts.csv", index=False)

    fitted = table.dropna(subset=[*variants, "interpolation"])
    if len(fitted) < len(table.dropna(subset=variants)):
        print("left out: the sweeps of cells with no fitted sweep to interpolate")
    variants = [*variants, "interpolation"]  # scored alongside the fits from here on
    models = [*variants, "glif3"]
    per_cell = pd.concat(
        {model: error_signs(fitted.dropna(subset=[model]), model) for model in models}, axis=1
    )
    per_cell.columns = [f"{model}_{name}" for model, name in per_cell.columns]
    per_cell["fast_spiking"] = per_cell.index.map(slope) > FAST_SPIKING_SLOPE
    per_cell.to_csv(args.out / "cell_errors.csv")

    which = "fitted (in-sample)" if args.in_sample else "held-out"
    both = fitted.dropna(subset=["glif3"])
    _print_scores(
        f"{which} sweeps, all {fitted.specimen_id.nunique()} fitted cells:",
        score_spike_counts(fitted, variants),
    )
    _print_scores(
        f"{which} sweeps of the {both.specimen_id.nunique()} cells with a GLIF3 fit:",
        score_spike_counts(both, [*variants, "glif3"]),
    )
    first = fitted[first_sweep_of_each_amplitude(fitted)]
    _print_scores(
        f"the first {which} sweep of each amplitude only (later repeats show the cell's drift):",
        score_spike_counts(first.dropna(subset=["glif3"]), [*variants, "glif3"]),
    )
    rising = fitted[first_ascending_series(fitted)]
    _print_scores(
        f"{which} sweeps before the protocol first steps back down (later ones show the drift, "
        "new amplitudes included):",
        score_spike_counts(rising, variants),
    )
    _print_scores(
        "  of them on the cells with a GLIF3 fit:",
        score_spike_counts(rising.dropna(subset=["glif3"]), [*variants, "glif3"]),
    )
    fast = fitted[fitted.fast_spiking]
    fast_both = fast.dropna(subset=["glif3"])
    _print_scores(
        f"fast-spiking cells (Allen f-I slope > {FAST_SPIKING_SLOPE} spikes/s/pA):",
        score_spike_counts(fast, variants),
    )
    if len(fast_both):
        _print_scores("  of them with a GLIF3 fit:", score_spike_counts(fast_both, ["glif3"]))
    print(f"per-sweep table: {args.out / 'sweep_counts.csv'}; per cell: cell_errors.csv")


if __name__ == "__main__":
    main()
