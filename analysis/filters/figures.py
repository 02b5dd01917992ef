"""Figures of filter studies: Bode plots, kernels, memory curves, task scores, recall."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.figures import STYLE
from analysis.filters.kernels import WienerKernels

__all__ = [
    "plot_bode",
    "plot_kernel",
    "plot_memory_curves",
    "plot_recall",
    "plot_step",
    "plot_task_scores",
]

#: One color per variant, the same in every figure.
VARIANT_COLORS = {"ahp": "#1b7837", "lif": "#762a83", "alif": "#e08214"}
VARIANT_LABELS = {"ahp": "AHP (current)", "lif": "LIF (no adaptation)",
                  "alif": "ALIF (threshold)"}  # fmt: skip


def plot_bode(response: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Gain and phase vs frequency: sinusoids (with standard errors), white-noise kernel, and
    the mean-adaptation prediction (`characterization.NeuronCharacterization.response`)."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(5.5, 5.0))
        gain_axis, phase_axis = figure.subplots(2, 1, sharex=True)
        f = response["frequency_Hz"]
        gain_axis.errorbar(f, response["gain_sine"], yerr=response["gain_sine_se"], fmt="o",
                           ms=4, label="sinusoids", color="#2166ac")  # fmt: skip
        gain_axis.plot(f, response["gain_noise"], "-", label="white-noise kernel", color="k")
        gain_axis.plot(f, response["gain_predicted"], "--", label="mean-adaptation prediction",
                       color="#b2182b")  # fmt: skip
        phase_axis.plot(f, np.degrees(response["phase_sine"]), "o", ms=4, color="#2166ac")
        phase_axis.plot(f, np.degrees(response["phase_noise"]), "-", color="k")
        phase_axis.plot(f, np.degrees(response["phase_predicted"]), "--", color="#b2182b")
        gain_axis.set_xscale("log")
        gain_axis.set_yscale("log")
        gain_axis.set_ylabel("gain (Hz/pA)")
        phase_axis.set_ylabel("phase (deg)")
        phase_axis.set_xlabel("modulation frequency (Hz)")
        gain_axis.legend()
        if title:
            gain_axis.set_title(title)
        figure.tight_layout()
    return figure


def plot_kernel(kernels: WienerKernels, *, title: str | None = None) -> Figure:
    """The first-order Wiener kernel (and the second-order one, if estimated)."""
    with matplotlib.rc_context(STYLE):
        panels = 2 if kernels.second is not None else 1
        figure = Figure(figsize=(5.0 * panels, 3.4))
        axes = np.atleast_1d(figure.subplots(1, panels))
        axes[0].plot(kernels.lags_s * 1e3, kernels.first, color="k")
        axes[0].axhline(0, color="0.6", lw=0.6)
        axes[0].set_xscale("symlog", linthresh=10)
        axes[0].set_xlabel("lag (ms)")
        axes[0].set_ylabel("h1 (Hz / (pA s))")
        if kernels.second is not None:
            lags = kernels.lags_s[: kernels.second.shape[0]] * 1e3
            image = axes[1].pcolormesh(lags, lags, kernels.second, cmap="RdBu_r",
                                       shading="auto")  # fmt: skip
            figure.colorbar(image, ax=axes[1], label="h2")
            axes[1].set_xlabel("lag 1 (ms)")
            axes[1].set_ylabel("lag 2 (ms)")
        if title:
            axes[0].set_title(title)
        figure.tight_layout()
    return figure


def plot_step(psth: pd.DataFrame, fit: dict[str, float] | None = None) -> Figure:
    """The rate around a current step (PSTH), with the fitted adaptation if given."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(5.0, 3.4))
        axis = figure.subplots()
        axis.plot(psth["time_s"], psth["rate_Hz"], color="k", lw=0.8, label="PSTH")
        if fit is not None and np.isfinite(fit.get("step_tau_s", np.nan)):
            axis.set_title(
                f"adaptation tau {fit['step_tau_s'] * 1e3:.0f} ms (mean adaptation predicts "
                f"{fit['step_tau_predicted_s'] * 1e3:.0f} ms)"
            )
        axis.axvline(0, color="0.5", lw=0.6, ls=":")
        axis.set_xlabel("time from the step (s)")
        axis.set_ylabel("rate (Hz)")
        figure.tight_layout()
    return figure


def plot_memory_curves(results: pd.DataFrame, *, threshold: float = 0.5) -> Figure:
    """R^2 of the delay-line readouts vs delay, mean and standard deviation over seeds."""
    memory = results[results["task"] == "memory"]
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(5.5, 3.8))
        axis = figure.subplots()
        for variant, rows in memory.groupby("variant", sort=False):
            stats = rows.groupby("delay_s")["r2_test"].agg(["mean", "std"]).fillna(0.0)
            color = VARIANT_COLORS.get(variant)
            axis.plot(stats.index, stats["mean"], label=VARIANT_LABELS.get(variant, variant),
                      color=color)  # fmt: skip
            low, high = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
            axis.fill_between(stats.index, low, high, color=color, alpha=0.2, lw=0)
        axis.axhline(threshold, color="0.5", ls=":", lw=0.8)
        axis.set_xlabel("delay d (s)")
        axis.set_ylabel("R² of u(t - d), held-out test")
        axis.set_ylim(-0.05, 1.02)
        axis.legend()
        seeds = memory["seed"].nunique()
        axis.set_title(f"memory curves ({seeds} seed{'s' if seeds != 1 else ''}, mean ± sd)")
        figure.tight_layout()
    return figure


def plot_task_scores(results: pd.DataFrame) -> Figure:
    """Held-out R^2 of the integrator, Volterra and user targets, per variant (mean ± sd)."""
    other = results[results["task"].isin(["integrator", "volterra", "custom"])]
    if other.empty:
        raise ValueError(
            "plot_task_scores: the results hold no integrator, Volterra or user target"
        )
    stats = other.groupby(["target", "variant"], sort=False)["r2_test"].agg(["mean", "std"])
    targets = list(dict.fromkeys(other["target"]))
    variants = list(dict.fromkeys(other["variant"]))
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(max(5.0, 1.2 * len(targets) + 2), 3.8))
        axis = figure.subplots()
        width = 0.8 / len(variants)
        for k, variant in enumerate(variants):
            means = [stats.loc[(t, variant), "mean"] for t in targets]
            errors = [np.nan_to_num(stats.loc[(t, variant), "std"]) for t in targets]
            label = VARIANT_LABELS.get(variant, variant)
            axis.bar(np.arange(len(targets)) + k * width, means, width, yerr=errors,
                     color=VARIANT_COLORS.get(variant), label=label)  # fmt: skip
        axis.set_xticks(np.arange(len(targets)) + width * (len(variants) - 1) / 2)
        axis.set_xticklabels(targets, rotation=20, ha="right")
        axis.set_ylabel("R², held-out test")
        axis.axhline(0, color="0.5", lw=0.6)
        axis.legend()
        figure.tight_layout()
    return figure


def plot_recall(results: pd.DataFrame) -> Figure:
    """Store-and-recall R^2 vs delay per variant (mean ± sd over seeds)."""
    recall = results[results["task"] == "recall"]
    if recall.empty:
        raise ValueError("plot_recall: the results hold no recall task")
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(5.0, 3.6))
        axis = figure.subplots()
        for variant, rows in recall.groupby("variant", sort=False):
            stats = rows.groupby("delay_s")["r2_test"].agg(["mean", "std"]).fillna(0.0)
            axis.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", ms=4,
                          capsize=2, color=VARIANT_COLORS.get(variant),
                          label=VARIANT_LABELS.get(variant, variant))  # fmt: skip
        axis.set_xlabel("cue-to-recall delay (s)")
        axis.set_ylabel("R² of the recalled value")
        axis.axhline(0, color="0.5", lw=0.6)
        axis.legend()
        figure.tight_layout()
    return figure
