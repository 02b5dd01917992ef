"""What a simulation returns: spike trains and recorded traces, with units and pandas views."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from brian2 import Quantity, second

from ahp_models.files import atomic_write_bytes, atomic_write_text
from ahp_models.quantities import lookup_unit

__all__ = ["SimulationResult", "split_spike_trains"]


def split_spike_trains(
    spike_neuron: np.ndarray, spike_time_s: np.ndarray, n_neurons: int
) -> list[np.ndarray]:
    """Split (neuron, time) spike records into each neuron's sorted spike times (s).

    Parameters
    ----------
    spike_neuron, spike_time_s : numpy.ndarray
        Neuron index and time (s) of every spike, in any order.
    n_neurons : int
        Number of neurons (neurons without spikes get empty arrays).

    Returns
    -------
    list of numpy.ndarray
        One float array per neuron.
    """
    spike_neuron = np.asarray(spike_neuron)
    spike_time_s = np.asarray(spike_time_s, dtype=float)
    order = np.lexsort((spike_time_s, spike_neuron))
    neurons, times = spike_neuron[order], spike_time_s[order]
    bounds = np.searchsorted(neurons, np.arange(n_neurons + 1))
    return [times[bounds[k] : bounds[k + 1]] for k in range(n_neurons)]


@dataclass
class SimulationResult:
    """Spikes and traces of one simulation of a population.

    Attributes
    ----------
    model_name : str
        Catalogue name of the simulated model.
    backend : str
        Backend that ran it (``runtime``, ``cpp_standalone``, ``cuda_standalone``).
    n_neurons : int
        Population size.
    dt_s, duration_s : float
        Time step and simulated time, seconds.
    spike_neuron : numpy.ndarray
        Neuron index of every spike, in time order.
    spike_time_s : numpy.ndarray
        Time of every spike (s). A spike is reported at the start of the step whose update
        crossed threshold (Brian2's convention).
    trace_time_s : numpy.ndarray
        Sample times of the traces (s).
    traces_si : dict of str to numpy.ndarray
        Recorded variables in SI units, shape ``(n_recorded, n_samples)``.
    trace_units : dict of str to str
        Display unit of each recorded variable.
    recorded_neurons : numpy.ndarray
        Which neurons the trace rows belong to.
    timings : dict of str to float
        Seconds spent: ``network_run`` (the simulation loop itself) and ``wall`` (the whole
        backend call: process start, file input and output for standalone).
    """

    model_name: str
    backend: str
    n_neurons: int
    dt_s: float
    duration_s: float
    spike_neuron: np.ndarray
    spike_time_s: np.ndarray
    trace_time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    traces_si: Mapping[str, np.ndarray] = field(default_factory=dict)
    trace_units: Mapping[str, str] = field(default_factory=dict)
    recorded_neurons: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    timings: Mapping[str, float] = field(default_factory=dict)

    # -- spikes ------------------------------------------------------------------------------
    @property
    def spike_times(self) -> Quantity:
        """Times of all spikes, in time order (see ``spike_neuron``)."""
        return self.spike_time_s * second

    def spike_train(self, neuron: int) -> Quantity:
        """Return the spike times of one neuron, sorted."""
        if not 0 <= neuron < self.n_neurons:
            raise IndexError(f"neuron {neuron} out of range [0, {self.n_neurons})")
        return np.sort(self.spike_time_s[self.spike_neuron == neuron]) * second

    def spike_trains(self) -> list[Quantity]:
        """Return the sorted spike times of every neuron."""
        trains = split_spike_trains(self.spike_neuron, self.spike_time_s, self.n_neurons)
        return [train * second for train in trains]

    def spike_counts(
        self, t_start: Quantity | None = None, t_stop: Quantity | None = None
    ) -> np.ndarray:
        """Return the number of spikes of every neuron in ``[t_start, t_stop)``.

        Parameters
        ----------
        t_start, t_stop : Quantity, optional
            Window; default the whole simulation. Spike times lie on the time-step grid, so the
            edges are compared in whole steps (rounded to the nearest step): a spike exactly at
            ``t_stop`` is outside whatever the floating-point rounding of the edges.

        Returns
        -------
        numpy.ndarray
            Integer counts, shape ``(n_neurons,)``.
        """
        steps = np.round(self.spike_time_s / self.dt_s)
        start = -np.inf if t_start is None else np.round(float(t_start / second) / self.dt_s)
        stop = np.inf if t_stop is None else np.round(float(t_stop / second) / self.dt_s)
        inside = (steps >= start) & (steps < stop)
        return np.bincount(self.spike_neuron[inside], minlength=self.n_neurons)

    def spikes_frame(self) -> pd.DataFrame:
        """Return the spikes as a table with columns ``neuron`` and ``t_s``."""
        return pd.DataFrame({"neuron": self.spike_neuron.astype(int), "t_s": self.spike_time_s})

    # -- traces ------------------------------------------------------------------------------
    @property
    def t(self) -> Quantity:
        """Sample times of the traces."""
        return self.trace_time_s * second

    def trace(self, name: str) -> Quantity:
        """Return a recorded variable with its units, shape ``(n_recorded, n_samples)``."""
        if name not in self.traces_si:
            raise KeyError(f"{name!r} was not recorded; recorded: {sorted(self.traces_si)}")
        return Quantity(self.traces_si[name], dim=lookup_unit(self.trace_units[name]).dim)

    def traces_frame(self) -> pd.DataFrame:
        """Return the traces as a long table: ``t_s``, ``neuron`` and one column per variable.

        Column names carry the unit (``v_mV``, ``I_ahp_pA``).
        """
        n_rec, n_samples = len(self.recorded_neurons), len(self.trace_time_s)
        frame = pd.DataFrame(
            {
                "t_s": np.tile(self.trace_time_s, n_rec),
                "neuron": np.repeat(self.recorded_neurons.astype(int), n_samples),
            }
        )
        for name, values in self.traces_si.items():
            unit_name = self.trace_units[name]
            scale = float(lookup_unit(unit_name))
            column = name if unit_name == "1" else f"{name}_{unit_name}"
            frame[column] = (values / scale).reshape(-1)
        return frame

    # -- files -------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, *, csv_traces: bool = True) -> dict[str, Path]:
        """Write ``spikes.csv``, ``traces.npz`` and (optionally) ``traces.csv`` atomically.

        Parameters
        ----------
        directory : str or os.PathLike
            Output folder (created if missing).
        csv_traces : bool
            Also write the traces as CSV (large for long recordings).

        Returns
        -------
        dict of str to pathlib.Path
            The files written, by kind.
        """
        out = Path(directory)
        written = {"spikes": out / "spikes.csv"}
        atomic_write_text(written["spikes"], self.spikes_frame().to_csv(index=False))
        if self.traces_si:
            written["traces_npz"] = out / "traces.npz"
            buffer = io.BytesIO()
            arrays = {
                f"{name}_{self.trace_units[name]}".replace("/", "_per_"): values
                / float(lookup_unit(self.trace_units[name]))
                for name, values in self.traces_si.items()
            }
            np.savez_compressed(
                buffer, t_s=self.trace_time_s, neuron=self.recorded_neurons, **arrays
            )
            atomic_write_bytes(written["traces_npz"], buffer.getvalue())
            if csv_traces:
                written["traces_csv"] = out / "traces.csv"
                atomic_write_text(written["traces_csv"], self.traces_frame().to_csv(index=False))
        return written
