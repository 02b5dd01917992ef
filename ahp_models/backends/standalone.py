"""Compile once, run many times: Brian2 C++ (and CUDA) standalone with ``run_args``.

`StandaloneSimulator` builds the network of `ahp_models.network` into a standalone project
once. Each `StandaloneSimulator.run` then starts the compiled binary with new per-neuron
constants, initial state and stimulus waveform through Brian2's command-line ``run_args``
protocol (``main --results_dir DIR neurons.tau_m=FILE stimulus_waveform.values=FILE``) and reads
the result files, without recompiling. After the build the simulator does not depend on
Brian2's global device any more, so several compiled simulators can live in one process and
runs can go in parallel (each gets its own input and results directory).
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import get_device, prefs, set_device
from brian2.devices.device import reset_device

from ahp_models.backends import binary_cache
from ahp_models.errors import UserError
from ahp_models.model import NeuronModel
from ahp_models.network import (
    GROUP_NAME,
    WAVEFORM_NAME,
    RecordSpec,
    RunInputs,
    brian_prefs,
    build_network,
    cpp_compile_args,
)
from ahp_models.parameters import ParameterError
from ahp_models.results import SimulationResult
from ahp_models.stimuli import StimulusError

__all__ = ["BuildError", "SimulationError", "StandaloneSimulator"]

DEVICES = ("cpp_standalone", "cuda_standalone")
#: What Brian2's (and brian2cuda's) generated code prints when it cannot read an input file.
_READ_FAILURES = ("Error reading", "Could not read")


class BuildError(UserError, RuntimeError):
    """Code generation or compilation of a standalone project failed."""


class SimulationError(UserError, RuntimeError):
    """A compiled standalone binary failed to run."""


@dataclass(frozen=True)
class _ResultFile:
    filename: str
    dtype: str


@dataclass
class _Project:
    """What a run needs to know about a compiled project (captured at build time)."""

    command: list[str]
    group_dtypes: dict[str, str]
    waveform_shape: tuple[int, ...]
    spike_files: dict[str, _ResultFile]
    trace_files: dict[str, _ResultFile] = field(default_factory=dict)


class StandaloneSimulator:
    """A compiled standalone simulation of one model that re-runs with new values.

    Parameters
    ----------
    model : NeuronModel
        The model.
    n_neurons : int
        Population size (compiled in).
    n_steps : int
        Number of time steps per run (compiled in).
    dt_s : float
        Time step, seconds.
    stimulus_layout : tuple
        `Stimulus.layout` of the stimuli it will take: (columns, samples, dt). Stimuli with
        this layout can change freely between runs.
    record : RecordSpec, optional
        Variables to record.
    device : {"cpp_standalone", "cuda_standalone"}
        Brian2 device.
    directory : str or os.PathLike, optional
        Project directory; a temporary one (removed with the simulator) if None.
    threads : int
        OpenMP threads for C++ (0: none, the single-threaded code).
    extra_prefs : mapping, optional
        More Brian2 preferences for the build (the CUDA backend passes its own).
    before_build : callable, optional
        Called with the project directory before compilation (the CUDA backend links cuRAND);
        returns more preferences.
    cannot_run : str, optional
        Why the compiled binary cannot run on this machine (e.g. no GPU); `run` raises it.

    Attributes
    ----------
    binary_reused : bool
        Whether the C++ binary came from the cache of compiled binaries
        (`ahp_models.backends.binary_cache`, opt-in) instead of the compiler.
    """

    def __init__(
        self,
        model: NeuronModel,
        *,
        n_neurons: int,
        n_steps: int,
        dt_s: float,
        stimulus_layout: tuple,
        record: RecordSpec | None = None,
        device: str = "cpp_standalone",
        directory: str | os.PathLike | None = None,
        threads: int = 0,
        extra_prefs: Mapping[str, Any] | None = None,
        before_build: Callable[[Path], Mapping[str, Any]] | None = None,
        cannot_run: str | None = None,
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device = {device!r}; allowed: {', '.join(DEVICES)}")
        self.model = model
        self.n_neurons = int(n_neurons)
        self.n_steps = int(n_steps)
        self.dt_s = float(dt_s)
        self.stimulus_layout = tuple(stimulus_layout)
        self.record = record or RecordSpec()
        self.record.check(model, self.n_neurons, self.dt_s)
        self.device = device
        self.threads = int(threads)
        self.cannot_run = cannot_run
        if directory is None:
            directory = tempfile.mkdtemp(prefix=f"ahp_{device}_")
            self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
        else:
            self._cleanup = None
        self.directory = Path(directory).resolve()
        self.build_count = 0
        self.run_count = 0
        self.binary_reused = False
        self._project = self._build(dict(extra_prefs or {}), before_build)

    # -- build ------------------------------------------------------------------------------
    def _build(
        self,
        extra_prefs: dict[str, Any],
        before_build: Callable[[Path], Mapping[str, Any]] | None,
    ) -> _Project:
        columns, n_samples, stimulus_dt_s = self.stimulus_layout
        waveform = np.zeros((n_samples, columns) if columns else n_samples)
        settings = {
            "codegen.cpp.extra_compile_args_gcc": cpp_compile_args(),
            "devices.cpp_standalone.openmp_threads": self.threads,
            **extra_prefs,
        }
        if before_build is not None:
            settings.update(before_build(self.directory))
        # C++ projects may take their binary from the cache of compiled ones (CUDA builds always
        # compile: nvcc's inputs are not only the project's files)
        cache = binary_cache.cache_folder() if self.device == "cpp_standalone" else None
        if cache is not None:
            # Brian2 suffixes a name still held by a live object (neurons_clock_1): collecting
            # the last build's objects first keeps the sources, and so their digest, the same
            gc.collect()
        set_device(self.device, build_on_run=False, directory=str(self.directory))
        device = get_device()
        try:
            device.reinit()
            device.activate(build_on_run=False, directory=str(self.directory))
            with brian_prefs(settings):
                handles = build_network(
                    self.model, self.n_neurons, waveform, stimulus_dt_s, self.dt_s, self.record
                )
                handles.network.run(self.n_steps * handles.group.clock.dt)
                try:
                    device.build(
                        directory=str(self.directory),
                        compile=cache is None,
                        run=False,
                        with_output=False,
                    )
                    if cache is not None:
                        self.binary_reused = binary_cache.compile_or_reuse(
                            device, self.directory, cache
                        )
                except Exception as err:  # Brian2 raises RuntimeError, nvcc failures too
                    raise BuildError(
                        f"building the {self.device} project in {self.directory} failed: {err}"
                    ) from err
                self.build_count += 1
                project = self._describe(device, handles)
        finally:
            device.reinit()
            reset_device()
        return project

    def _describe(self, device: Any, handles: Any) -> _Project:
        def result_file(variable: Any) -> _ResultFile:
            return _ResultFile(device.get_array_filename(variable), np.dtype(variable.dtype).str)

        group_variables = handles.group.variables
        names = [
            name
            for name, variable in group_variables.items()
            if not name.startswith("_")
            and getattr(variable, "size", None) == self.n_neurons
            and not getattr(variable, "read_only", False)
        ]
        spike_files = {
            "i": result_file(handles.spikes.variables["i"]),
            "t": result_file(handles.spikes.variables["t"]),
        }
        trace_files = {}
        if handles.traces is not None:
            trace_files["t"] = result_file(handles.traces.variables["t"])
            for name in self.record.variables:
                trace_files[name] = result_file(handles.traces.variables[name])
        run_cmd = _run_command()
        return _Project(
            command=run_cmd,
            group_dtypes={n: np.dtype(group_variables[n].dtype).str for n in names},
            waveform_shape=tuple(np.shape(handles.waveform.values)),
            spike_files=spike_files,
            trace_files=trace_files,
        )

    # -- run --------------------------------------------------------------------------------
    def check_inputs(self, inputs: RunInputs) -> None:
        """Raise if ``inputs`` do not fit the compiled structure (size, steps, stimulus)."""
        if inputs.n_neurons != self.n_neurons:
            raise ParameterError(
                f"this simulator was compiled for {self.n_neurons} neurons, got "
                f"{inputs.n_neurons}; build another simulator for a new size"
            )
        if inputs.n_steps != self.n_steps or abs(inputs.dt_s - self.dt_s) > 1e-15:
            raise ParameterError(
                f"this simulator was compiled for {self.n_steps} steps of "
                f"{self.dt_s * 1e3:g} ms, got {inputs.n_steps} steps of {inputs.dt_s * 1e3:g} ms"
            )
        stimulus_dt_s = self.stimulus_layout[2]
        if (
            inputs.waveform.shape != self._project.waveform_shape
            or abs(inputs.stimulus_dt_s - stimulus_dt_s) > 1e-12 * stimulus_dt_s
        ):
            raise StimulusError(
                f"this simulator was compiled for stimulus waveforms of shape "
                f"{self._project.waveform_shape} sampled every {stimulus_dt_s * 1e3:g} ms, got "
                f"{inputs.waveform.shape} every {inputs.stimulus_dt_s * 1e3:g} ms; stimuli must "
                "have the same length, sampling step and sharing (shared or per neuron)"
            )

    def run(self, inputs: RunInputs, *, keep_files: bool = False) -> SimulationResult:
        """Run the compiled binary once with new values.

        Parameters
        ----------
        inputs : RunInputs
            Values from `prepare_run` with this simulator's size, steps and stimulus layout.
        keep_files : bool
            Keep the run's input and result files (for debugging).

        Returns
        -------
        SimulationResult
            Spikes and traces.
        """
        if self.cannot_run:
            raise SimulationError(f"{self.device} project in {self.directory}: {self.cannot_run}")
        self.check_inputs(inputs)
        runs = self.directory / "runs"
        runs.mkdir(exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="run_", dir=runs))
        try:
            arguments = self._arguments(inputs, run_dir)
            results_dir = run_dir / "results"
            results_dir.mkdir()
            command = [*self._project.command, "--results_dir", f"{results_dir}{os.sep}"]
            started = time.perf_counter()
            completed = subprocess.run(
                command + arguments,
                cwd=self.directory,
                capture_output=True,
                text=True,
                check=False,
            )
            output = (completed.stdout + completed.stderr).strip()
            # Brian2's binaries report unreadable argument files but still exit with 0
            if completed.returncode != 0 or any(m in output for m in _READ_FAILURES):
                raise SimulationError(
                    f"{self.device} binary in {self.directory} failed (exit code "
                    f"{completed.returncode}):\n{output[-2000:]}"
                )
            self.run_count += 1
            result = self._read_results(results_dir)
            result.timings = {
                "network_run": _network_run_seconds(results_dir),
                "wall": time.perf_counter() - started,
            }
            return result
        finally:
            if not keep_files:
                shutil.rmtree(run_dir, ignore_errors=True)

    def _arguments(self, inputs: RunInputs, run_dir: Path) -> list[str]:
        # File arguments are named arg_NNN.dat and given relative to the project directory (the
        # binary's working directory): brian2cuda lower-cases every argument, paths included.
        relative = run_dir.relative_to(self.directory)
        arguments = []
        for k, (name, values) in enumerate(inputs.group_values().items()):
            dtype = np.dtype(self._project.group_dtypes[name])
            values = np.ascontiguousarray(values, dtype=dtype)
            if np.all(values == values[0]):
                # one value for all neurons: pass it on the command line (repr round-trips)
                arguments.append(f"{GROUP_NAME}.{name}={float(values[0])!r}")
            else:
                values.tofile(run_dir / f"arg_{k:03d}.dat")
                arguments.append(f"{GROUP_NAME}.{name}={relative / f'arg_{k:03d}.dat'}")
        np.ascontiguousarray(inputs.waveform, dtype=float).tofile(run_dir / "waveform.dat")
        arguments.append(f"{WAVEFORM_NAME}.values={relative / 'waveform.dat'}")
        return arguments

    def _read_results(self, results_dir: Path) -> SimulationResult:
        def read(entry: _ResultFile) -> np.ndarray:
            return np.fromfile(results_dir / entry.filename, dtype=entry.dtype)

        spikes = self._project.spike_files
        traces = {}
        trace_time_s = np.zeros(0)
        recorded = np.zeros(0, dtype=int)
        if self._project.trace_files:
            trace_time_s = read(self._project.trace_files["t"]).astype(float)
            recorded = (
                np.arange(self.n_neurons)
                if self.record.neurons is None
                else np.asarray(self.record.neurons, dtype=int)
            )
            for name in self.record.variables:
                flat = read(self._project.trace_files[name]).astype(float)
                traces[name] = flat.reshape(len(trace_time_s), len(recorded)).T.copy()
        recordable = self.model.recordable()
        return SimulationResult(
            model_name=self.model.name,
            backend=self.device,
            n_neurons=self.n_neurons,
            dt_s=self.dt_s,
            duration_s=self.n_steps * self.dt_s,
            spike_neuron=read(spikes["i"]).astype(np.int64),
            spike_time_s=read(spikes["t"]).astype(float),
            trace_time_s=trace_time_s,
            traces_si=traces,
            trace_units={name: recordable[name].unit_name for name in self.record.variables},
            recorded_neurons=recorded,
        )

    def close(self) -> None:
        """Remove the project directory if the simulator created it."""
        if self._cleanup is not None:
            self._cleanup()


def _network_run_seconds(results_dir: Path) -> float:
    """The binary's own measurement of its simulation loop (Brian2's last_run_info.txt)."""
    info = results_dir / "last_run_info.txt"
    try:
        return float(info.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def _run_command() -> list[str]:
    run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
    if isinstance(run_cmd, str):
        run_cmd = [run_cmd]
    return [str(part) for part in run_cmd]
