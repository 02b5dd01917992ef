"""`ahp map`: fitted cells -> Loihi parameter files, with their validation."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from brian2 import ms

from ahp.arguments import path_argument
from ahp.cell_mapping import map_fitted_cells, select_fitted_rows
from ahp.feature_check import has_cell_features
from ahp.fit_command import specimen_ids
from ahp.validate_command import add_validation_options
from ahp.validation_output import tolerance_line, write_features, write_validation
from ahp_models.files import atomic_write_text
from ahp_models.output_folders import safe_file_name
from hardware_mapping.lava_export import to_lava, write_lava_file
from hardware_mapping.neuron_mapping import DECAY_ROUNDINGS, TIME_STEP_RANGE_MS, MappingError
from hardware_mapping.parameter_files import write_parameter_file
from hardware_mapping.register_search import SEARCH_ROUNDS
from hardware_mapping.validation import (
    check_protocol_step,
    quantization_table,
    validate_long_squares,
)

__all__ = ["add_arguments", "run"]

_log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp map``."""
    parser.add_argument("results", type=path_argument, help="fit results table (`ahp fit` output)")
    parser.add_argument("--out", type=path_argument, default=Path("hardware"))
    parser.add_argument("--specimen", type=specimen_ids, help="specimen ids, comma separated")
    parser.add_argument("--limit", type=int, help="at most this many cells")
    parser.add_argument("--dt", type=float, default=1.0, help="hardware time step (ms)")
    parser.add_argument("--decay-rounding", choices=DECAY_ROUNDINGS, default="nearest")
    parser.add_argument(
        "--search-rounds",
        type=int,
        default=SEARCH_ROUNDS,
        help="rounds of the register search against the float neuron (0: the rounded registers)",
    )
    parser.add_argument(
        "--population",
        help="write one file NAME.json holding every cell (default: one file per cell)",
    )
    parser.add_argument(
        "--lava",
        action="store_true",
        help="also export Lava LIF/Dense parameters (NAME.lava.json) for the long-square "
        "currents, and validate that export",
    )
    parser.add_argument("--no-validate", action="store_true", help="skip the validation")
    add_validation_options(parser)


def run(args: argparse.Namespace) -> dict[str, Path]:
    """Run ``ahp map``; return the files written."""
    low_ms, high_ms = TIME_STEP_RANGE_MS
    if not low_ms <= args.dt <= high_ms:  # NaN and inf too
        raise MappingError(f"--dt {args.dt}: allowed: a step from {low_ms:g} to {high_ms:g} ms")
    check_protocol_step(args.dt, "--dt")
    if args.population is not None:
        safe_file_name(args.population, "--population")
    if args.figures < 0:
        raise MappingError(f"--figures {args.figures}: allowed: 0 or more")
    if not 0 <= args.search_rounds <= 1000:  # the search stops when no neuron moves
        raise MappingError(f"--search-rounds {args.search_rounds}: allowed: 0 to 1000")
    if args.limit is not None and args.limit < 1:
        raise MappingError(f"--limit {args.limit}: allowed: at least 1")
    table = select_fitted_rows(args.results, args.specimen, args.limit)
    neurons, mappings, provenance, currents = {}, {}, {}, {}
    cells, unmappable = map_fitted_cells(
        [row.to_dict() for _, row in table.iterrows()],
        dt_ms=args.dt,
        decay_rounding=args.decay_rounding,
        search_rounds=args.search_rounds,
        backend=args.backend,
        progress=_log.info if len(table) > 250 else None,
    )
    for name, error in unmappable.items():
        print(f"map: {name} left out: {error}")
    for cell in cells.values():
        neurons[cell.name] = cell.params
        mappings[cell.name] = cell.mapping
        currents[cell.name] = cell.currents
        provenance[cell.name] = cell.provenance
    if not mappings:
        raise MappingError(f"{args.results}: no cell could be mapped")
    out: Path = args.out
    written: dict[str, Path] = {}
    groups = {args.population: list(mappings)} if args.population else {n: [n] for n in mappings}
    for file_name, names in groups.items():
        written[file_name] = write_parameter_file(
            out / f"{file_name}.json",
            {n: mappings[n] for n in names},
            provenance={n: provenance[n] for n in names},
        )
        if args.lava:
            written[f"{file_name} lava"] = write_lava_file(
                out / f"{file_name}.lava.json",
                {n: mappings[n] for n in names},
                {n: currents[n] for n in names},
            )
    written["quantization"] = out / "quantization.csv"
    atomic_write_text(written["quantization"], quantization_table(mappings).to_csv(index=False))
    print(f"map: {len(mappings)} cells mapped at {args.dt:g} ms steps into {out}")
    if not args.no_validate:
        result = validate_long_squares(
            neurons,
            dt=args.dt * ms,
            backend=args.backend,
            mappings=mappings,
            progress=len(neurons) > 250,
        )
        written.update(write_validation(result, out, args.energy_table, args.figures))
        if has_cell_features(table):  # a table `ahp fit` wrote
            written.update(write_features(table, cells, out, dt_ms=args.dt, backend=args.backend))
        if args.lava:
            written.update(_validate_lava(neurons, mappings, args, out))
    return written


def _validate_lava(neurons, mappings, args, out: Path) -> dict[str, Path]:
    """Run the Lava exports against the float models; write and summarize the tables."""
    result = validate_long_squares(
        neurons, dt=args.dt * ms, backend=args.backend, mappings=mappings, target="lava"
    )
    exact = sum(to_lava(m).exact for m in mappings.values())
    written = {}
    for name, table in (("neurons", result.neurons), ("sweeps", result.sweeps)):
        written[f"lava {name}"] = out / f"lava_validation_{name}.csv"
        atomic_write_text(written[f"lava {name}"], table.to_csv(index=False))
    summary = result.summary()
    print(f"validate (lava): {exact} of {len(mappings)} exports exact; {tolerance_line(summary)}")
    return written
