"""Map fitted cells to Loihi registers and compare them with their float models.

For every fitted cell of a results table (`ahp fit` output): the mapping at 1 ms steps, then
the float model (Brian2, the same step) and the registers (fixed-point simulator) on the
default long-square series (rheobase + -20..160 pA). Prints the fractions of cells within the
tolerances of `hardware_mapping.validation.TOLERANCES`, the distributions and the worst cells,
and writes per-sweep and per-cell tables.

Usage: python bench/validate_mapping.py RESULTS.csv [--cells N] [--seed S] [--out DIR]
       [--target lava]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fitting.evaluation import fitted_parameters
from hardware_mapping.validation import tolerance_summary, validate_long_squares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--cells", type=int, default=None, help="a random sample (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("mapping_validation"))
    parser.add_argument("--decay-rounding", default="nearest")
    parser.add_argument(
        "--target", choices=("loihi", "lava"), default="loihi",
        help="run the registers (loihi) or their Lava export (lava_export.to_lava)",
    )  # fmt: skip
    args = parser.parse_args()
    table = pd.read_csv(args.results)
    table = table[table["status"] == "fitted"]
    if args.cells is not None:
        table = table.sample(min(args.cells, len(table)), random_state=args.seed)
    neurons = {
        int(row["specimen_id"]): fitted_parameters(row.to_dict()) for _, row in table.iterrows()
    }
    start = time.perf_counter()
    result = validate_long_squares(
        neurons, decay_rounding=args.decay_rounding, progress=True, target=args.target
    )
    seconds = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    result.sweeps.to_csv(args.out / "sweeps.csv", index=False)
    cells = result.neurons.merge(
        table[["specimen_id", "species"]], left_on="neuron", right_on="specimen_id"
    ).drop(columns="specimen_id")
    cells.to_csv(args.out / "cells.csv", index=False)
    print(f"{len(neurons)} cells in {seconds:.0f} s")
    for species, group in [("all", cells), *cells.groupby("species")]:
        summary = tolerance_summary(group)
        print(f"{species:>6}: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items()))
    print("max relative count error, percentiles 50/90/95/99:",
          np.percentile(cells["max_count_error"], [50, 90, 95, 99]).round(4))  # fmt: skip
    print("gamma, percentiles 1/5/10/50:",
          np.nanpercentile(cells["gamma"], [1, 5, 10, 50]).round(3))  # fmt: skip
    print("max AI error, percentiles 50/90/95/99:",
          np.nanpercentile(cells["max_ai_error"], [50, 90, 95, 99]).round(4))  # fmt: skip
    worst = cells[~cells["passes"]].sort_values("gamma").head(15)
    print(worst[["neuron", "model", "species", "max_count_error", "max_ai_error", "gamma",
                 "reason"]].to_string(index=False))  # fmt: skip


if __name__ == "__main__":
    main()
