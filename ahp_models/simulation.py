"""One entry point for every backend: `simulate`.

``runtime`` runs Brian2's code generation in this process (numpy or Cython). ``cpp_standalone``
and ``cuda_standalone`` compile the network once per structure (model and its options,
population size, number of steps, stimulus layout, recorded variables) and re-run the binary
with new parameters and stimuli; compiled simulators are kept in a small per-process cache, so
repeated calls with the same structure do not recompile. Use `compile_simulator` to hold one
explicitly.

Backends agree on spike trains: the step is the same closed form everywhere and generated C++
is compiled without ``-ffast-math`` (no reordering or fused multiply-adds), so runtime (numpy and
Cython) and C++ standalone produce bit-identical traces and spikes on deterministic input for every
model whose step is multiply-adds only (tested for all of them). The conductance-based model calls
``exp`` every step, and numpy's vectorised ``exp``, the C library's and CUDA's may differ in the
last bit: its traces agree to about 1e-16 relative and a spike can move by at most one step when
``v`` passes threshold within that rounding (none did in the tests). CUDA is compiled with
``-fmad=false`` for the same reason.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

from brian2 import Quantity, second

from ahp_models.backends.cuda import BackendUnavailable, cuda_build_settings, gpu_available
from ahp_models.backends.runtime import run_runtime
from ahp_models.backends.standalone import DEVICES, StandaloneSimulator
from ahp_models.catalogue import resolve_model
from ahp_models.model import NeuronModel
from ahp_models.network import RecordSpec, population_size, prepare_run, time_steps
from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.quantities import QuantityError, parse_quantity
from ahp_models.results import SimulationResult
from ahp_models.stimuli import Stimulus
from ahp_models.synapses import RecurrentSynapses

__all__ = ["BACKENDS", "CompiledSimulation", "compile_simulator", "simulate"]

BACKENDS = ("runtime", *DEVICES)
_CACHE_SIZE = 8
_compiled: collections.OrderedDict[tuple, StandaloneSimulator] = collections.OrderedDict()


def _dt_seconds(dt: Any, stimulus: Stimulus) -> float:
    if dt is None:
        return float(stimulus.dt / second)
    try:
        value = float(parse_quantity(dt, second, field="dt") / second)
    except QuantityError as err:
        raise ParameterError(str(err)) from None
    if not value > 0:
        raise ParameterError(f"dt = {dt} must be > 0")
    return value


class CompiledSimulation:
    """A compiled standalone simulation that takes new parameters and stimuli without
    recompiling (the object fitting uses).

    Create it with `compile_simulator`; call `run` as often as needed.
    """

    def __init__(self, model: NeuronModel, simulator: StandaloneSimulator) -> None:
        self.model = model
        self.simulator = simulator

    @property
    def build_count(self) -> int:
        """How many times the project was compiled (1 for the simulator's lifetime)."""
        return self.simulator.build_count

    @property
    def n_neurons(self) -> int:
        """Compiled population size."""
        return self.simulator.n_neurons

    def run(
        self,
        params: ParameterSet,
        stimulus: Stimulus,
        *,
        initial_state: Mapping[str, Any] | None = None,
    ) -> SimulationResult:
        """Simulate once with new parameters and stimulus (same structure as compiled).

        Parameters
        ----------
        params : ParameterSet
            Parameters (shared or per neuron).
        stimulus : Stimulus
            A stimulus with the compiled layout (length, sampling step, sharing).
        initial_state : mapping, optional
            Initial values replacing the resting state.

        Returns
        -------
        SimulationResult
            Spikes and traces.
        """
        inputs = prepare_run(
            self.model,
            params,
            stimulus,
            dt_s=self.simulator.dt_s,
            n_steps=self.simulator.n_steps,
            n_neurons=self.simulator.n_neurons,
            initial_state=initial_state,
        )
        return self.simulator.run(inputs)

    def close(self) -> None:
        """Delete the compiled project (if it lives in a temporary directory)."""
        self.simulator.close()


def compile_simulator(
    model: NeuronModel | str,
    *,
    n_neurons: int,
    stimulus: Stimulus,
    duration: Quantity | None = None,
    dt: Quantity | None = None,
    backend: str = "cpp_standalone",
    record: Sequence[str] | str | None = None,
    record_neurons: Sequence[int] | None = None,
    record_dt: Quantity | None = None,
    directory: str | None = None,
    threads: int = 0,
    **model_options: Any,
) -> CompiledSimulation:
    """Compile a standalone simulation once for repeated runs.

    Parameters
    ----------
    model : NeuronModel or str
        Model instance or catalogue name.
    n_neurons : int
        Population size.
    stimulus : Stimulus
        A stimulus with the layout (length, sampling step, sharing) later runs will use.
    duration : Quantity, optional
        Simulated time per run; default the stimulus duration.
    dt : Quantity, optional
        Time step; default the stimulus sampling step.
    backend : {"cpp_standalone", "cuda_standalone"}
        Standalone device.
    record, record_neurons, record_dt
        Variables, neurons and sampling interval to record (see `simulate`).
    directory : str, optional
        Project directory (default: a temporary directory removed with the object).
    threads : int
        OpenMP threads for the C++ code (0: single-threaded).
    **model_options
        Options of a model given by name (e.g. ``n_currents``).

    Returns
    -------
    CompiledSimulation
        The compiled simulation.
    """
    if backend not in DEVICES:
        raise ValueError(f"backend = {backend!r}; allowed: {', '.join(DEVICES)}")
    instance = resolve_model(model, **model_options)
    n_neurons = population_size(instance.default_params(), stimulus, n_neurons)
    dt_s = _dt_seconds(dt, stimulus)
    n_steps = time_steps(stimulus.duration if duration is None else duration, dt_s)
    spec = RecordSpec.from_arguments(record, record_neurons, record_dt)
    extra_prefs, before_build, cannot_run = {}, None, None
    if backend == "cuda_standalone":
        extra_prefs, before_build = cuda_build_settings()
        if not gpu_available():
            cannot_run = "no NVIDIA GPU visible (nvidia-smi lists none); compiled only"
    simulator = StandaloneSimulator(
        instance,
        n_neurons=n_neurons,
        n_steps=n_steps,
        dt_s=dt_s,
        stimulus_layout=stimulus.layout(),
        record=spec,
        device=backend,
        directory=directory,
        threads=threads,
        extra_prefs=extra_prefs,
        before_build=before_build,
        cannot_run=cannot_run,
    )
    return CompiledSimulation(instance, simulator)


def simulate(
    model: NeuronModel | str,
    params: ParameterSet | Mapping[str, Any] | None,
    stimulus: Stimulus,
    duration: Quantity | None = None,
    *,
    backend: str = "runtime",
    dt: Quantity | None = None,
    record: Sequence[str] | str | None = None,
    record_neurons: Sequence[int] | None = None,
    record_dt: Quantity | None = None,
    n_neurons: int | None = None,
    initial_state: Mapping[str, Any] | None = None,
    codegen_target: str = "auto",
    synapses: RecurrentSynapses | None = None,
    **model_options: Any,
) -> SimulationResult:
    """Simulate a population of a catalogue model under a stimulus.

    Parameters
    ----------
    model : NeuronModel or str
        Model instance or catalogue name (see `ahp_models.catalogue.MODELS`).
    params : ParameterSet, mapping or None
        Parameters (each shared or one per neuron); a mapping is read with
        ``ParameterSet.from_dict``; None uses the model's defaults.
    stimulus : Stimulus
        The injected current (see `ahp_models.stimuli`).
    duration : Quantity, optional
        Simulated time; default the stimulus duration.
    backend : {"runtime", "cpp_standalone", "cuda_standalone"}
        Where to run.
    dt : Quantity, optional
        Time step; default the stimulus sampling step.
    record : str or sequence of str, optional
        Variables to record (e.g. ``["v", "I_ahp"]``); spikes are always recorded.
    record_neurons : sequence of int, optional
        Neurons whose variables are recorded (default all).
    record_dt : Quantity, optional
        Sampling interval of the recording (default every step).
    n_neurons : int, optional
        Population size if neither parameters nor stimulus imply it (default 1).
    initial_state : mapping, optional
        Initial values of state variables (default: rest).
    codegen_target : {"auto", "numpy", "cython"}
        Code generation target of the runtime backend.
    synapses : RecurrentSynapses, optional
        Synapses within the population (runtime backend).
    **model_options
        Options of a model given by name (e.g. ``n_currents`` for ``lif_multi_ahp``).

    Returns
    -------
    SimulationResult
        Spike trains and recorded traces with units, and pandas views.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend = {backend!r}; allowed: {', '.join(BACKENDS)}")
    instance = resolve_model(model, **model_options)
    if params is None:
        params = instance.default_params()
    elif isinstance(params, Mapping):
        params = instance.params_class.from_dict(params)
    dt_s = _dt_seconds(dt, stimulus)
    n_steps = time_steps(stimulus.duration if duration is None else duration, dt_s)
    spec = RecordSpec.from_arguments(record, record_neurons, record_dt)
    inputs = prepare_run(
        instance,
        params,
        stimulus,
        dt_s=dt_s,
        n_steps=n_steps,
        n_neurons=n_neurons,
        initial_state=initial_state,
    )
    spec.check(instance, inputs.n_neurons, dt_s)
    if synapses is not None:
        synapses.check(inputs.n_neurons, dt_s)
        if backend != "runtime":
            raise ParameterError(
                f"synapses: recurrent synapses run on the runtime backend; got {backend!r}"
            )
    if backend == "runtime":
        return run_runtime(instance, inputs, spec, codegen_target, synapses=synapses)
    if backend == "cuda_standalone" and not gpu_available():
        raise BackendUnavailable(
            "backend 'cuda_standalone' needs an NVIDIA GPU and none is visible (nvidia-smi); "
            "use compile_simulator(..., backend='cuda_standalone') to generate and compile only"
        )
    key = (backend, instance.key, inputs.n_neurons, n_steps, dt_s, stimulus.layout(), spec)
    simulator = _compiled.get(key)
    if simulator is None:
        compiled = compile_simulator(
            instance,
            n_neurons=inputs.n_neurons,
            stimulus=stimulus,
            duration=n_steps * dt_s * second,
            dt=dt_s * second,
            backend=backend,
            record=spec.variables,
            record_neurons=spec.neurons,
            record_dt=None if spec.dt_s is None else spec.dt_s * second,
        )
        simulator = compiled.simulator
        _compiled[key] = simulator
        while len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)[1].close()
    _compiled.move_to_end(key)
    return simulator.run(inputs)
