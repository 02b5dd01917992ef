"""Brian2 runtime backend: code generated and run in this process (numpy or Cython)."""

from __future__ import annotations

import time

import numpy as np
from brian2 import second, set_device
from brian2.devices.device import reset_device

from ahp_models.model import NeuronModel
from ahp_models.network import RecordSpec, RunInputs, brian_prefs, build_network, cpp_compile_args
from ahp_models.results import SimulationResult
from ahp_models.synapses import RecurrentSynapses

__all__ = ["CODEGEN_TARGETS", "run_runtime"]

CODEGEN_TARGETS = ("auto", "numpy", "cython")


def run_runtime(
    model: NeuronModel,
    inputs: RunInputs,
    record: RecordSpec,
    codegen_target: str = "auto",
    *,
    synapses: RecurrentSynapses | None = None,
) -> SimulationResult:
    """Simulate with Brian2's runtime device.

    Parameters
    ----------
    model : NeuronModel
        The model.
    inputs : RunInputs
        Values from `prepare_run`.
    record : RecordSpec
        Variables to record.
    codegen_target : {"auto", "numpy", "cython"}
        Brian2 code-generation target; ``auto`` uses Cython when it works, else numpy.
    synapses : RecurrentSynapses, optional
        Synapses within the population.

    Returns
    -------
    SimulationResult
        Spikes and traces.
    """
    if codegen_target not in CODEGEN_TARGETS:
        raise ValueError(
            f"codegen_target = {codegen_target!r}; allowed: {', '.join(CODEGEN_TARGETS)}"
        )
    started = time.perf_counter()
    set_device("runtime")
    try:
        settings = {
            "codegen.target": codegen_target,
            "codegen.cpp.extra_compile_args_gcc": cpp_compile_args(),
        }
        with brian_prefs(settings):
            handles = build_network(
                model,
                inputs.n_neurons,
                inputs.waveform,
                inputs.stimulus_dt_s,
                inputs.dt_s,
                record,
            )
            handles.group.set_states(inputs.group_values(), units=False)
            if synapses is not None:
                handles.network.add(*synapses.brian_objects(handles.group, inputs.dt_s))
            loop_started = time.perf_counter()
            handles.network.run(inputs.n_steps * inputs.dt_s * second)
            network_run = time.perf_counter() - loop_started
            traces = {}
            trace_time_s = np.zeros(0)
            if handles.traces is not None:
                trace_time_s = np.asarray(handles.traces.t_[:], dtype=float)
                traces = {
                    name: np.asarray(getattr(handles.traces, name + "_"), dtype=float)
                    for name in record.variables
                }
            recordable = model.recordable()
            return SimulationResult(
                model_name=model.name,
                backend="runtime",
                n_neurons=inputs.n_neurons,
                dt_s=inputs.dt_s,
                duration_s=inputs.duration_s,
                spike_neuron=np.asarray(handles.spikes.i[:], dtype=np.int64),
                spike_time_s=np.asarray(handles.spikes.t_[:], dtype=float),
                trace_time_s=trace_time_s,
                traces_si=traces,
                trace_units={name: recordable[name].unit_name for name in record.variables},
                recorded_neurons=_recorded(record, inputs.n_neurons),
                timings={"network_run": network_run, "wall": time.perf_counter() - started},
            )
    finally:
        reset_device()


def _recorded(record: RecordSpec, n_neurons: int) -> np.ndarray:
    if not record.variables:
        return np.zeros(0, dtype=int)
    if record.neurons is None:
        return np.arange(n_neurons)
    return np.asarray(record.neurons, dtype=int)
