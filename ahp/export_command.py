"""``ahp export``: fitted cells and mapped networks in other tools' formats.

- ``ahp export glif FITS --out DIR``: one Allen GLIF3 ``neuron_config`` JSON per fitted cell
  (allensdk, BMTK/SONATA, NEST's ``glif_psc``), `ahp_models.glif_export`.
- ``ahp export nir PARAMETER_FILE --out FILE.nir``: a network parameter file as a NIR graph
  (`hardware_mapping.nir_export`); what NIR cannot express is printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from brian2 import ms

from ahp.arguments import path_argument
from ahp.cell_mapping import cell_provenance, select_fitted_rows
from ahp.fit_command import specimen_ids
from ahp_models.glif_export import SCHEMES, glif_neuron_config, write_neuron_config
from ahp_models.output_folders import check_output_file
from fitting.engine import FitSettings
from fitting.evaluation import fitted_parameters
from hardware_mapping.neuron_mapping import MappingError
from hardware_mapping.parameter_files import read_network_file

__all__ = ["add_arguments", "run_glif", "run_nir"]

#: the step of Allen's own GLIF3 configs is 0.05 ms; ours default to the fitting step
DEFAULT_DT_MS = FitSettings().dt_ms
DT_RANGE_MS = (0.001, 10.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``ahp export glif`` and ``ahp export nir``."""
    formats = parser.add_subparsers(dest="format", required=True)
    glif = formats.add_parser(
        "glif",
        help="fitted cells as Allen GLIF3 neuron configs (allensdk, BMTK, NEST)",
        description="Write one Allen GLIF3 neuron_config JSON per fitted cell of an `ahp fit` "
        "table. Scheme 'allen' makes allensdk's forward-Euler step at --dt reproduce the "
        "toolkit's exact step (spike for spike); 'exact' gives the continuous-time "
        "parameters, for simulators that integrate the membrane exactly (NEST).",
    )
    glif.add_argument("results", type=path_argument, help="fit results table (`ahp fit` output)")
    glif.add_argument("--out", type=path_argument, default=Path("glif"))
    glif.add_argument("--specimen", type=specimen_ids, help="specimen ids, comma separated")
    glif.add_argument("--limit", type=int, help="at most this many cells")
    glif.add_argument(
        "--dt",
        type=float,
        default=DEFAULT_DT_MS,
        help=f"the configs' time step in ms (default {DEFAULT_DT_MS:g}, the fitting step)",
    )
    glif.add_argument("--scheme", choices=SCHEMES, default="allen")
    glif.set_defaults(handler=run_glif, output_folder="out")
    nir = formats.add_parser(
        "nir",
        help="a network parameter file as a NIR graph (needs the nir extra)",
        description="Write the float view of a network parameter file (`ahp network export`, "
        "`ahp map --population`) as a NIR graph (HDF5) for other neuromorphic tools, and list "
        "what NIR cannot express of it.",
    )
    nir.add_argument("file", type=path_argument, help="a network parameter file (JSON)")
    nir.add_argument("--out", type=path_argument, required=True, help="the .nir file to write")
    nir.set_defaults(handler=run_nir)


def run_glif(args: argparse.Namespace) -> dict[str, Path]:
    """Write one GLIF3 neuron config per selected cell; return the files by cell."""
    low_ms, high_ms = DT_RANGE_MS
    if not low_ms <= args.dt <= high_ms:  # NaN and inf too
        raise MappingError(f"--dt {args.dt}: allowed: a step from {low_ms:g} to {high_ms:g} ms")
    if args.limit is not None and args.limit < 1:
        raise MappingError(f"--limit {args.limit}: allowed: at least 1")
    table = select_fitted_rows(args.results, args.specimen, args.limit)
    written = {}
    for _, row in table.iterrows():
        provenance = cell_provenance(row.to_dict())
        params = fitted_parameters(row.to_dict())
        config = glif_neuron_config(params, args.dt * ms, scheme=args.scheme, provenance=provenance)
        path = args.out / f"cell_{provenance['specimen_id']}.json"
        written[provenance["specimen_id"]] = write_neuron_config(config, path)
    print(
        f"wrote {len(written)} GLIF3 neuron configs ({args.scheme} scheme, dt {args.dt:g} ms) "
        f"to {args.out}"
    )
    return written


def run_nir(args: argparse.Namespace) -> Path:
    """Write a network parameter file as a NIR graph; return its path."""
    from hardware_mapping.nir_export import write_nir_file

    check_output_file(args.out)  # before the file is read
    exported = write_nir_file(args.out, read_network_file(args.file))
    print(f"wrote {args.out}")
    for note in exported.unsupported:
        print(f"  not in NIR: {note}")
    return args.out
