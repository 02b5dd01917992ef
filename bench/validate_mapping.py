"""Map fitted cells to Loihi registers, search them against the float neuron, and validate.

For every fitted cell of a results table (`ahp fit` output), at 1 ms steps (``--dt``):

1. the reference, in the same process: the rounded registers (`map_neuron`) validated as the
   mapping was before the register search (no search, no sensitivity floors) - its time is
   the denominator of the printed ratio;
2. the product: `map_fitted_cells` (rounding, then the register search on the training
   amplitudes) and `validate_long_squares` on the scored series (rheobase + -20..160 pA):
   counts within max(1 spike, 2 %), adaptation index within 0.02, gamma against each float
   neuron's sensitivity floor, plain gamma >= 0.9, saturations and overflows;
3. Allen's cell features of the registers vs the cell, beside the float fit's
   (`ahp.feature_check`).

``--mappings FILE`` validates the registers of a parameter file instead of mapping (e.g. a
file written by an older version: the "before" column).

Usage: python bench/validate_mapping.py RESULTS.csv [--cells N] [--seed S] [--out DIR]
       [--mappings FILE] [--target lava] [--no-reference] [--dt MS]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from brian2 import ms

from ahp.cell_mapping import cell_name, map_fitted_cells
from ahp.feature_check import feature_summary, register_features
from fitting.evaluation import fitted_parameters
from hardware_mapping.parameter_files import read_parameter_file
from hardware_mapping.validation import (
    long_square_amplitudes,
    tolerance_summary,
    validate_long_squares,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--cells", type=int, default=None, help="a random sample (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("mapping_validation"))
    parser.add_argument("--mappings", type=Path, help="validate this parameter file's registers")
    parser.add_argument(
        "--target", choices=("loihi", "lava"), default="loihi",
        help="run the registers (loihi) or their Lava export (lava_export.to_lava)",
    )  # fmt: skip
    parser.add_argument("--no-reference", action="store_true", help="skip the timing reference")
    parser.add_argument("--dt", type=float, default=1.0, help="hardware step (ms)")
    args = parser.parse_args()
    table = pd.read_csv(args.results)
    table = table[table["status"] == "fitted"]
    if args.cells is not None:
        table = table.sample(min(args.cells, len(table)), random_state=args.seed)
    rows = [row.to_dict() for _, row in table.iterrows()]
    neurons = {cell_name(r["specimen_id"]): fitted_parameters(r) for r in rows}
    args.out.mkdir(parents=True, exist_ok=True)
    reference_s = np.nan
    if not args.no_reference and args.mappings is None:
        start = time.perf_counter()
        validate_long_squares(neurons, dt=args.dt * ms, search_rounds=0, floor_copies=0,
                              target=args.target)  # fmt: skip
        reference_s = time.perf_counter() - start
        print(f"reference (rounded registers, validated as before): {reference_s:.0f} s")
    start = time.perf_counter()
    if args.mappings is not None:
        given = read_parameter_file(args.mappings)
        mappings = {n: given[n] for n in neurons if n in given}
        mapped = None
    else:
        mapped, unmappable = map_fitted_cells(rows, dt_ms=args.dt, progress=print)
        mappings = {n: c.mapping for n, c in mapped.items()}
        for name, reason in unmappable.items():
            print(f"{name}: not mappable: {reason}")
    mapped_s = time.perf_counter() - start
    result = validate_long_squares(
        {n: neurons[n] for n in mappings},
        {n: long_square_amplitudes(neurons[n]) for n in mappings},
        dt=args.dt * ms,
        mappings=mappings,
        progress=True,
        target=args.target,
    )
    seconds = time.perf_counter() - start
    species = table.assign(neuron=[cell_name(s) for s in table["specimen_id"]])
    cells = result.neurons.merge(species[["neuron", "species"]], on="neuron")
    cells.to_csv(args.out / "cells.csv", index=False)
    result.sweeps.to_csv(args.out / "sweeps.csv", index=False)
    counters = result.counters
    print(f"{len(mappings)} cells: map + search {mapped_s:.0f} s, in all {seconds:.0f} s"
          + (f" ({seconds / reference_s:.2f}x the reference)" if reference_s == reference_s
             else ""))  # fmt: skip
    print(f"saturations {int(counters['saturations'].sum())}, overflows "
          f"{int(counters['overflows'].sum())}")  # fmt: skip
    for group_name, group in [("all", cells), *cells.groupby("species")]:
        summary = tolerance_summary(group)
        print(f"{group_name:>6}: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items()))
    print("gamma, percentiles 1/5/10/50:",
          np.nanpercentile(cells["gamma"], [1, 5, 10, 50]).round(3))  # fmt: skip
    margin = cells["gamma"] - cells["gamma_floor"]
    print(
        "gamma - floor, percentiles 1/5/10/50:", np.nanpercentile(margin, [1, 5, 10, 50]).round(3)
    )
    print(
        "floor, percentiles 5/25/50:", np.nanpercentile(cells["gamma_floor"], [5, 25, 50]).round(3)
    )
    sweeps = result.sweeps
    identical = (sweeps["float_count"] == sweeps["fixed_count"]).mean()
    print(f"per sweep: {identical:.1%} identical counts")
    if mapped is not None:
        features = register_features(table, mapped, dt_ms=args.dt)
        features.to_csv(args.out / "features.csv", index=False)
        print("Allen features within tolerance of the cell, float fit vs registers:")
        print(feature_summary(features).to_string(index=False))
    worst = cells[~cells["passes"]].assign(margin=margin).sort_values("margin").head(10)
    pd.set_option("display.max_colwidth", 200)
    print(worst[["neuron", "model", "species", "max_count_difference", "max_ai_error", "gamma",
                 "gamma_floor", "reason"]].to_string(index=False))  # fmt: skip


if __name__ == "__main__":
    main()
