"""Figures of simulations: traces of recorded variables with spikes, in one consistent style.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`), not pyplot: no
backend is selected or changed, so this works on headless servers and leaves a notebook's
backend alone.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ahp_models.files import atomic_write_bytes
from ahp_models.quantities import lookup_unit
from ahp_models.results import SimulationResult

__all__ = ["STYLE", "plot_simulation", "save_figure"]

#: The project's figure style (matplotlib rcParams).
STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "lines.linewidth": 1.0,
}
COLORMAP = "viridis"


def _colors(count: int) -> np.ndarray:
    return matplotlib.colormaps[COLORMAP](np.linspace(0.05, 0.85, max(count, 1)))


def plot_simulation(
    result: SimulationResult,
    *,
    variables: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    max_traces: int = 12,
) -> Figure:
    """Plot recorded variables of a simulation over time, with a spike raster below.

    Parameters
    ----------
    result : SimulationResult
        The simulation.
    variables : sequence of str, optional
        Recorded variables to show, one panel each (default: all recorded ones).
    labels : sequence of str, optional
        One legend label per neuron (e.g. the stimulus amplitude of each sweep).
    title : str, optional
        Figure title.
    max_traces : int
        At most this many neurons are drawn in the trace panels (evenly chosen).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    variables = list(result.traces_si) if variables is None else list(variables)
    missing = [v for v in variables if v not in result.traces_si]
    if missing:
        raise KeyError(f"not recorded: {missing}; recorded: {sorted(result.traces_si)}")
    recorded = result.recorded_neurons
    rows = (
        np.unique(np.linspace(0, len(recorded) - 1, min(max_traces, len(recorded))).astype(int))
        if len(recorded)
        else np.zeros(0, dtype=int)
    )
    colors = _colors(result.n_neurons)
    with matplotlib.rc_context(STYLE):
        heights = [3] * len(variables) + [max(1.0, min(3.0, result.n_neurons / 8))]
        figure = Figure(figsize=(7.5, 1.9 * len(variables) + 1.4))
        axes = figure.subplots(
            len(variables) + 1,
            1,
            sharex=True,
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
        )
        axes = axes[:, 0]
        for axis, name in zip(axes, variables, strict=False):
            unit_name = result.trace_units[name]
            scale = float(lookup_unit(unit_name))
            for row in rows:
                neuron = int(recorded[row])
                label = labels[neuron] if labels is not None else f"neuron {neuron}"
                axis.plot(
                    result.trace_time_s,
                    result.traces_si[name][row] / scale,
                    color=colors[neuron],
                    label=label,
                )
            axis.set_ylabel(name if unit_name == "1" else f"{name} ({unit_name})")
        raster = axes[-1]
        raster.scatter(
            result.spike_time_s,
            result.spike_neuron,
            s=4,
            c=colors[result.spike_neuron] if len(result.spike_neuron) else None,
            marker="|",
        )
        raster.set_ylabel("neuron")
        raster.set_ylim(-0.5, result.n_neurons - 0.5)
        raster.set_xlabel("time (s)")
        raster.set_xlim(0, result.duration_s)
        if variables and len(rows) > 1:
            axes[0].legend(loc="upper right", ncol=2)
        if title:
            figure.suptitle(title)
        figure.align_ylabels(axes)
        figure.tight_layout()
    return figure


def save_figure(
    figure: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """Save a figure atomically in one or more formats.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        Destination without extension (an extension given is replaced).
    formats : sequence of str
        File formats, e.g. ``("png", "svg")``.

    Returns
    -------
    list of pathlib.Path
        Files written.
    """
    base = Path(path).with_suffix("")
    written = []
    for extension in formats:
        buffer = io.BytesIO()
        with matplotlib.rc_context(STYLE):
            figure.savefig(buffer, format=extension, bbox_inches="tight")
        target = base.with_suffix(f".{extension}")
        atomic_write_bytes(target, buffer.getvalue())
        written.append(target)
    return written
