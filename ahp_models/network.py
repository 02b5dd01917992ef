"""The Brian2 objects every backend simulates, and the per-neuron values one run needs.

All backends build the same network with `build_network`: one ``NeuronGroup`` called
``neurons`` whose per-neuron constants (parameters, step coefficients, stimulus amplitude) and
initial state come from `prepare_run`, a ``TimedArray`` called ``stimulus_waveform``, a
``SpikeMonitor`` and optionally a ``StateMonitor``. The standalone backends compile it once and
feed new `RunInputs` through Brian2's ``run_args``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import (
    Equations,
    Network,
    NeuronGroup,
    SpikeMonitor,
    StateMonitor,
    TimedArray,
    prefs,
    second,
)

from ahp_models.model import STIMULUS_CURRENT, NeuronModel
from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.quantities import QuantityError, parse_quantity
from ahp_models.stimuli import Stimulus, StimulusError

__all__ = [
    "GROUP_NAME",
    "WAVEFORM_NAME",
    "NetworkHandles",
    "RecordSpec",
    "RunInputs",
    "brian_prefs",
    "build_network",
    "prepare_run",
]

GROUP_NAME = "neurons"
WAVEFORM_NAME = "stimulus_waveform"
AMPLITUDE_NAME = "stimulus_amplitude"

#: Compiler flags for generated C++ (Cython and standalone). Brian2's default adds
#: -ffast-math, which lets the compiler reorder and contract floating-point operations; without
#: it every backend evaluates the step in the same IEEE order, so their spike trains agree bit
#: for bit. See `cpp_compile_args` for the vectorisation flag added on gcc.
CPP_COMPILE_ARGS = ["-w", "-O3", "-march=native", "-ffp-contract=off"]

#: Brian2 copies each array pointer into a ``__restrict`` local; gcc does not trust those and
#: wants a run-time overlap check for every pair of the ~10 arrays of a step, more than its
#: default limit of 10, so it leaves the loop scalar. Allowing more checks vectorises it (one
#: check per loop entry): 1.8x faster on the LIF-AHP step, results bit-identical (measured,
#: bench/README.md). Vectorised IEEE adds and multiplies round exactly as scalar ones do.
GCC_VECTORIZE_ARGS = ["--param=vect-max-version-for-alias-checks=100"]


@functools.lru_cache(maxsize=1)
def cpp_compile_args() -> list[str]:
    """Return the flags for generated C++: `CPP_COMPILE_ARGS`, plus `GCC_VECTORIZE_ARGS` if the
    C++ compiler accepts them (gcc does, clang does not)."""
    compiler = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    if compiler is None:
        return list(CPP_COMPILE_ARGS)
    probe = subprocess.run(
        [compiler, *GCC_VECTORIZE_ARGS, "-x", "c++", "-fsyntax-only", "-"],
        input="int main() { return 0; }\n",
        capture_output=True,
        text=True,
        check=False,
    )
    extra = GCC_VECTORIZE_ARGS if probe.returncode == 0 and not probe.stderr.strip() else []
    return [*CPP_COMPILE_ARGS, *extra]


@dataclass(frozen=True)
class RecordSpec:
    """What to record besides spikes.

    Attributes
    ----------
    variables : tuple of str
        Variable names (see `NeuronModel.recordable`).
    neurons : tuple of int or None
        Which neurons; None means all.
    dt_s : float or None
        Sampling interval in seconds; None means every time step.
    """

    variables: tuple[str, ...] = ()
    neurons: tuple[int, ...] | None = None
    dt_s: float | None = None

    @classmethod
    def from_arguments(
        cls, record: Sequence[str] | str | None, neurons: Sequence[int] | None, record_dt: Any
    ) -> RecordSpec:
        """Build a spec from `simulate`-style arguments, validating their form."""
        variables = (record,) if isinstance(record, str) else tuple(record or ())
        chosen = None
        if neurons is not None:
            indices = np.ravel(np.asarray(neurons))
            whole = indices.size > 0 and indices.dtype.kind in "iuf"
            as_int = indices.astype(np.int64) if whole else indices
            if not whole or not np.array_equal(as_int, indices):
                raise ParameterError(
                    f"record_neurons = {neurons!r}: expected a non-empty list of neuron indices "
                    "(whole numbers)"
                )
            if len(set(as_int.tolist())) != len(as_int):
                raise ParameterError(f"record_neurons = {neurons!r} lists a neuron twice")
            chosen = tuple(as_int.tolist())
        dt_s = None
        if record_dt is not None:
            try:
                dt_s = float(parse_quantity(record_dt, second, field="record_dt") / second)
            except QuantityError as err:
                raise ParameterError(str(err)) from None
        return cls(variables, chosen, dt_s)

    def check(self, model: NeuronModel, n_neurons: int, dt_s: float) -> None:
        """Raise `ParameterError` for unknown variables, neurons or sampling intervals."""
        recordable = model.recordable()
        unknown = [v for v in self.variables if v not in recordable]
        if unknown:
            raise ParameterError(
                f"cannot record {unknown} from model {model.name!r}; recordable: "
                f"{sorted(recordable)}"
            )
        if self.neurons is not None:
            outside = [k for k in self.neurons if not 0 <= k < n_neurons]
            if outside:
                raise ParameterError(
                    f"record_neurons {outside} out of range; allowed: 0..{n_neurons - 1}"
                )
        if self.dt_s is not None:
            ratio = self.dt_s / dt_s
            if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
                raise ParameterError(
                    f"record_dt = {self.dt_s * 1e3:g} ms must be a whole multiple of "
                    f"dt = {dt_s * 1e3:g} ms"
                )


@dataclass
class RunInputs:
    """Everything one run needs besides the compiled structure (SI float64 arrays)."""

    n_neurons: int
    dt_s: float
    n_steps: int
    constants: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]
    waveform: np.ndarray
    stimulus_dt_s: float

    @property
    def duration_s(self) -> float:
        """Simulated time in seconds."""
        return self.n_steps * self.dt_s

    def group_values(self) -> dict[str, np.ndarray]:
        """Every per-neuron value to set on the group before the run."""
        return {**self.constants, **self.initial}


def population_size(params: ParameterSet, stimulus: Stimulus, n_neurons: int | None) -> int:
    """Return the population size implied by parameters, stimulus and an explicit size."""
    sizes = {
        "parameters": params.n_neurons,
        "stimulus": stimulus.n_neurons,
        "n_neurons": n_neurons,
    }
    given = {k: v for k, v in sizes.items() if v is not None}
    if n_neurons is not None and (
        not isinstance(n_neurons, int | np.integer) or isinstance(n_neurons, bool) or n_neurons < 1
    ):
        raise ParameterError(f"n_neurons = {n_neurons!r}; allowed: a whole number >= 1")
    if len(set(given.values())) > 1:
        raise ParameterError(
            f"population sizes disagree: {given}; per-neuron parameters, per-neuron stimulus "
            "amplitudes and n_neurons must describe the same number of neurons"
        )
    return next(iter(given.values()), 1)


def time_steps(duration: Any, dt_s: float, what: str = "duration") -> int:
    """Return ``duration / dt`` as a whole number of steps, or raise naming the value."""
    try:
        duration_s = float(parse_quantity(duration, second, field=what) / second)
    except QuantityError as err:
        raise ParameterError(str(err)) from None
    ratio = duration_s / dt_s
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > 1e-6:
        raise ParameterError(
            f"{what} = {duration_s:g} s is not a positive whole number of time steps "
            f"(dt = {dt_s * 1e3:g} ms)"
        )
    return steps


def prepare_run(
    model: NeuronModel,
    params: ParameterSet,
    stimulus: Stimulus,
    *,
    dt_s: float,
    n_steps: int,
    n_neurons: int | None = None,
    initial_state: Mapping[str, Any] | None = None,
) -> RunInputs:
    """Validate one run's inputs and compute every per-neuron value it needs.

    Parameters
    ----------
    model : NeuronModel
        The model.
    params : ParameterSet
        Its parameters (shared or per neuron).
    stimulus : Stimulus
        The stimulus; its ``dt`` must be a whole multiple of ``dt_s`` and it must last at
        least ``n_steps`` steps.
    dt_s : float
        Simulation time step in seconds.
    n_steps : int
        Number of steps to simulate.
    n_neurons : int, optional
        Population size, if not implied by the parameters or stimulus.
    initial_state : mapping, optional
        Initial values of state variables (quantities) replacing the resting state.

    Returns
    -------
    RunInputs
        The run's values.
    """
    model.check_params(params)
    model.check_time_step(params, dt_s)
    n = population_size(params, stimulus, n_neurons)
    ratio = float(stimulus.dt / second) / dt_s
    if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
        raise StimulusError(
            f"stimulus dt = {stimulus.dt} must be a whole multiple of the simulation "
            f"dt = {dt_s * 1e3:g} ms"
        )
    if stimulus.duration / second < n_steps * dt_s - 1e-9:
        raise StimulusError(
            f"stimulus lasts {stimulus.duration} but the simulation runs "
            f"{n_steps * dt_s:g} s; make the stimulus at least as long as the run"
        )
    p = params.si_arrays(n)
    constants = {
        **model.brian_parameters(p),
        **model.coefficients(p, dt_s),
        AMPLITUDE_NAME: stimulus.amplitudes_si(n),
    }
    initial = model.initial_state(p)
    for name, value in (initial_state or {}).items():
        if name not in initial:
            raise ParameterError(
                f"initial_state: {name!r} is not a state variable of {model.name!r}; "
                f"state variables: {sorted(initial)}"
            )
        unit = model.recordable()[name].unit_name
        try:
            quantity = parse_quantity(value, unit, field=f"initial_state.{name}")
        except QuantityError as err:
            raise ParameterError(str(err)) from None
        values = np.asarray(quantity, dtype=float)
        if values.ndim > 1 or values.size not in (1, n):
            raise ParameterError(
                f"initial_state.{name} has {values.size} values; give one, or one per neuron ({n})"
            )
        initial[name] = np.ascontiguousarray(np.broadcast_to(values.reshape(-1), (n,)))
    return RunInputs(
        n_neurons=n,
        dt_s=dt_s,
        n_steps=n_steps,
        constants={k: np.ascontiguousarray(v, dtype=float) for k, v in constants.items()},
        initial={k: np.ascontiguousarray(v, dtype=float) for k, v in initial.items()},
        waveform=stimulus.waveform,
        stimulus_dt_s=float(stimulus.dt / second),
    )


@dataclass
class NetworkHandles:
    """The Brian2 objects of a built network."""

    network: Network
    group: NeuronGroup
    spikes: SpikeMonitor
    traces: StateMonitor | None
    waveform: TimedArray


def stimulus_equations(per_neuron_waveform: bool) -> str:
    """Brian2 equations of the stimulus current every model reads as ``I_ext``."""
    index = ", i" if per_neuron_waveform else ""
    return (
        f"{STIMULUS_CURRENT} = {AMPLITUDE_NAME}*{WAVEFORM_NAME}(t{index}) : amp\n"
        f"{AMPLITUDE_NAME} : amp (constant)"
    )


def build_network(
    model: NeuronModel,
    n_neurons: int,
    waveform: np.ndarray,
    stimulus_dt_s: float,
    dt_s: float,
    record: RecordSpec,
) -> NetworkHandles:
    """Create the Brian2 objects for a population of ``model`` (on the active device).

    Parameters
    ----------
    model : NeuronModel
        The model.
    n_neurons : int
        Population size.
    waveform : numpy.ndarray
        Stimulus waveform (its shape is compiled in; values can change between runs).
    stimulus_dt_s, dt_s : float
        Waveform sampling step and simulation step, seconds.
    record : RecordSpec
        Variables to record.

    Returns
    -------
    NetworkHandles
        The network and its parts.
    """
    timed_array = TimedArray(waveform, dt=stimulus_dt_s * second, name=WAVEFORM_NAME)
    equations = Equations(model.equations() + "\n" + stimulus_equations(waveform.ndim == 2))
    group = NeuronGroup(
        n_neurons,
        equations,
        threshold=model.threshold,
        reset=model.reset,
        refractory=model.refractory_expression() or False,
        method=model.state_updater() or "euler",
        dt=dt_s * second,
        name=GROUP_NAME,
        namespace={WAVEFORM_NAME: timed_array},
    )
    if model.discrete_time:
        group.run_regularly(model.step_code(), when="groups", name=f"{GROUP_NAME}_step")
    spikes = SpikeMonitor(group, name="spikes")
    objects: list[Any] = [group, spikes]
    traces = None
    if record.variables:
        neurons = True if record.neurons is None else list(record.neurons)
        traces = StateMonitor(
            group,
            list(record.variables),
            record=neurons,
            dt=None if record.dt_s is None else record.dt_s * second,
            name="traces",
        )
        objects.append(traces)
    return NetworkHandles(Network(*objects), group, spikes, traces, timed_array)


@contextlib.contextmanager
def brian_prefs(values: Mapping[str, Any]) -> Iterator[None]:
    """Set Brian2 preferences for the duration of a block, then restore them."""
    previous = {name: prefs[name] for name in values}
    try:
        for name, value in values.items():
            prefs[name] = value
        yield
    finally:
        for name, value in previous.items():
            prefs[name] = value
