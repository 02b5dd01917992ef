"""The short written summary of a filter study: what was measured, in numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.filters.config import StudyConfig
from analysis.filters.figures import VARIANT_LABELS
from analysis.filters.study import memory_summary

__all__ = ["simulated_neuron_steps", "study_summary"]


def simulated_neuron_steps(config: StudyConfig) -> int:
    """Neuron-steps a study simulates: calibrations, the signal runs and the recall runs."""
    steps_per_hold = round(config.hold_s / config.dt_s)
    n = config.population.size
    per_seed = (
        len(config.variants)
        * n
        * steps_per_hold
        * (
            (config.calibration_iterations + 1) * round(config.calibration_s / config.hold_s)
            + config.samples
        )
    )
    if config.recall is not None:
        trials = config.recall.trials_per_delay
        recall_samples = sum(trials * (d + 2) for d in config.recall.delays)
        per_seed += len(config.variants) * n * steps_per_hold * recall_samples
    return per_seed * len(config.seeds)


def study_summary(
    config: StudyConfig,
    results: pd.DataFrame,
    *,
    neuron: dict[str, float] | None = None,
    seconds: float | None = None,
) -> str:
    """A Markdown summary of a study's results.

    Parameters
    ----------
    config : StudyConfig
        The study.
    results : pandas.DataFrame
        `study.run_study`'s rows.
    neuron : dict, optional
        The single-neuron summary (`characterization.NeuronCharacterization.summary`).
    seconds : float, optional
        Wall time of `study.run_study`, for the throughput line (counting only the seeds it
        simulated, ``results.attrs["simulated_seeds"]``).

    Returns
    -------
    str
        The summary.
    """
    seeds = results["seed"].nunique() if not results.empty else 0
    lines = [
        f"# Filter study `{config.name}`",
        "",
        f"{config.population.size} neurons per population, {seeds} seed(s); a Gaussian signal "
        f"held {config.hold_s * 1e3:g} ms for {config.duration_s:g} s (first "
        f"{config.discard_s:g} s left out), simulated at {config.dt_s * 1e3:g} ms on "
        f"{config.backend}; spike trains filtered with tau = {config.readout_tau_s * 1e3:g} ms, "
        f"ridge readouts scored on the last {config.split.test_fraction:.0%} (held out), the "
        f"penalty chosen by {config.split.folds}-fold blocked cross-validation.",
        "",
    ]
    if (results["task"] == "memory").any():
        lines += _memory_section(results)
    others = results[results["task"].isin(["integrator", "volterra", "custom"])]
    if not others.empty:
        table = others.groupby(["target", "variant"], sort=False)["r2_test"].agg(["mean", "std"])
        lines += ["## Other targets (held-out R², mean ± sd over seeds)", ""]
        lines += _table(table.reset_index(), "target")
    recall = results[results["task"] == "recall"]
    if not recall.empty:
        table = recall.groupby(["target", "variant"], sort=False)["r2_test"].agg(["mean", "std"])
        lines += ["## Store and recall (held-out R² of the recalled value)", ""]
        lines += _table(table.reset_index(), "target")
    if neuron is not None:
        lines += [
            "## Single neuron",
            "",
            f"At its operating point the neuron fires at {neuron['rate_Hz']:.1f} Hz. Sinusoids "
            f"and the white-noise kernel give gains within "
            f"{neuron['max_sine_noise_difference']:.1%} of each other across the band. The "
            f"mean-adaptation approximation (gain without AHP {neuron['gain_Hz_per_pA']:.3f} "
            f"Hz/pA, adaptation strength g b tau = {neuron['strength']:.2f}) predicts the "
            f"high-pass corner at {neuron['corner_predicted_Hz']:.3g} Hz; the fit to the "
            f"measured transfer puts it at {neuron['corner_measured_Hz']:.3g} Hz. After a "
            f"current step the rate adapts with tau = {neuron['step_tau_s'] * 1e3:.0f} ms "
            f"(predicted {neuron['step_tau_predicted_s'] * 1e3:.0f} ms).",
            "",
        ]
    simulated = results.attrs.get("simulated_seeds", seeds)
    if seconds is not None and simulated:
        steps = simulated_neuron_steps(config) * simulated / max(len(config.seeds), 1)
        lines += [
            "## Run",
            "",
            f"{seconds:.0f} s wall time for the {simulated} seed(s) simulated in this run, "
            f"{steps:.3g} neuron-steps ({steps / max(seconds, 1e-9):.3g} neuron-steps/s, "
            "calibration and readouts included).",
            "",
        ]
    return "\n".join(lines)


def _memory_section(results: pd.DataFrame) -> list[str]:
    summary = memory_summary(results)
    stats = summary.groupby("variant", sort=False)[
        ["delay_below_threshold_s", "memory_capacity_s"]
    ].agg(["mean", "std"])
    rates = results.groupby("variant", sort=False)["rate_Hz"].mean()
    lines = [
        "## Memory curves (delay lines u(t - d))",
        "",
        "| population | R² < 0.5 beyond (s) | memory capacity (s) | mean rate (Hz) |",
        "|---|---|---|---|",
    ]
    for variant in stats.index:
        row = stats.loc[variant]
        lines.append(
            f"| {VARIANT_LABELS.get(variant, variant)} | "
            f"{row[('delay_below_threshold_s', 'mean')]:.3f} ± "
            f"{np.nan_to_num(row[('delay_below_threshold_s', 'std')]):.3f} | "
            f"{row[('memory_capacity_s', 'mean')]:.3f} ± "
            f"{np.nan_to_num(row[('memory_capacity_s', 'std')]):.3f} | {rates[variant]:.2f} |"
        )
    lines.append("")
    crossing = stats[("delay_below_threshold_s", "mean")]
    if "ahp" in crossing and "lif" in crossing and crossing["lif"] > 0:
        ratio = crossing["ahp"] / crossing["lif"]
        versus_alif = ""
        if "alif" in crossing and crossing["alif"] > 0:
            versus_alif = f", {crossing['ahp'] / crossing['alif']:.2f} times the ALIF population's"
        lines.append(
            f"The AHP population's memory lasts {ratio:.2f} times as long as the LIF "
            f"population's (delay where R² falls below 0.5){versus_alif}."
        )
        lines.append("")
    return lines


def _table(table: pd.DataFrame, key: str) -> list[str]:
    variants = list(dict.fromkeys(table["variant"]))
    header = f"| {key} | " + " | ".join(VARIANT_LABELS.get(v, v) for v in variants) + " |"
    lines = [header, "|---" * (len(variants) + 1) + "|"]
    for name, rows in table.groupby(key, sort=False):
        cells = []
        for variant in variants:
            row = rows[rows["variant"] == variant]
            cells.append(
                f"{row['mean'].iloc[0]:.3f} ± {np.nan_to_num(row['std'].iloc[0]):.3f}"
                if len(row)
                else "-"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]
