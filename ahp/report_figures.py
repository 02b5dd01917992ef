"""Figures of the pipeline report that no single package draws: traces, recovery, agreement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib
import numpy as np
import pandas as pd
from brian2 import ms, pA
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ahp_models import MODELS, long_square, model_for_params, simulate
from ahp_models.parameters import ParameterSet
from analysis.column_labels import parameter_label
from analysis.figures import STYLE, readable_log_ticks

__all__ = [
    "axis_scale",
    "hero_amplitude",
    "plot_agreement",
    "plot_recovery",
    "plot_traces",
    "simulate_traces",
]

ONSET_MS, WIDTH_MS, AFTER_MS = 1020.0, 1000.0, 200.0


def hero_amplitude(rheobase_pA: float, amplitudes_pA: np.ndarray) -> float:
    """Allen's hero sweep amplitude among ``amplitudes_pA``: the lowest strictly between
    rheobase + 39 pA and rheobase + 61 pA, else the one nearest rheobase + 50 pA."""
    amplitudes_pA = np.asarray(amplitudes_pA, dtype=float)
    inside = amplitudes_pA[(amplitudes_pA > rheobase_pA + 39) & (amplitudes_pA < rheobase_pA + 61)]
    if inside.size:
        return float(inside.min())
    return float(amplitudes_pA[np.argmin(np.abs(amplitudes_pA - rheobase_pA - 50))])


def simulate_traces(
    neurons: Mapping[str, ParameterSet], amplitudes_pA: Mapping[str, float], dt_ms: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Membrane potential of each neuron on one long square, one simulation per model.

    Parameters
    ----------
    neurons : mapping
        Key -> one neuron.
    amplitudes_pA : mapping
        Key -> its step amplitude.
    dt_ms : float
        Simulation step.

    Returns
    -------
    dict
        Key -> (time in ms, v in mV).
    """
    groups: dict[tuple, list[str]] = {}
    for key, params in neurons.items():
        groups.setdefault((type(params), tuple(params.to_row())), []).append(key)
    traces = {}
    for (params_class, _), keys in groups.items():
        stacked = params_class.concatenate([neurons[k] for k in keys])
        stimulus = long_square(
            np.array([amplitudes_pA[k] for k in keys]) * pA,
            onset=ONSET_MS * ms,
            width=WIDTH_MS * ms,
            duration=(ONSET_MS + WIDTH_MS + AFTER_MS) * ms,
            dt=dt_ms * ms,
        )
        result = simulate(
            model_for_params(stacked), stacked, stimulus, record=["v"], backend="runtime"
        )
        frame = result.traces_frame()
        for index, key in enumerate(keys):
            rows = frame[frame.neuron == index]
            traces[key] = (rows.t_s.to_numpy() * 1e3, rows.v_mV.to_numpy())
    return traces


def plot_traces(
    title: str,
    amplitude_pA: float,
    fitted: tuple[np.ndarray, np.ndarray],
    true: tuple[np.ndarray, np.ndarray] | None = None,
) -> Figure:
    """The fitted model's voltage on the hero sweep, over the true model's if known."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(10.0, 2.6))
        axis = figure.subplots()
        window = (ONSET_MS - 100, ONSET_MS + WIDTH_MS + AFTER_MS)
        if true is not None:
            axis.plot(*true, color="0.55", linewidth=1.6, label="true parameters")
        axis.plot(*fitted, color="C0", linewidth=0.7, label="fitted model")
        axis.axvspan(ONSET_MS, ONSET_MS + WIDTH_MS, color="C1", alpha=0.06, linewidth=0)
        axis.set_xlim(*window)
        axis.set_xlabel("time (ms)")
        axis.set_ylabel("v (mV)")
        axis.set_title(f"{title}: hero sweep, {amplitude_pA:g} pA (float model, 0.1 ms)")
        axis.legend(loc="upper right", fontsize=8)
        figure.tight_layout()
    return figure


def axis_scale(models: Iterable[str], column: str, values: np.ndarray) -> str:
    """``"log"`` or ``"linear"`` axes for values of a parameter column, from its spec in the
    models' parameter sets (`ahp_models.parameters.ParamSpec.scale_for`): log only where every
    model's spec says so and every value is positive."""
    specs = [MODELS[model].params_class.column_field(column).spec for model in models]
    return "log" if {spec.scale_for(values) for spec in specs} == {"log"} else "linear"


def plot_recovery(recovery: pd.DataFrame) -> Figure:
    """True against fitted value of every parameter, identifiable cells solid.

    Scale parameters (time constants, resistances, increments) are drawn on log axes,
    potentials and anything signed on linear ones (`axis_scale`); a panel with a value at or
    below 0 is linear rather than leave the value out.

    Parameters
    ----------
    recovery : pandas.DataFrame
        ``model``, ``parameter`` (a results-table column), ``true``, ``fitted``,
        ``identifiable`` (one row per cell and parameter).
    """
    parameters = list(dict.fromkeys(recovery.parameter))
    columns = min(4, len(parameters))
    rows = -(-len(parameters) // columns)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(3.0 * columns, 2.8 * rows))
        axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
        for axis, name in zip(axes, parameters, strict=False):
            part = recovery[recovery.parameter == name]
            models = sorted(set(part.model))
            for identifiable, marker in ((True, "o"), (False, "x")):
                chosen = part[part.identifiable == identifiable]
                axis.plot(
                    chosen.true,
                    chosen.fitted,
                    marker,
                    color="C0" if identifiable else "0.5",
                    ms=4,
                    label="identifiable" if identifiable else "not identifiable",
                )
            values = np.concatenate([part.true, part.fitted]).astype(float)
            values = values[np.isfinite(values)]
            if values.size:
                _identity_panel(axis, values, axis_scale(models, name, values))
            axis.set_title(parameter_label(name, [MODELS[m].params_class for m in models]))
            axis.set_xlabel("true", fontsize=8)
            axis.set_ylabel("fitted", fontsize=8)
        axes[0].legend(fontsize=7)
        for axis in axes[len(parameters) :]:
            axis.axis("off")
        figure.tight_layout()
    return figure


def _identity_panel(axis: Axes, values: np.ndarray, scale: str) -> None:
    """Square limits around ``values`` with the identity line, on ``scale`` axes."""
    if scale == "log":
        low, high = values.min() / 1.5, values.max() * 1.5
        axis.set_xscale("log")
        axis.set_yscale("log")
        for ticks in (axis.xaxis, axis.yaxis):
            readable_log_ticks(ticks, low, high)
    else:
        pad = 0.1 * (values.max() - values.min()) or 0.1 * abs(values.max()) or 1.0
        low, high = values.min() - pad, values.max() + pad
        for ticks in (axis.xaxis, axis.yaxis):
            ticks.set_major_locator(MaxNLocator(nbins=4))
    axis.plot([low, high], [low, high], color="0.7", linewidth=0.8)
    axis.set_xlim(low, high)
    axis.set_ylim(low, high)


def _histogram(axis: Axes, values: pd.Series, color: str, bins: int = 20) -> None:
    """A histogram that also draws values equal up to rounding (numpy cannot cut ``bins``
    finite bins from a range of a few ulps, e.g. two cells' energies 1e-16 apart)."""
    values = np.asarray(values, dtype=float)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if high - low <= 1e-9 * max(abs(low), abs(high)):
        half = 0.05 * abs(high) or 0.5
        low, high = low - half, high + half
    axis.hist(values, bins=bins, range=(low, high), color=color)


def plot_agreement(cells: pd.DataFrame) -> Figure:
    """Per cell: float-vs-registers gamma and count error, and the energy per sweep."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(11.0, 2.9))
        gamma, counts, energy = figure.subplots(1, 3)
        shown = cells.dropna(subset=["gamma"])
        _histogram(gamma, shown.gamma, "C0")
        gamma.axvline(0.9, color="grey", linestyle="--", linewidth=0.8)
        gamma.set_xlabel("gamma factor (2 ms), float vs registers")
        gamma.set_ylabel("cells")
        _histogram(counts, 100 * shown.max_count_error.clip(upper=0.2), "C1")
        counts.axvline(2, color="grey", linestyle="--", linewidth=0.8)
        counts.set_xlabel("largest spike-count error (%, 20 = 20 or more)")
        _histogram(energy, shown.dynamic_per_sweep_uJ, "C2")
        energy.set_xlabel("dynamic energy per 2.02 s sweep (uJ)")
        figure.tight_layout()
    return figure
