"""`ahp pipeline`: cells -> fits -> Loihi parameter files -> validation -> report, resumably."""

from __future__ import annotations

import argparse
from pathlib import Path

from ahp.arguments import path_argument
from ahp.fit_command import add_fit_options, check_at_least, fit_settings
from ahp.pipeline import SPECIES, PipelineRun, PipelineSettings, run_pipeline
from ahp.validate_command import add_validation_options
from fitting.allen_api import AllenCache, default_cache_folder
from hardware_mapping.neuron_mapping import DECAY_ROUNDINGS

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp pipeline``."""
    data = parser.add_argument_group("cells (default: the built-in synthetic cohort)")
    source = data.add_mutually_exclusive_group()
    source.add_argument(
        "--allen", type=path_argument, help="folder with the Allen feature and specimen tables"
    )
    source.add_argument(
        "--cache",
        action="store_true",
        help=f"the Allen tables `ahp fetch` downloaded into {default_cache_folder()}",
    )
    data.add_argument(
        "--species",
        choices=(*SPECIES, "both"),
        default="both",
        help="cells of this species (default: both)",
    )
    data.add_argument("--limit", type=int, help="at most this many cells per species")
    add_fit_options(parser)
    hardware = parser.add_argument_group("hardware")
    hardware.add_argument("--dt", type=float, default=1.0, help="hardware time step (ms)")
    hardware.add_argument("--decay-rounding", choices=DECAY_ROUNDINGS, default="nearest")
    add_validation_options(hardware)
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--out", type=path_argument, default=Path("pipeline_output"))
    run_group.add_argument(
        "--workers", type=int, default=0, help="local worker processes of the fit (0: this one)"
    )


def run(args: argparse.Namespace) -> PipelineRun:
    """Run ``ahp pipeline``; return what it produced."""
    check_at_least(
        ("--limit", args.limit, 1), ("--workers", args.workers, 0), ("--figures", args.figures, 0)
    )
    allen = args.allen
    if args.cache:
        allen = AllenCache(default_cache_folder(), offline=True).tables()
    settings = PipelineSettings(
        allen=None if allen is None else str(allen),
        species=SPECIES if args.species == "both" else (args.species,),
        limit=args.limit,
        fit=fit_settings(args),
        dt_ms=args.dt,
        decay_rounding=args.decay_rounding,
        energy_table=args.energy_table,
        backend=args.backend,
    )
    result = run_pipeline(settings, args.out, workers=args.workers, report_figures=args.figures)
    hardware = args.out / "hardware"
    print(f"pipeline: report:          {result.files['html']}")
    print(f"pipeline: tables:          {result.files['html'].parent}/*.csv")
    print(
        f"pipeline: parameter files: {hardware}/cell_<id>.json ({len(result.mapped)} cells), "
        f"{result.files['all cells']} (all)"
    )
    return result
