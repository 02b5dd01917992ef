"""The ``ahp`` command line."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from ahp import (
    allen_summary_command,
    fetch_command,
    filter_study_command,
    fit_command,
    map_command,
    network_command,
    pipeline_command,
    simulate_command,
    validate_command,
)
from ahp_models.errors import UserError
from ahp_models.output_folders import claim_output_folder

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``ahp`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="ahp", description="Neurons with after-hyperpolarizing currents, on Brian2."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pipeline = commands.add_parser(
        "pipeline",
        help="the main job: cells -> fits -> Loihi parameter files -> validation -> report",
        description="Fit AHP neurons to cells (the built-in synthetic cohort, or Allen's tables "
        "with --allen/--cache), map them to Loihi 1 registers, validate them in the "
        "bit-accurate fixed-point simulator, write the hardware parameter files and an HTML "
        "report with its tables. Every stage resumes where a stopped run left off.",
    )
    pipeline_command.add_arguments(pipeline)
    pipeline.set_defaults(output_folder="out", handler=pipeline_command.run)
    simulate = commands.add_parser(
        "simulate",
        help="simulate a model on a stimulus protocol",
        description="Simulate a catalogue model; write spikes, traces (CSV/NPZ), a summary and "
        "a figure.",
    )
    simulate_command.add_arguments(simulate)
    simulate.set_defaults(output_folder="out", handler=simulate_command.run)
    summary = commands.add_parser(
        "allen-summary",
        help="adaptation and feature statistics of the Allen Cell Types tables",
        description="Fractions of adapting cells and feature quantiles by species and cell class, "
        "with distribution figures (PNG and SVG).",
    )
    allen_summary_command.add_arguments(summary)
    summary.set_defaults(output_folder="out", handler=allen_summary_command.run)
    fit = commands.add_parser(
        "fit",
        help="fit AHP neurons to Allen cells (resumable, parallel)",
        description="Fit a selection of Allen cells; checkpoints every cell, resumes a killed "
        "run, writes one results table.",
    )
    fit_command.add_arguments(fit)
    fit.set_defaults(output_folder="out", handler=fit_command.run)
    fetch = commands.add_parser(
        "fetch",
        help="download the Allen Cell Types tables and NWB files into a local cache",
        description="Fetch the specimen and feature tables (RMA API) and chosen cells' NWB "
        "files; resumable, checked against sizes and a SHA-256 manifest, with an offline mode.",
    )
    fetch_command.add_arguments(fetch)
    fetch.set_defaults(output_folder="cache", handler=fetch_command.run)
    mapping = commands.add_parser(
        "map",
        help="map fitted cells to Loihi parameter files and validate them",
        description="Map fitted cells (an `ahp fit` results table) to Loihi 1 registers at a "
        "hardware time step; write one parameter file per cell or one for the population, the "
        "quantization report, and the validation against the float models.",
    )
    map_command.add_arguments(mapping)
    mapping.set_defaults(output_folder="out", handler=map_command.run)
    validate = commands.add_parser(
        "validate",
        help="run a parameter file against its float models on long squares",
        description="Run the registers of a parameter file in the bit-accurate fixed-point "
        "simulator and their source models in Brian2 on the Allen long-square series; report "
        "spike-count, adaptation-index and gamma-factor agreement, energy, and figures.",
    )
    validate_command.add_arguments(validate)
    validate.set_defaults(output_folder="out", handler=validate_command.run)
    study = commands.add_parser(
        "filter-study",
        help="AHP neurons as fading-memory filters: single-neuron filters and population "
        "memory vs LIF and ALIF controls",
        description="Run a filter study from a config (TOML/JSON) or a built-in one "
        "(reference, demo): Bode plots and Wiener kernels of one neuron, ridge readouts of "
        "delay lines, integrators, Volterra terms and a recall task from rate-matched "
        "populations; results table, figures and a written summary. Resumes per seed.",
    )
    filter_study_command.add_arguments(study)
    study.set_defaults(handler=filter_study_command.run)
    network = commands.add_parser(
        "network",
        help="trained spiking networks (the paper's sequential MNIST): bit-accurate and float "
        "runs, accuracy, energy, hardware parameter files",
        description="Run a trained network described once (a built-in one or a TOML "
        "description): the chip's integer arithmetic and float, or export its hardware "
        "parameter file.",
    )
    network_command.add_arguments(network)
    models = commands.add_parser(
        "models", help="list the catalogue's models and the variables they can record"
    )
    models.set_defaults(handler=lambda _: print(simulate_command.describe_models()))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ahp`` command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with contextlib.ExitStack() as claims:
            # claim (and lock) the output folder before any work
            option = getattr(args, "output_folder", None)
            if option is not None and getattr(args, option) is not None:
                folder = getattr(args, option)
                claims.enter_context(claim_output_folder(folder, f"--{option.replace('_', '-')}"))
            args.handler(args)
    except UserError as err:  # anything else is a bug of the toolkit: keep its traceback
        print(f"ahp {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
