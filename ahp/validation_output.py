"""A validation's files: its tables, the energy estimate and rasters of the worst neurons.

`ahp validate`, `ahp map` and `ahp pipeline` write their validations through
`write_validation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ahp.cell_mapping import MappedCell
from ahp.feature_check import feature_summary, register_features
from ahp_models.files import atomic_write_text
from hardware_mapping.energy import estimate_energy
from hardware_mapping.validation import ValidationResult

__all__ = ["tolerance_line", "write_features", "write_validation"]


def write_features(
    fits: pd.DataFrame, cells: Mapping[str, MappedCell], out: Path, *, dt_ms: float, backend: str
) -> dict[str, Path]:
    """Allen's features of the cells, their fits and their registers (`ahp.feature_check`):
    ``features.csv`` and a printed summary.

    Parameters
    ----------
    fits : pandas.DataFrame
        The fit results rows of the cells.
    cells : mapping
        Neuron name -> `MappedCell`.
    out : pathlib.Path
        Output folder.
    dt_ms : float
        Hardware step.
    backend : str
        Brian2 backend of the float runs.

    Returns
    -------
    dict of str to pathlib.Path
        The file written (none if no cell has Allen features).
    """
    features = register_features(fits, cells, dt_ms=dt_ms, backend=backend)
    if features.empty:
        return {}
    path = out / "features.csv"
    atomic_write_text(path, features.to_csv(index=False))
    for row in feature_summary(features).itertuples():
        print(
            f"validate: {row.feature} within tolerance of the cell: float fit "
            f"{row.fit_within:.1%}, float at the hardware step {row.float_within:.1%}, "
            f"registers {row.registers_within:.1%} ({row.cells} cells)"
        )
    return {"features": path}


def tolerance_line(summary: dict[str, float]) -> str:
    """The fractions of `hardware_mapping.validation.tolerance_summary` as one line."""
    floor = (
        f"gamma at the float neuron's sensitivity floor {summary['gamma_at_floor']:.1%}, "
        if "gamma_at_floor" in summary
        else ""
    )
    return (
        f"within tolerances: spike count {summary['count_within']:.1%}, adaptation index "
        f"{summary['ai_within']:.1%}, {floor}gamma >= 0.9 {summary['gamma_at_least']:.1%}, "
        f"all {summary['all']:.1%}"
    )


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
        f"validate: {int(summary['neurons'])} neurons, {sweeps} sweeps; {tolerance_line(summary)}"
    )
    print(
        f"validate: energy ({energy.table}) {energy.dynamic_J / max(sweeps, 1) * 1e6:.3g} uJ "
        f"dynamic per 2.02 s sweep, static {energy.static_J * 1e6:.3g} uJ over "
        f"{energy.latency_s * 1e3:.3g} ms of chip time on {energy.cores} cores"
    )
    print(f"validate: wrote {out}")
    return written
