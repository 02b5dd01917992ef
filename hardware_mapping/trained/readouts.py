"""Readouts of a trained network and what a run of many samples returns.

Two readouts: ``argmax_voltage``, the class whose readout compartment holds the largest
voltage after the last step (strictly larger: a tie goes to the lowest class, as numpy's
argmax and the paper's host code), and ``spike_count``, the class with the most spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SampleRecord", "TrainedRun", "classify", "confusion_matrix"]


def classify(readout: str, values: np.ndarray) -> np.ndarray:
    """Return each sample's class from its readout values (samples, classes).

    Parameters
    ----------
    readout : {"argmax_voltage", "spike_count"}
        The readout (both take the largest value; ties go to the lowest class).
    values : numpy.ndarray
        Voltages after the last step, or spike counts.

    Returns
    -------
    numpy.ndarray
        int64 classes.
    """
    if readout not in ("argmax_voltage", "spike_count"):
        raise ValueError(f"readout = {readout!r}; allowed: argmax_voltage, spike_count")
    return np.argmax(np.asarray(values), axis=1).astype(np.int64)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> pd.DataFrame:
    """Counts of (true class, predicted class) as a table: rows true, columns predicted."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.int64), np.asarray(predictions)), 1)
    frame = pd.DataFrame(counts, index=range(n_classes), columns=range(n_classes))
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


@dataclass
class SampleRecord:
    """Everything of one sample, for figures.

    Attributes
    ----------
    index : int
        The sample.
    input_raster : numpy.ndarray
        Bool (steps, channels): the encoder's spikes.
    spikes : dict of str to numpy.ndarray
        Per population, bool (steps, neurons).
    readout_v : numpy.ndarray
        The readout population's voltage after each step (steps, classes).
    """

    index: int
    input_raster: np.ndarray
    spikes: dict[str, np.ndarray]
    readout_v: np.ndarray

    @classmethod
    def from_fixed_point(cls, index, raster, run, description) -> SampleRecord:
        """From a `FixedPointRun` that recorded every compartment."""
        spikes = {name: run.spikes[name] for name in description.populations}
        readout_v = run.v[description.readout_population].astype(float)
        return cls(int(index), raster, spikes, readout_v)


@dataclass
class TrainedRun:
    """What classifying samples returned.

    Attributes
    ----------
    arithmetic : {"fixed", "float"}
        The chip's integers or real numbers.
    predictions : numpy.ndarray
        Class per sample.
    readout_values : numpy.ndarray
        (samples, classes): voltages after the last step, or spike counts.
    spike_counts : pandas.DataFrame
        Per sample (row) and population (column), spikes in the whole sample.
    mean_counters : pandas.DataFrame or None
        Fixed point only: per step, the counters averaged over samples (``step``,
        ``synaptic_ops``, ``neuron_updates``, ``active_updates``, ``spikes``, ``overflows``,
        ``saturations``): one mean inference, for `hardware_mapping.energy.estimate_energy`.
    sample : SampleRecord or None
        The recorded sample, if one was asked for.
    """

    arithmetic: str
    predictions: np.ndarray
    readout_values: np.ndarray
    spike_counts: pd.DataFrame
    mean_counters: pd.DataFrame | None = None
    sample: SampleRecord | None = None

    def table(self, labels: np.ndarray | None = None, indices: np.ndarray | None = None):
        """Per sample: ``sample`` (index in the data set), ``label``, ``prediction``,
        ``correct``, spikes per population and in all."""
        n = self.predictions.size
        frame = pd.DataFrame({"sample": np.arange(n) if indices is None else np.asarray(indices)})
        if labels is not None:
            frame["label"] = np.asarray(labels, dtype=np.int64)
        frame["prediction"] = self.predictions
        if labels is not None:
            frame["correct"] = frame["label"] == frame["prediction"]
        for name in self.spike_counts:
            frame[f"spikes_{name}"] = self.spike_counts[name].to_numpy()
        frame["spikes"] = self.spike_counts.sum(axis=1).to_numpy()
        return frame
