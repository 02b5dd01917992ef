"""Figures in one consistent style: traces, f-I curves, ISI adaptation, feature distributions.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`), not pyplot: no
backend is selected or changed, so this works on headless servers and leaves a notebook's
backend alone.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from ahp_models.files import atomic_write_bytes
from ahp_models.quantities import lookup_unit
from ahp_models.results import SimulationResult
from analysis.spike_trains import as_spike_times

__all__ = [
    "STYLE",
    "plot_f_i_curves",
    "plot_feature_distribution",
    "plot_isi_adaptation",
    "plot_simulation",
    "readable_log_ticks",
    "save_figure",
]

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
#: Labelled ticks of a logarithmic axis by the decades it spans: (most decades, mantissas).
#: Fewer labels as the span grows, so that plain numbers such as "20000" never collide on a
#: panel a few centimetres wide; spans below a decade get evenly spaced ticks instead.
LOG_TICK_MANTISSAS = ((2.5, (1.0, 3.0)), (np.inf, (1.0,)))
#: At most this many labelled ticks on a logarithmic axis (whole decades are skipped beyond).
LOG_TICKS = 4


def _colors(count: int) -> np.ndarray:
    return matplotlib.colormaps[COLORMAP](np.linspace(0.05, 0.85, max(count, 1)))


def _plain_number(value: float, _position: float | None = None) -> str:
    """A tick label as a plain number (``0.3``, ``20000``), not a power of ten."""
    return f"{value:g}"


def readable_log_ticks(axis: Axis, low: float, high: float) -> None:
    """Put a few plainly numbered ticks on a logarithmic axis spanning ``low`` to ``high``.

    Matplotlib's default labels every mantissa of a narrow log axis (``2x10^0``,
    ``3x10^0``...), and neighbours collide. Here: evenly spaced ticks below a decade, then
    1 and 3 per decade, then whole decades (at most `LOG_TICKS`, skipping decades beyond),
    labelled as plain numbers; minor ticks stay, unlabelled.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``axes.xaxis`` or ``axes.yaxis``, already logarithmic.
    low, high : float
        The axis limits (positive).
    """
    decades = float(np.log10(high / low))
    if decades < 1.0:
        axis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))
    else:
        mantissas = next(m for most, m in LOG_TICK_MANTISSAS if decades <= most)
        axis.set_major_locator(LogLocator(base=10.0, subs=mantissas, numticks=LOG_TICKS))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())


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


def plot_feature_distribution(
    cells: pd.DataFrame,
    feature: str = "adaptation",
    *,
    by: str = "species",
    top: int = 12,
    thresholds: Sequence[float] = (0.05, 0.1),
    unit: str = "",
    log: bool = False,
) -> Figure:
    """Distribution of a feature per cell class: box plot, points and group sizes.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell with columns ``feature`` and ``by``.
    feature : str
        The feature to show.
    by : str
        The grouping column (``species``, ``dendrite_type``, ``cre_line``...).
    top : int
        Show at most the ``top`` largest groups.
    thresholds : sequence of float
        Vertical reference lines (with the fraction of each group above them).
    unit : str
        Unit for the axis label.
    log : bool
        Draw the values on a logarithmic axis (every value must be positive).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    if top < 1:
        raise ValueError(f"top = {top}; allowed: >= 1")
    if by not in cells.columns or feature not in cells.columns:
        raise KeyError(f"cells need columns {by!r} and {feature!r}; have {sorted(cells.columns)}")
    present = cells[[by, feature]].dropna(subset=[feature]).astype({by: object})
    present[by] = present[by].fillna("unknown")  # cells without a class are shown, not dropped
    if present.empty:
        raise ValueError(f"no cell has a value of {feature!r} to draw")
    if log and not (present[feature] > 0).all():
        raise ValueError(f"{feature!r} has values <= 0: a logarithmic axis cannot show them")
    sizes = present[by].value_counts().head(top)
    groups = sorted(sizes.index, key=lambda g: present.loc[present[by] == g, feature].median())
    values = [present.loc[present[by] == g, feature].to_numpy() for g in groups]
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(7.5, 0.45 * len(groups) + 1.6))
        axis = figure.subplots()
        axis.boxplot(
            values,
            orientation="horizontal",
            widths=0.6,
            showfliers=False,
            medianprops={"color": "black"},
        )
        rng = np.random.default_rng(0)  # jitter only; the same picture every time
        colors = _colors(len(groups))
        for k, data in enumerate(values):
            axis.scatter(
                data,
                k + 1 + rng.uniform(-0.2, 0.2, data.size),
                s=4,
                alpha=0.35,
                color=colors[k],
                linewidths=0,
            )
        labels = []
        for group, data in zip(groups, values, strict=True):
            above = ", ".join(f">{level:g}: {np.mean(data > level):.0%}" for level in thresholds)
            labels.append(
                f"{group} (n={data.size}; {above})" if thresholds else f"{group} (n={data.size})"
            )
        axis.set_yticks(range(1, len(groups) + 1), labels)
        for level in thresholds:
            axis.axvline(level, color="grey", linestyle="--", linewidth=0.8)
        # zoom to the bulk, in the axis' own coordinates (decades on a log axis)
        everything = np.concatenate(values)
        position = np.log10(everything) if log else everything
        low, high = np.quantile(position, [0.005, 0.995])
        pad = 0.05 * (high - low or 1.0)
        low, high = low - pad, high + pad
        outside = int(np.sum((position < low) | (position > high)))
        if log:
            low, high = 10.0**low, 10.0**high
            axis.set_xscale("log")
            readable_log_ticks(axis.xaxis, low, high)
        axis.set_xlim(low, high)
        if outside:  # zoomed to the bulk: say how many points the axis leaves out
            axis.text(
                1.0,
                -0.08 - 0.3 / max(len(groups), 1),
                f"{outside} of {everything.size} values lie beyond the axis",
                transform=axis.transAxes,
                ha="right",
                va="top",
                fontsize=7,
                color="grey",
            )
        axis.set_xlabel(f"{feature} ({unit})" if unit and unit != "1" else feature)
        axis.set_title(f"{feature} by {by.replace('_', ' ')}")
        figure.tight_layout()
    return figure


def _line_figure(
    items: Mapping[str, Any],
    draw: Callable[[Any, str, Any, Any], None],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None,
    empty_message: str,
) -> Figure:
    """One axis with a line per item (``draw(axis, label, item, color)``), in the house style."""
    if not items:
        raise ValueError(empty_message)
    colors = _colors(len(items))
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(5.0, 3.6))
        axis = figure.subplots()
        for color, (label, item) in zip(colors, items.items(), strict=True):
            draw(axis, label, item, color)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.legend()
        if title:
            axis.set_title(title)
        figure.tight_layout()
    return figure


def plot_f_i_curves(curves: Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """f-I curves, e.g. a fitted model against the cell it was fitted to.

    Parameters
    ----------
    curves : mapping of str to pandas.DataFrame
        Label -> table with ``amplitude_pA`` and ``avg_rate_Hz`` (as `LongSquareFeatures.f_i_curve`
        gives). Labels containing "data" are drawn as markers, others as lines.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """

    def draw(axis: Any, label: str, curve: pd.DataFrame, color: Any) -> None:
        curve = curve.sort_values("amplitude_pA", kind="stable")
        style = {"marker": "o", "linestyle": "none"} if "data" in label.lower() else {}
        axis.plot(curve.amplitude_pA, curve.avg_rate_Hz, color=color, label=label, **style)

    return _line_figure(
        curves,
        draw,
        xlabel="stimulus amplitude (pA)",
        ylabel="rate in the stimulus window (Hz)",
        title=title,
        empty_message="plot_f_i_curves needs at least one curve",
    )


def plot_isi_adaptation(trains: Mapping[str, Any], *, title: str | None = None) -> Figure:
    """Interspike interval against its position in the train: adaptation at a glance.

    Parameters
    ----------
    trains : mapping of str to Quantity
        Label -> spike times of one sweep (e.g. the hero sweeps of model and cell).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """

    def draw(axis: Any, label: str, train: Any, color: Any) -> None:
        isis_ms = np.diff(as_spike_times(train, label)) * 1e3
        axis.plot(
            np.arange(1, isis_ms.size + 1),
            isis_ms,
            marker="o",
            markersize=3,
            color=color,
            label=label,
        )

    return _line_figure(
        trains,
        draw,
        xlabel="interval number",
        ylabel="interspike interval (ms)",
        title=title,
        empty_message="plot_isi_adaptation needs at least one spike train",
    )
