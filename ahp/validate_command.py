"""`ahp validate`: run a hardware parameter file against its float models on long squares."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from brian2 import ms

from ahp_models.files import atomic_write_text
from hardware_mapping.energy import ENERGY_TABLES, estimate_energy
from hardware_mapping.parameter_files import read_parameter_file
from hardware_mapping.validation import ValidationResult, validate_long_squares

__all__ = ["add_arguments", "run", "write_validation"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp validate``."""
    parser.add_argument("file", type=Path, help="a parameter file written by `ahp map`")
    parser.add_argument("--out", type=Path, default=Path("validation"))
    add_validation_options(parser)


def add_validation_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``ahp map``."""
    parser.add_argument(
        "--energy-table",
        choices=sorted(ENERGY_TABLES),
        default="davies2018",
        help="energy figures of the estimate (DOMAIN.md §5)",
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
    mappings = read_parameter_file(args.file)
    neurons = {name: mapping.source_parameters() for name, mapping in mappings.items()}
    steps = {mapping.dt_ms for mapping in mappings.values()}
    result = validate_long_squares(
        neurons,
        dt=steps.pop() * ms,
        backend=args.backend,
        mappings=mappings,
        progress=len(neurons) > 250,
    )
    return write_validation(result, args.out, args.energy_table, args.figures)


def write_validation(
    result: ValidationResult, out: Path, energy_table: str, figures: int
) -> dict[str, Path]:
    """Write a validation's tables, energy estimate and figures; print its summary.

    Parameters
    ----------
    result : ValidationResult
        The validation.
    out : pathlib.Path
        Output folder (created).
    energy_table : str
        Energy figures (`hardware_mapping.energy.ENERGY_TABLES`).
    figures : int
        Rasters of this many neurons, those with the lowest gamma first.

    Returns
    -------
    dict of str to pathlib.Path
        The files written.
    """
    from analysis.figures import save_figure
    from hardware_mapping.figures import plot_validation

    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in (("neurons", result.neurons), ("sweeps", result.sweeps)):
        written[name] = out / f"validation_{name}.csv"
        atomic_write_text(written[name], table.to_csv(index=False))
    sweeps = len(result.sweeps)
    energy = estimate_energy(result.counters, table=energy_table)
    energy_row = pd.DataFrame(
        [
            {
                "table": energy.table,
                "sweeps": sweeps,
                "dynamic_J": energy.dynamic_J,
                "static_J": energy.static_J,
                "dynamic_per_sweep_J": energy.dynamic_J / max(sweeps, 1),
                "latency_s": energy.latency_s,
                "cores": energy.cores,
                "chips": energy.chips,
            }
        ]
    )
    written["energy"] = out / "energy.csv"
    atomic_write_text(written["energy"], energy_row.to_csv(index=False))
    worst = result.neurons.dropna(subset=["gamma"]).sort_values("gamma")["neuron"]
    for neuron in list(worst)[: max(figures, 0)]:
        for path in save_figure(plot_validation(result, neuron), out / f"validation_{neuron}"):
            written[f"figure {neuron}"] = path
    summary = result.summary()
    print(
        f"validate: {int(summary['neurons'])} neurons, {sweeps} sweeps; within tolerances: "
        f"spike count {summary['count_within']:.1%}, adaptation index "
        f"{summary['ai_within']:.1%}, gamma {summary['gamma_at_least']:.1%}, all "
        f"{summary['all']:.1%}"
    )
    print(
        f"validate: energy ({energy.table}) {energy.dynamic_J / max(sweeps, 1) * 1e6:.3g} uJ "
        f"dynamic per 2.02 s sweep, static {energy.static_J * 1e6:.3g} uJ over "
        f"{energy.latency_s * 1e3:.3g} ms of chip time on {energy.cores} cores"
    )
    print(f"validate: wrote {out}")
    return written
