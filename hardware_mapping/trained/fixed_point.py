"""Run a trained network bit-accurately: Loihi 1 integer arithmetic, sample after sample.

Every sample starts from rest (the description's reset policy), so samples are independent:
they are shared among worker threads, each with its own `Simulator` of the same network (the
compiled step loop releases the GIL). Per sample the run keeps the readout population's
voltages after the last step, every population's spike count and the per-step operation
counters that the energy estimate reads (`hardware_mapping.energy`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from hardware_mapping.loihi.simulator import Simulator
from hardware_mapping.network_mapping import MappedNetwork
from hardware_mapping.trained.description import NetworkDescription
from hardware_mapping.trained.mapping import map_description
from hardware_mapping.trained.readouts import SampleRecord, TrainedRun, classify

__all__ = ["COUNTER_COLUMNS", "run_fixed_point"]

#: The per-step counters summed over samples (`FixedPointRun.counters`).
COUNTER_COLUMNS = ("synaptic_ops", "active_updates", "spikes", "overflows", "saturations")
_CHUNK = 32


def run_fixed_point(
    description: NetworkDescription,
    samples: np.ndarray,
    *,
    mapped: MappedNetwork | None = None,
    workers: int = 1,
    record_sample: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainedRun:
    """Classify samples with the network's registers in the fixed-point simulator.

    Parameters
    ----------
    description : NetworkDescription
        The network, its encoder and readout.
    samples : numpy.ndarray
        One row per sample (the encoder's values).
    mapped : MappedNetwork, optional
        The network's registers (default: `map_description`; give the one read back from a
        parameter file to run that file).
    workers : int
        Threads sharing the samples.
    record_sample : int, optional
        A sample whose every spike and readout voltage is kept (for figures).
    progress : callable, optional
        Called with (samples done, samples) as chunks finish.

    Returns
    -------
    TrainedRun
        Per-sample predictions, readout values and spike counts, and the mean counters.
    """
    encoder = description.encoder
    values = encoder.check_samples(samples)
    n = values.shape[0]
    mapped = map_description(description) if mapped is None else mapped
    network = mapped.network
    populations = list(description.populations)
    readout_values = np.zeros((n, description.populations[description.readout_population].size))
    spike_counts = np.zeros((n, len(populations)), dtype=np.int64)
    local = threading.local()
    lock = threading.Lock()
    # per step, summed over samples
    totals = np.zeros((encoder.n_steps, len(COUNTER_COLUMNS)), dtype=np.int64)
    record: dict[str, object] = {}
    done = [0]

    def simulator(recording: bool) -> Simulator:
        key = "recording" if recording else "plain"
        if not hasattr(local, key):
            setattr(local, key, Simulator(network, record="all" if recording else None))
        return getattr(local, key)

    def run_chunk(start: int) -> None:
        stop = min(start + _CHUNK, n)
        raster = encoder.encode(values[start:stop])
        chunk_counters = np.zeros_like(totals)
        for offset in range(stop - start):
            index = start + offset
            sim = simulator(index == record_sample)
            sim.reset()
            steps, channels = np.nonzero(raster[offset])
            run = sim.run(encoder.n_steps, inputs={encoder.input: (steps, channels)})
            readout_values[index] = _readout(description, sim, run)
            spike_counts[index] = [int(run.spike_counts[p].sum()) for p in populations]
            chunk_counters += run.counters[list(COUNTER_COLUMNS)].to_numpy()
            if index == record_sample:
                record["run"] = run
                record["raster"] = raster[offset]
        with lock:
            totals[...] += chunk_counters  # in place: the enclosing array
            done[0] += stop - start
            if progress is not None:
                progress(done[0], n)

    starts = range(0, n, _CHUNK)
    if workers <= 1:
        for start in starts:
            run_chunk(start)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_chunk, starts))
    mean = pd.DataFrame(totals / max(n, 1), columns=list(COUNTER_COLUMNS))
    mean.insert(0, "step", np.arange(encoder.n_steps))
    mean.insert(2, "neuron_updates", network.n_compartments)
    sample = None
    if "run" in record:
        sample = SampleRecord.from_fixed_point(
            record_sample, record["raster"], record["run"], description
        )
    return TrainedRun(
        arithmetic="fixed",
        predictions=classify(description.readout, readout_values),
        readout_values=readout_values,
        spike_counts=pd.DataFrame(spike_counts, columns=populations),
        mean_counters=mean,
        sample=sample,
    )


def _readout(description: NetworkDescription, sim: Simulator, run) -> np.ndarray:
    population = description.readout_population
    if description.readout == "argmax_voltage":
        return sim.state(population)["v"]
    return run.spike_counts[population]
