"""`ahp validate`: run a hardware parameter file against its float models on long squares."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from brian2 import ms, pA

from ahp.arguments import path_argument
from ahp.cell_mapping import MappedCell, cell_name, read_fit_table
from ahp.validation_output import write_features, write_validation
from hardware_mapping.energy import ENERGY_TABLES
from hardware_mapping.neuron_mapping import MappingError
from hardware_mapping.parameter_files import read_parameter_file
from hardware_mapping.validation import (
    check_protocol_step,
    long_square_amplitudes,
    validate_long_squares,
)

__all__ = ["add_arguments", "add_validation_options", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp validate``."""
    parser.add_argument("file", type=path_argument, help="a parameter file written by `ahp map`")
    parser.add_argument("--out", type=path_argument, default=Path("validation"))
    parser.add_argument(
        "--fits",
        type=path_argument,
        help="the fit results table the cells came from: also compare the registers' Allen "
        "features with each cell's (neurons named cell_<specimen_id>, as `ahp map` names them)",
    )
    add_validation_options(parser)


def add_validation_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``ahp map``."""
    parser.add_argument(
        "--energy-table",
        choices=sorted(ENERGY_TABLES),
        default="davies2018",
        help="energy figures of the estimate: Davies et al. 2018 Table 2, or SANA-FE's silicon fit",
    )
    parser.add_argument(
        "--figures", type=int, default=3, help="rasters of this many neurons (the worst first)"
    )
    parser.add_argument(
        "--backend",
        choices=("runtime", "cpp_standalone"),
        default="cpp_standalone",
        help="Brian2 backend of the float runs",
    )


def run(args: argparse.Namespace) -> dict[str, Path]:
    """Run ``ahp validate``; return the files written."""
    if args.figures < 0:
        raise MappingError(f"--figures {args.figures}: allowed: 0 or more")
    mappings = read_parameter_file(args.file)
    fits = None if args.fits is None else read_fit_table(args.fits)  # checked before any work
    neurons = {name: mapping.source_parameters() for name, mapping in mappings.items()}
    steps_ms = {mapping.dt_ms for mapping in mappings.values()}.pop()
    check_protocol_step(steps_ms, f"{args.file}: time_step_ms")
    for index, (name, mapping) in enumerate(mappings.items()):
        currents_pA = np.asarray(long_square_amplitudes(neurons[name]) / pA)
        low, high = mapping.current_range_pA
        if currents_pA.min() < low - 1e-9 or currents_pA.max() > high + 1e-9:
            raise MappingError(
                f"{args.file}: neurons[{index}] ({name}): current_range_pA [{low:g}, {high:g}] "
                f"does not hold the long squares' {currents_pA.min():g}..{currents_pA.max():g} "
                "pA; allowed: a file `ahp map` wrote for the long-square series"
            )
    result = validate_long_squares(
        neurons,
        dt=steps_ms * ms,
        backend=args.backend,
        mappings=mappings,
        progress=len(neurons) > 250,
    )
    written = write_validation(result, args.out, args.energy_table, args.figures)
    if fits is not None:
        by_name = {cell_name(s): s for s in fits["specimen_id"]}
        cells = {
            name: MappedCell(name, neurons[name], mapping, np.zeros(0) * pA,
                             {"specimen_id": int(by_name[name])})
            for name, mapping in mappings.items() if name in by_name
        }  # fmt: skip
        if not cells:
            raise MappingError(
                f"--fits {args.fits}: no neuron of {args.file} is named cell_<specimen_id> of "
                "a fitted cell in it"
            )
        written.update(write_features(fits, cells, args.out, dt_ms=steps_ms, backend=args.backend))
    return written
