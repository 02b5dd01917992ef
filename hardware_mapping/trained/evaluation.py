"""What a run of a trained network scored: accuracy, spikes, energy and latency per inference,
beside a chip's measurement, and where float and fixed point disagree."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hardware_mapping.energy import estimate_energy
from hardware_mapping.trained.readouts import TrainedRun

__all__ = ["CHIP_MEASUREMENTS", "disagreements", "summary_table"]

#: Published measurements on Loihi 1, by built-in network: the paper's repository's
#: performance notebook (200 test images drawn with numpy's legacy seed 0, relay input).
CHIP_MEASUREMENTS: dict[str, dict[str, float]] = {
    "rao2022-smnist-relay": {
        "accuracy": 0.9450,
        "samples": 200,
        "latency_ms": 13.99,
        "energy_mJ": 0.363,
        "power_total_mW": 25.93,
        "power_dynamic_mW": 24.78,
        "power_x86_mW": 23.20,
        "power_static_mW": 1.16,
    },
}


def summary_table(
    runs: Mapping[str, TrainedRun],
    labels: np.ndarray,
    *,
    energy_table: str = "davies2018",
) -> pd.DataFrame:
    """One row per run: accuracy, spikes per inference and, for fixed point, the energy and
    latency per inference estimated from the mean counters.

    Parameters
    ----------
    runs : mapping of str to TrainedRun
        Runs by name (``fixed``, ``float``).
    labels : numpy.ndarray
        The samples' true classes.
    energy_table : str
        `hardware_mapping.energy.ENERGY_TABLES` entry.

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, ``samples``, ``correct``, ``accuracy``, ``spikes_per_inference`` and
        one ``spikes_<population>`` each; for fixed point also ``synaptic_ops_per_inference``,
        ``dynamic_mJ``, ``static_mJ`` (the used cores' share of static power), ``energy_mJ``,
        ``latency_ms``, ``overflows`` and ``saturations`` (per inference).
    """
    rows = []
    labels = np.asarray(labels)
    for name, run in runs.items():
        correct = int((run.predictions == labels).sum())
        row = {
            "run": name,
            "samples": int(labels.size),
            "correct": correct,
            "accuracy": correct / max(labels.size, 1),
            "spikes_per_inference": float(run.spike_counts.sum(axis=1).mean()),
        }
        for population in run.spike_counts:
            row[f"spikes_{population}"] = float(run.spike_counts[population].mean())
        if run.mean_counters is not None:
            estimate = estimate_energy(run.mean_counters, table=energy_table, static_scope="cores")
            row.update(
                synaptic_ops_per_inference=float(run.mean_counters["synaptic_ops"].sum()),
                dynamic_mJ=estimate.dynamic_J * 1e3,
                static_mJ=estimate.static_J * 1e3,
                energy_mJ=estimate.total_J * 1e3,
                latency_ms=estimate.latency_s * 1e3,
                overflows=float(run.mean_counters["overflows"].sum()),
                saturations=float(run.mean_counters["saturations"].sum()),
            )
        rows.append(row)
    return pd.DataFrame(rows)


def disagreements(
    fixed: TrainedRun, floating: TrainedRun, labels: np.ndarray, indices: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where the fixed-point and float runs classify differently.

    Parameters
    ----------
    fixed, floating : TrainedRun
        The two runs of the same samples.
    labels : numpy.ndarray
        True classes.
    indices : numpy.ndarray
        The samples' indices in their data set.

    Returns
    -------
    samples : pandas.DataFrame
        One row per disagreeing sample: ``sample``, ``label``, ``fixed``, ``float``.
    classes : pandas.DataFrame
        Per true class: ``samples``, ``disagree``, ``fixed_correct``, ``float_correct``.
    """
    labels = np.asarray(labels)
    differ = fixed.predictions != floating.predictions
    samples = pd.DataFrame(
        {
            "sample": np.asarray(indices)[differ],
            "label": labels[differ],
            "fixed": fixed.predictions[differ],
            "float": floating.predictions[differ],
        }
    )
    frame = pd.DataFrame(
        {
            "label": labels,
            "disagree": differ,
            "fixed_correct": fixed.predictions == labels,
            "float_correct": floating.predictions == labels,
        }
    )
    classes = frame.groupby("label").agg(
        samples=("disagree", "size"),
        disagree=("disagree", "sum"),
        fixed_correct=("fixed_correct", "sum"),
        float_correct=("float_correct", "sum"),
    )
    return samples, classes.reset_index()
