"""Fitting speed and quality on the Allen Cell Types database.

Fits a selection of real cells (all 2333 by default) with `fitting.batch.fit_database` on local
worker processes and prints: cells fitted per minute, the wall time extrapolated to the whole
database, and the fractions of cells within tolerance per species (`fitting.quality`). As a
same-process reference for these noisy machines it also times one bare run of the compiled
fitting population (16 cells x 12 candidates x 11 amplitudes, 1 s) and states the fitting time
per cell in such runs: a machine-independent cost of a fit.

Usage: python bench/bench_fitting.py --allen DIR [--cells N] [--workers W] [--out DIR]
       [--fallback-model M|none]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.allen_tables import load_cells
from fitting.batch import fit_database
from fitting.engine import FitEngine, FitSettings
from fitting.pipeline import kept_refits
from fitting.quality import fit_quality
from fitting.space import FITTABLE_MODELS
from fitting.targets import CellTargets

DATABASE_CELLS = 2333


def _reference_run_seconds(cells: pd.DataFrame, settings: FitSettings, repeats: int = 5) -> float:
    """Best wall time of one simulation of a full fitting population (compiled once)."""
    targets = [CellTargets.from_row(row) for _, row in cells.head(64).iterrows()]
    targets = [t for t in targets if t.protocol_amplitudes().size == 11][: settings.slots]
    engine = FitEngine(settings, n_amplitudes=11)
    try:
        slots = [engine._new_slot(t) for t in targets]
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            engine._evaluate(slots)
            times.append(time.perf_counter() - start)
    finally:
        engine.close()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allen", type=Path, required=True)
    parser.add_argument("--cells", type=int, help="a seeded random selection of this many")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench_fitting_output"))
    parser.add_argument("--keep", action="store_true", help="resume an earlier output folder")
    parser.add_argument(
        "--fallback-model",
        default=FitSettings.fallback_model,
        choices=(*FITTABLE_MODELS, "none"),
        help="the model that refits the cells the first fit misses (none: no refit)",
    )
    args = parser.parse_args()

    cells = load_cells(args.allen)
    if args.cells:
        cells = cells.sample(args.cells, random_state=0).sort_values("specimen_id")
    if args.out.exists() and not args.keep:
        shutil.rmtree(args.out)
    fallback = None if args.fallback_model == "none" else args.fallback_model
    settings = FitSettings(fallback_model=fallback)
    reference_s = _reference_run_seconds(cells, settings)
    print(
        f"machine: {platform.processor() or platform.machine()}, {args.workers} worker(s); "
        f"reference: one fitting-population run takes {reference_s * 1e3:.1f} ms"
    )
    start = time.perf_counter()
    results = fit_database(cells, args.out, settings, workers=args.workers, progress=print)
    elapsed = time.perf_counter() - start
    fitted = int((results.status == "fitted").sum())
    rate = len(cells) / elapsed * 60
    print(
        f"fitted {fitted} of {len(cells)} cells in {elapsed / 60:.1f} min: {rate:.1f} cells/min "
        f"-> {DATABASE_CELLS} cells in {DATABASE_CELLS / rate:.1f} min (goal < 10 min)"
    )
    per_cell = elapsed * args.workers / len(cells)
    print(
        f"cost per cell: {per_cell:.2f} worker-s = {per_cell / reference_s:.0f} reference runs; "
        f"generations per fitted cell: median {np.median(results.generations.dropna()):.0f}"
    )
    if "first_model" in results:
        refitted = results[results.first_model.notna()]
        kept = kept_refits(refitted)
        print(
            f"refitted {len(refitted)} cells outside a tolerance with {settings.fallback_model}; "
            f"kept the refit for {int(kept.sum())}"
        )
    quality = fit_quality(results, cells)
    quality.to_csv(args.out / "fit_quality.csv")
    columns = ["n_cells", "n_fitted"] + [c for c in quality.columns if c.startswith("frac_")]
    with pd.option_context("display.width", 160):
        print("fractions within tolerance (AI 0.02, slope and avg_isi 10 %, rheobase 10 pA):")
        print(quality[columns].round(3).to_string())


if __name__ == "__main__":
    main()
