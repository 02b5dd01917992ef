"""Figures of a float-vs-registers validation."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from matplotlib.figure import Figure

from hardware_mapping.validation import ONSET_S, WIDTH_S, ValidationResult

__all__ = ["plot_validation"]


def plot_validation(result: ValidationResult, neuron: Hashable) -> Figure:
    """Overlay the float model's and the registers' spike rasters, sweep by sweep.

    Parameters
    ----------
    result : ValidationResult
        From `hardware_mapping.validation.validate_long_squares`.
    neuron : hashable
        Which neuron.

    Returns
    -------
    matplotlib.figure.Figure
        Left: rasters (float: grey bars, registers: black dots) per sweep amplitude over the
        step window. Right: spike counts per sweep of both.
    """
    sweeps = result.sweeps[result.sweeps["neuron"] == neuron]
    float_trains, fixed_trains = result.float_trains[neuron], result.fixed_trains[neuron]
    figure = Figure(figsize=(10, 0.35 * len(sweeps) + 2.2), layout="constrained")
    raster, counts = figure.subplots(1, 2, width_ratios=(3, 1), sharey=True)
    for row, (float_s, fixed_s) in enumerate(zip(float_trains, fixed_trains, strict=True)):
        raster.vlines((float_s - ONSET_S) * 1e3, row - 0.4, row, color="0.6", linewidth=1.2)
        raster.plot((fixed_s - ONSET_S) * 1e3, np.full(fixed_s.size, row + 0.2), "k.", ms=3)
    raster.set_xlim(-50, WIDTH_S * 1e3 + 50)
    raster.set_yticks(range(len(sweeps)), [f"{a:g} pA" for a in sweeps["amplitude_pA"]])
    raster.set_xlabel("time from step onset (ms)")
    raster.set_title("float model (bars) and Loihi registers (dots)")
    rows = np.arange(len(sweeps))
    counts.barh(rows - 0.2, sweeps["float_count"], height=0.4, color="0.6", label="float")
    counts.barh(rows + 0.2, sweeps["fixed_count"], height=0.4, color="k", label="registers")
    counts.set_xlabel("spikes in the step")
    counts.legend(loc="lower right", fontsize="small")
    summary = result.neurons.set_index("neuron").loc[neuron]
    figure.suptitle(
        f"{neuron}: gamma {summary['gamma']:.3f}, largest count error "
        f"{summary['max_count_error']:.1%}, largest AI error {summary['max_ai_error']:.3f}"
    )
    return figure
