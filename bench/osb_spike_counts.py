"""Spike counts per measured sweep: fitted AHP neurons against Allen's own GLIF3 fits.

For the 40 cells of ``osb_longsquare_sweeps.csv`` (per-sweep spike counts of real Allen long
squares), fits the chosen model to each cell's Allen features and whole measured f-I curve
(`ahp fit --sweeps`), re-runs the fitted neurons on every measured sweep, and does the same with
Allen's GLIF3 parameters (``glif_teeter2018_params_summary.csv``) for the cells that have them.
Prints the median absolute spike-count error per sweep of both, on the same sweeps, and writes
the per-sweep table.

Usage: python bench/osb_spike_counts.py --allen DIR [--model lif_ahp] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from analysis.allen_tables import load_cells
from fitting.batch import fit_database
from fitting.engine import FitSettings
from fitting.evaluation import glif3_sweep_counts, model_sweep_counts
from fitting.sweep_tables import read_sweep_summaries


def _summary(table: pd.DataFrame, column: str) -> str:
    """Absolute spike-count errors, on the sweeps where the cell spiked (subthreshold sweeps
    are exact for nearly any model and would make every median 0) and on all sweeps."""
    spiking = table[table.spike_count > 0]
    error = (spiking[column] - spiking.spike_count).abs()
    every = (table[column] - table.spike_count).abs()
    return (
        f"{len(spiking)} spiking sweeps: median |error| {error.median():.1f} spikes, mean "
        f"{error.mean():.2f}, 90th percentile {error.quantile(0.9):.1f}; all {len(table)} "
        f"sweeps: mean {every.mean():.2f}, exact on {(every == 0).mean():.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allen", type=Path, required=True)
    parser.add_argument("--model", default="lif_ahp", choices=("lif_ahp", "lif_multi_ahp"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("osb_spike_counts_output"))
    args = parser.parse_args()

    sweeps = read_sweep_summaries(args.allen / "osb_longsquare_sweeps.csv")
    cells = load_cells(args.allen)
    cells = cells[cells.specimen_id.isin(sweeps)]
    settings = FitSettings(model=args.model)
    results = fit_database(
        cells, args.out, settings, sweeps=sweeps, workers=args.workers, progress=print
    )
    ours = model_sweep_counts(results, sweeps, settings.dt_ms)
    glif = glif3_sweep_counts(
        pd.read_csv(args.allen / "glif_teeter2018_params_summary.csv"), sweeps
    )
    measured = pd.concat(
        [table.assign(specimen_id=specimen) for specimen, table in sweeps.items()]
    )[["specimen_id", "sweep", "spike_count"]]
    table = measured.merge(ours, on=["specimen_id", "sweep"], how="left").merge(
        glif.drop(columns="amplitude_pA"), on=["specimen_id", "sweep"], how="left"
    )
    table.to_csv(args.out / "sweep_counts.csv", index=False)
    fitted = table.dropna(subset=["model_spike_count"])
    both = fitted.dropna(subset=["glif3_spike_count"])
    print(
        f"{args.model}: {fitted.specimen_id.nunique()} of {len(sweeps)} cells fitted; "
        f"{_summary(fitted, 'model_spike_count')}"
    )
    print(f"the same sweeps of the {both.specimen_id.nunique()} cells with a GLIF3 fit:")
    print(f"  {args.model}: {_summary(both, 'model_spike_count')}")
    print(f"  Allen GLIF3: {_summary(both, 'glif3_spike_count')}")
    print(f"per-sweep table: {args.out / 'sweep_counts.csv'}")


if __name__ == "__main__":
    main()
