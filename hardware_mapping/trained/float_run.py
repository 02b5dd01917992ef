"""Run a trained network in float arithmetic: Brian2, real-valued decays, no integer limits.

Every neuron is the catalogue's ``loihi_ahp`` neuron (`ahp_models.loihi_form`): its equations,
step, threshold and reset, with the description's float factors (``exp(-dt/tau)`` for a given
time constant, else the register's own factor) and its threshold and AHP decrement in the
chip's integer voltage units. Synapses add ``64 w 2**e`` to the target's voltage after its
step's update and before its threshold, one step after the spike, as on the chip (the order
of `ahp_models.synapses.RecurrentSynapses`). What differs from the fixed-point run is only the
arithmetic: no truncation of decays, no saturation, no wrap. The catalogue neuron has no
refractory period; a population whose refractory delay holds steps gets the chip's hold here.

Samples are run ``batch`` at a time as copies of the network side by side in one Brian2
network (built once, restored to rest before every batch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from brian2 import (
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    ms,
    second,
    set_device,
)

from ahp_models.catalogue import get_model
from ahp_models.network import brian_prefs
from hardware_mapping.trained.description import NetworkDescription
from hardware_mapping.trained.readouts import SampleRecord, TrainedRun, classify

__all__ = ["run_float"]


def run_float(
    description: NetworkDescription,
    samples: np.ndarray,
    *,
    batch: int = 200,
    codegen_target: str = "numpy",
    record_sample: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainedRun:
    """Classify samples with the float network in Brian2.

    Parameters
    ----------
    description : NetworkDescription
        The network, its encoder and readout.
    samples : numpy.ndarray
        One row per sample.
    batch : int
        Samples simulated together (memory grows with it: about 80 000 synapses each for the
        sequential-MNIST network).
    codegen_target : {"numpy", "cython", "auto"}
        Brian2's code generation target. numpy (default) needs no compiler and is as fast
        here: each step's work is a few large vectorized operations over the batch.
    record_sample : int, optional
        A sample whose spikes and readout voltages are kept.
    progress : callable, optional
        Called with (samples done, samples) after each batch.

    Returns
    -------
    TrainedRun
        Per-sample predictions, readout values and spike counts (no counters).
    """
    encoder = description.encoder
    values = encoder.check_samples(samples)
    n = values.shape[0]
    batch = max(1, min(int(batch), n))
    parts = _FloatNetwork(description, batch, codegen_target)
    readout = description.populations[description.readout_population]
    readout_values = np.zeros((n, readout.size))
    names = list(description.populations)
    spike_counts = np.zeros((n, len(names)), dtype=np.int64)
    sample = None
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        raster = encoder.encode(values[start:stop])
        recorded = record_sample - start if record_sample is not None else -1
        result = parts.run(raster, recorded if 0 <= recorded < stop - start else None)
        readout_values[start:stop] = result["readout"]
        spike_counts[start:stop] = result["counts"]
        if "sample" in result:
            spikes, readout_v = result["sample"]
            sample = SampleRecord(int(record_sample), raster[recorded], spikes, readout_v)
        if progress is not None:
            progress(stop, n)
    return TrainedRun(
        arithmetic="float",
        predictions=classify(description.readout, readout_values),
        readout_values=readout_values,
        spike_counts=pd.DataFrame(spike_counts, columns=names),
        sample=sample,
    )


class _FloatNetwork:
    """``batch`` copies of the network in one Brian2 network, built once."""

    def __init__(self, description: NetworkDescription, batch: int, codegen_target: str):
        self.description = description
        self.batch = batch
        self.codegen_target = codegen_target
        self.dt_s = description.dt_ms * 1e-3
        encoder = description.encoder
        self.n_steps = encoder.n_steps
        self.offsets, start = {}, 0
        for name, population in description.populations.items():
            self.offsets[name] = start
            start += population.size
        self.n = start  # neurons per copy
        self.channels = description.inputs[encoder.input]
        self._settings = {"codegen.target": codegen_target}
        set_device("runtime")
        with brian_prefs(self._settings):
            self._build()

    def _build(self) -> None:
        description, batch, n = self.description, self.batch, self.n
        model = get_model("loihi_ahp")
        keep_v, keep_aux, v_th, b_ahp, dead = (np.zeros(n) for _ in range(5))
        for name, population in description.populations.items():
            rows = slice(self.offsets[name], self.offsets[name] + population.size)
            neuron = population.float_neuron
            keep_v[rows], keep_aux[rows] = neuron.keep_v, neuron.keep_ahp
            v_th[rows], b_ahp[rows] = neuron.v_th, neuron.b_ahp
            dead[rows] = population.refract_delay
        dt = self.dt_s * second
        # The chip's refractory delay R holds v at 0, inputs lost, for R - 1 steps after a
        # spike (the AHP compartment goes on): ``hold`` counts them, set to R by the reset and
        # counted down at the end of every step.
        group = NeuronGroup(
            batch * n,
            model.equations() + "\nI_ext : amp (constant)\nhold : 1\ndead_steps : 1 (constant)",
            threshold=model.threshold,
            reset=model.reset + "\nhold = dead_steps",
            method="euler",
            dt=dt,
            name="trained_network",
        )
        group.run_regularly(
            model.step_code() + "\nv = v*int(hold <= 0)", when="groups", name="trained_step"
        )
        group.run_regularly("hold = clip(hold - 1, 0, inf)", when="end", name="trained_hold")
        group.dead_steps = np.tile(dead, batch)
        group.keep_v = np.tile(keep_v, batch)
        group.keep_aux = np.tile(keep_aux, batch)
        group.v_th = np.tile(v_th, batch)
        group.b_ahp = np.tile(b_ahp, batch)
        group.tau_v, group.tau_ahp = 1 * ms, 1 * ms  # the factors above are what the step reads
        copies = np.arange(batch, dtype=np.int64)[:, None]
        generator = SpikeGeneratorGroup(
            batch * self.channels, [], [] * second, dt=dt, name="trained_inputs"
        )
        objects: list = [group, generator]
        inner = [p for p in description.projections if p.pre in description.populations]
        outer = [p for p in description.projections if p.pre not in description.populations]
        for label, source, projections, offsets, width in (
            ("recurrent", group, inner, self.offsets, n),
            ("input", generator, outer, None, self.channels),
        ):
            if not projections:
                continue
            pre = np.concatenate(
                [p.pre_index + (offsets[p.pre] if offsets else 0) for p in projections]
            )
            post = np.concatenate([p.post_index + self.offsets[p.post] for p in projections])
            weight = np.concatenate([p.input_per_spike for p in projections]).astype(float)
            delay = np.concatenate([np.full(p.mantissa.size, p.delay) for p in projections])
            synapses = Synapses(
                source,
                group,
                "w : 1 (constant)",
                on_pre="v_post += w*int(hold_post <= 0)",
                dt=dt,
                name=f"trained_{label}",
            )
            synapses.connect(
                i=(pre[None, :] + copies * width).ravel(),
                j=(post[None, :] + copies * n).ravel(),
            )
            synapses.w = np.tile(weight, batch)
            # read at the step after the spike, after the update and before the threshold
            synapses.pre.when, synapses.pre.order = "thresholds", -1
            synapses.delay = np.tile(delay, batch) * dt
            objects.append(synapses)
        self.spikes = SpikeMonitor(group, name="trained_spikes")
        objects.append(self.spikes)
        self.group, self.generator = group, generator
        self.network = Network(*objects)
        self.network.store("rest")

    def run(self, raster: np.ndarray, recorded: int | None) -> dict:
        description = self.description
        count = raster.shape[0]
        padded = np.zeros((self.batch, *raster.shape[1:]), dtype=bool)
        padded[:count] = raster
        sample_index, step, channel = np.nonzero(padded)
        readout = description.populations[description.readout_population]
        first = self.offsets[description.readout_population]
        with brian_prefs(self._settings):
            self.network.restore("rest")
            self.generator.set_spikes(
                sample_index * self.channels + channel, step * self.dt_s * second
            )
            monitor = None
            if recorded is not None:
                start = recorded * self.n + first
                monitor = StateMonitor(
                    self.group, "v", record=range(start, start + readout.size), name="readout_v"
                )
                self.network.add(monitor)
            self.network.run(self.n_steps * self.dt_s * second)
            if monitor is not None:
                self.network.remove(monitor)
        v = np.asarray(self.group.v[:]).reshape(self.batch, self.n)[:count]
        counts = np.bincount(np.asarray(self.spikes.i[:]), minlength=self.batch * self.n)
        counts = counts.reshape(self.batch, self.n)[:count]
        per_population = [
            counts[:, self.offsets[name] : self.offsets[name] + population.size].sum(axis=1)
            for name, population in description.populations.items()
        ]
        result = {"counts": np.stack(per_population, axis=1)}
        if description.readout == "argmax_voltage":
            result["readout"] = v[:, first : first + readout.size]
        else:
            result["readout"] = counts[:, first : first + readout.size]
        if recorded is not None:
            result["sample"] = (self._sample_spikes(recorded), np.asarray(monitor.v[:]).T)
        return result

    def _sample_spikes(self, recorded: int) -> dict[str, np.ndarray]:
        indices = np.asarray(self.spikes.i[:]) - recorded * self.n
        steps = np.round(np.asarray(self.spikes.t[:] / second) / self.dt_s).astype(np.int64)
        inside = (indices >= 0) & (indices < self.n)
        spikes = {}
        for name, population in self.description.populations.items():
            raster = np.zeros((self.n_steps, population.size), dtype=bool)
            local = indices[inside] - self.offsets[name]
            chosen = (local >= 0) & (local < population.size)
            raster[steps[inside][chosen], local[chosen]] = True
            spikes[name] = raster
        return spikes
