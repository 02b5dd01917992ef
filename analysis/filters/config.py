"""Study configs: a TOML or JSON file read into a checked `StudyConfig`, before any simulation.

Every key is known (an unknown one is an error naming it and the allowed ones), every quantity
has its unit, delays must fit in the signal, user targets must have the signal's length, and
the readout split must leave enough samples for cross-validation. Reading parses TOML or JSON
only: no code in a config is executed. A complete example is `example_config` (the reference
study of `bench/README.md`).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahp_models import LifAhpParams, ParameterError
from ahp_models.backends.cuda import gpu_available
from ahp_models.errors import UserError
from ahp_models.input_files import read_json_file, read_toml_file
from ahp_models.output_folders import OutputFolderError, safe_file_name
from ahp_models.quantities import QuantityError, parse_quantity
from analysis.filters.distributions import Distribution, DistributionError, parse_distribution
from analysis.filters.kernels import FilterEstimateError
from analysis.filters.population import (
    FITTED_COLUMNS,
    PARAMETER_UNITS,
    VARIANTS,
    PopulationSpec,
)
from analysis.filters.readout import ReadoutSplit

__all__ = [
    "BUILTIN_STUDIES",
    "ConfigError",
    "NeuronSpec",
    "StudyConfig",
    "example_config",
    "parse_config",
    "read_config",
]

#: ``auto``: CUDA standalone where an NVIDIA GPU is visible, C++ standalone otherwise.
BACKENDS = ("auto", "cpp_standalone", "cuda_standalone", "runtime")

_SCHEMA: dict[str, Any] = {
    "name": str,
    "seeds": list,
    "simulation": {"dt": "ms", "backend": str},
    "signal": {"duration": "s", "hold": "ms", "discard": "s", "file": str},
    "calibration": {"duration": "s", "iterations": int},
    "population": {"size": int, "rate": "Hz", "input_std": "pA", "parameters": dict,
                   "from_fits": str},
    "controls": {"variants": list},
    "readout": {"tau": "ms", "test_fraction": float, "folds": int},
    "tasks": {
        "memory": {"max_delay": "s", "step": "ms"},
        "integrators": list,
        "volterra": list,
        "recall": {"delays": list, "trials_per_delay": int, "distractor_std": float,
                   "cue_std": "pA"},
        "custom": list,
    },
    "neuron": {"parameters": dict, "mean": "pA", "noise_std": "pA", "noise_dt": "ms",
               "duration": "s", "trials": int, "frequencies": {"low": "Hz", "high": "Hz",
               "count": int}, "sine_amplitude": "pA", "max_lag": "s", "step": "pA",
               "second_order_lag": "ms"},
}  # fmt: skip
#: Largest whole-number setting of each key (one run's work stays within reach).
MAX_COUNTS = {
    "population.size": 1_000_000,
    "calibration.iterations": 100,
    "neuron.trials": 100_000,
    "neuron.frequencies.count": 1000,
    "tasks.recall.trials_per_delay": 100_000,
}
#: Largest total of simulated population neuron-steps (about 1000 reference studies).
MAX_NEURON_STEPS = 1e12
#: What the single-neuron measurements leave out of each trial (their ``discard`` default).
NEURON_TRANSIENT_S = 2.0
#: Studies shipped with the package, by name (``analysis/filters/studies/NAME.toml``).
BUILTIN_STUDIES = Path(__file__).parent / "studies"


class ConfigError(UserError):
    """A study config that cannot be used, naming the file, the key and what is allowed."""


@dataclass(frozen=True)
class RecallSpec:
    """The store-and-recall task: delays (samples), trials per delay, distractor, cue weight."""

    delays: tuple[int, ...]
    trials_per_delay: int
    distractor_std: float
    cue_std: Distribution


@dataclass(frozen=True)
class NeuronSpec:
    """The single-neuron characterization: one ``lif_ahp`` neuron at an operating point.

    Attributes
    ----------
    parameters : dict of str to Quantity
        ``lif_ahp`` parameters (the rest are the model's defaults).
    mean_pA, noise_std_pA, noise_dt_s : float
        Operating point.
    duration_s : float
        Length of each trial.
    trials : int
        Independent trials (white noise; half as many per sinusoid frequency).
    frequencies_Hz : numpy.ndarray
        Where gain and phase are measured.
    sine_amplitude_pA : float
        Sinusoid amplitude.
    max_lag_s : float
        Length of the Wiener kernel.
    step_pA : float
        Size of the current step of the step response.
    second_order_lag_s : float or None
        If given, the second-order Wiener kernel is estimated over this many seconds of lag.
    """

    parameters: dict[str, Any]
    mean_pA: float
    noise_std_pA: float
    noise_dt_s: float
    duration_s: float
    trials: int
    frequencies_Hz: np.ndarray = field(compare=False)
    sine_amplitude_pA: float
    max_lag_s: float
    step_pA: float = 50.0
    second_order_lag_s: float | None = None


@dataclass(frozen=True)
class StudyConfig:
    """A checked study: everything in plain units (s, Hz, pA), delays in samples of ``hold``.

    Attributes
    ----------
    name : str
        Study name (file names).
    seeds : tuple of int
        One population and one signal per seed.
    dt_s, hold_s, duration_s, discard_s : float
        Simulation step, signal hold, signal length, transient left out of the readouts.
    backend : str
        Brian2 backend.
    calibration_s : float
        Signal length of each rate-calibration run.
    calibration_iterations : int
        Newton steps of the rate calibration.
    population : PopulationSpec
        How to draw the neurons.
    variants : tuple of str
        ``ahp`` and its controls.
    readout_tau_s : float
        Filter of the spike trains.
    split : ReadoutSplit
        Test fraction and folds.
    memory_delays : tuple of int
        Delay-line targets (samples).
    integrators : tuple of float
        Leaky-integrator time constants (samples).
    volterra : tuple of (int, int)
        Product targets (samples).
    recall : RecallSpec or None
        The store-and-recall task.
    neuron : NeuronSpec or None
        The single-neuron characterization.
    signal : numpy.ndarray or None
        A user signal (one value per sample) instead of seeded Gaussian samples.
    custom : dict of str to numpy.ndarray
        User targets, one value per sample (NaN where undefined).
    source : str
        Where the config came from.
    """

    name: str
    seeds: tuple[int, ...]
    dt_s: float
    hold_s: float
    duration_s: float
    discard_s: float
    backend: str
    calibration_s: float
    calibration_iterations: int
    population: PopulationSpec
    variants: tuple[str, ...]
    readout_tau_s: float
    split: ReadoutSplit
    memory_delays: tuple[int, ...]
    integrators: tuple[float, ...]
    volterra: tuple[tuple[int, int], ...]
    recall: RecallSpec | None
    neuron: NeuronSpec | None = None
    signal: np.ndarray | None = field(default=None, compare=False)
    custom: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    source: str = "config"

    @property
    def samples(self) -> int:
        """Signal samples."""
        return round(self.duration_s / self.hold_s)

    @property
    def readout_samples(self) -> int:
        """Samples left after the transient."""
        return self.samples - round(self.discard_s / self.hold_s)


def read_config(path: str | os.PathLike) -> StudyConfig:
    """Read a ``.toml`` or ``.json`` study config and check it (see `parse_config`).

    A bare name without suffix that is not a file names a built-in study
    (``reference``, ``demo``: `BUILTIN_STUDIES`).
    """
    path = Path(path)
    if not path.suffix and not path.exists():
        builtin = BUILTIN_STUDIES / f"{path.name}.toml"
        if not builtin.exists():
            names = sorted(p.stem for p in BUILTIN_STUDIES.glob("*.toml"))
            raise ConfigError(
                f"study config {path}: no such file, nor a built-in study ({', '.join(names)})"
            )
        path = builtin
    if path.suffix not in (".toml", ".json"):
        raise ConfigError(f"{path}: a study config ends in .toml or .json")
    # the project's readers: NaN, infinities, huge numbers and deep nesting refused
    reader = read_json_file if path.suffix == ".json" else read_toml_file
    raw = reader(path, what="study config", error=ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a {type(raw).__name__}; allowed: a JSON object of tables")
    return parse_config(raw, source=str(path), base=path.parent)


def parse_config(
    raw: Mapping[str, Any], *, source: str = "config", base: Path | None = None
) -> StudyConfig:
    """Check a config mapping and resolve it into a `StudyConfig`.

    Parameters
    ----------
    raw : mapping
        The parsed file (see `example_config` for every key).
    source : str
        Its name, for errors.
    base : pathlib.Path, optional
        Folder that relative file names (signal, custom targets) are relative to.

    Returns
    -------
    StudyConfig
        The study; every check that needs no simulation has passed.
    """
    if not raw:  # an empty file would silently run every default
        raise ConfigError(
            f"{source}: empty; allowed: a study config with at least a name (see the built-in "
            "reference study for every key)"
        )
    _check_keys(raw, _SCHEMA, source)
    try:
        return _resolve(raw, source, base or Path("."))
    except (ConfigError, DistributionError, FilterEstimateError, QuantityError) as error:
        message = str(error)
        raise ConfigError(
            message if message.startswith(f"{source}: ") else f"{source}: {message}"
        ) from None


def example_config(name: str = "reference") -> dict[str, Any]:
    """A built-in study as a mapping (``reference``: the study of `bench/README.md`)."""
    return tomllib.loads((BUILTIN_STUDIES / f"{name}.toml").read_text(encoding="utf-8"))


def _resolve(raw: Mapping[str, Any], source: str, base: Path) -> StudyConfig:
    sim = raw.get("simulation", {})
    signal = raw.get("signal", {})
    dt_s = _seconds(sim.get("dt", "0.1 ms"), "simulation.dt")
    backend = sim.get("backend", "auto")
    if backend not in BACKENDS:
        raise ConfigError(f"{source}: simulation.backend = {backend!r}; allowed: {BACKENDS}")
    if backend == "auto":
        backend = "cuda_standalone" if gpu_available() else "cpp_standalone"
    hold_s = _seconds(signal.get("hold", "100 ms"), "signal.hold")
    user_signal = None
    if "file" in signal:
        if "duration" in signal:
            raise ConfigError(f"{source}: signal.file and signal.duration; give one of them")
        user_signal = _series(base / signal["file"], "signal.file")
        if np.isnan(user_signal).any():
            index = int(np.flatnonzero(np.isnan(user_signal))[0])
            raise ConfigError(
                f"{source}: signal.file: value {index} is NaN; allowed: a number per sample"
            )
        duration_s = user_signal.size * hold_s
    else:
        duration_s = _seconds(signal.get("duration", "300 s"), "signal.duration")
    discard_s = _seconds(signal.get("discard", "10 s"), "signal.discard", allow_zero=True)
    steps_per_hold = hold_s / dt_s
    if abs(steps_per_hold - round(steps_per_hold)) > 1e-6 or round(steps_per_hold) < 1:
        raise ConfigError(
            f"{source}: signal.hold = {hold_s * 1e3:g} ms is not a whole number of steps of "
            f"simulation.dt = {dt_s * 1e3:g} ms"
        )
    samples = round(duration_s / hold_s)
    discard = round(discard_s / hold_s)
    if discard >= samples:
        raise ConfigError(
            f"{source}: signal.discard = {discard_s:g} s leaves nothing of the "
            f"{duration_s:g} s signal"
        )
    calibration = raw.get("calibration", {})
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= 1000 or not all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**32 for s in seeds
    ) or len(set(seeds)) < len(seeds):  # fmt: skip
        shown = repr(seeds) if len(repr(seeds)) < 80 else repr(seeds)[:77] + "..."
        raise ConfigError(
            f"{source}: seeds = {shown}; allowed: 1 to 1000 distinct whole numbers, 0 <= s < 2**32"
        )
    readout = raw.get("readout", {})
    split = ReadoutSplit(readout.get("test_fraction", 0.2), readout.get("folds", 5))
    split.check(samples - discard, f"{source}: readout")
    tasks = raw.get("tasks", {})
    memory = tasks.get("memory")
    memory_delays: tuple[int, ...] = ()
    if memory is not None:
        max_delay = _samples(memory.get("max_delay", "5 s"), hold_s, "tasks.memory.max_delay")
        step = _samples(memory.get("step", "100 ms"), hold_s, "tasks.memory.step", minimum=1)
        memory_delays = tuple(range(0, max_delay + 1, step))
    integrators = tuple(
        _seconds(value, f"tasks.integrators[{k}]") / hold_s
        for k, value in enumerate(tasks.get("integrators", []))
    )
    volterra = tuple(_pair(value, hold_s, f"tasks.volterra[{k}]")
                     for k, value in enumerate(tasks.get("volterra", [])))  # fmt: skip
    # an integral needs 3 tau of signal before it is defined (`tasks.integrator_targets`)
    longest = max([*memory_delays, *(d for pair in volterra for d in pair),
                   *(math.ceil(3 * tau) for tau in integrators), 0])  # fmt: skip
    if longest >= samples - discard:
        raise ConfigError(
            f"{source}: a delay of {longest * hold_s:g} s (a delay line, a Volterra term, or 3 "
            f"time constants of an integrator) is longer than the "
            f"{(samples - discard) * hold_s:g} s of signal after the transient"
        )
    # each delay must leave enough samples for the split, the integrals with their gap
    split.check(samples - discard - longest, f"{source}: readout at the longest delay")
    if integrators:
        head = math.ceil(3 * max(integrators))
        replace(split, gap=head).check(samples - discard - head, f"{source}: tasks.integrators")
    recall = _recall(tasks.get("recall"), hold_s, split, source)
    custom = {}
    for k, entry in enumerate(tasks.get("custom", [])):
        _check_keys(entry, {"name": str, "file": str}, source, f"tasks.custom[{k}]")
        if entry.get("name") in custom or not entry.get("name"):
            raise ConfigError(
                f"{source}: tasks.custom[{k}].name = {entry.get('name')!r}; allowed: a name no "
                "other custom task has"
            )
        values = _series(base / entry["file"], f"tasks.custom[{k}].file")
        if values.size != samples:
            raise ConfigError(
                f"{source}: tasks.custom[{k}] ({entry['name']!r}) has {values.size} values; "
                f"allowed: one per signal sample, {samples}"
            )
        custom[entry["name"]] = values
    if custom and user_signal is None:
        raise ConfigError(
            f"{source}: tasks.custom needs signal.file (a target is a function of a signal "
            "you know)"
        )
    if not (memory_delays or integrators or volterra or recall or custom or "neuron" in raw):
        raise ConfigError(
            f"{source}: tasks: none; allowed: at least one of tasks.memory, "
            "tasks.integrators, tasks.volterra, tasks.recall, tasks.custom (a study without "
            "tasks would simulate and score nothing)"
        )
    variants = tuple(raw.get("controls", {}).get("variants", VARIANTS))
    if (
        not variants
        or any(v not in VARIANTS for v in variants)
        or len(set(variants)) < len(variants)
    ):
        raise ConfigError(f"{source}: controls.variants = {list(variants)}; allowed: {VARIANTS}")
    config = StudyConfig(
        name=_name(raw.get("name", "study"), source),
        seeds=tuple(seeds),
        dt_s=dt_s,
        hold_s=hold_s,
        duration_s=samples * hold_s,
        discard_s=discard * hold_s,
        backend=backend,
        calibration_s=_calibration_seconds(calibration.get("duration", "20 s"), hold_s, source),
        calibration_iterations=_int(calibration.get("iterations", 4), "calibration.iterations"),
        population=_population(raw.get("population", {}), source, base),
        variants=variants,
        readout_tau_s=_seconds(readout.get("tau", "50 ms"), "readout.tau"),
        split=split,
        memory_delays=memory_delays,
        integrators=integrators,
        volterra=volterra,
        recall=recall,
        neuron=_neuron(raw.get("neuron"), source),
        signal=user_signal,
        custom=custom,
        source=source,
    )
    _check_work(config, source)
    return config


def _population(raw: Mapping[str, Any], source: str, base: Path) -> PopulationSpec:
    size = _int(raw.get("size", 100), "population.size")
    fitted = None
    if "from_fits" in raw:
        fitted = _fitted_cells(base / raw["from_fits"], source)
    parameters = {}
    for name, value in raw.get("parameters", {}).items():
        if name not in PARAMETER_UNITS:
            raise ConfigError(
                f"{source}: population.parameters.{name}: unknown; allowed: "
                f"{', '.join(PARAMETER_UNITS)}"
            )
        parameters[name] = parse_distribution(
            value, PARAMETER_UNITS[name], f"population.parameters.{name}",
            positive=PARAMETER_UNITS[name] != "mV",  # voltages may be negative
        )  # fmt: skip
    return PopulationSpec(
        size=size,
        parameters=parameters,
        rate=parse_distribution(raw.get("rate", "10 Hz"), "Hz", "population.rate"),
        input_std=parse_distribution(raw.get("input_std", "30 pA"), "pA", "population.input_std"),
        fitted=fitted,
    )


def _fitted_cells(path: Path, source: str) -> pd.DataFrame:
    """The fitted ``lif_ahp`` cells of an `ahp fit` results table, checked."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: population.from_fits = {str(path)!r}: {error}") from None
    columns = [f"{name}_{PARAMETER_UNITS[name]}" for name in FITTED_COLUMNS]
    missing = sorted({"status", "model", *columns} - set(table.columns))
    if missing:
        raise ConfigError(
            f"{source}: population.from_fits = {str(path)!r} is not a fit results table "
            f"(no column {', '.join(missing)})"
        )
    cells = table[(table["status"] == "fitted") & (table["model"] == "lif_ahp")]
    cells = cells[columns].dropna()
    if cells.empty:
        raise ConfigError(
            f"{source}: population.from_fits = {str(path)!r} holds no fitted lif_ahp cell"
        )
    try:  # every cell must be a valid neuron
        LifAhpParams.from_row(cells.iloc[0].to_dict(), source=str(path))
    except ParameterError as error:
        raise ConfigError(f"{source}: population.from_fits: {error}") from None
    return cells.reset_index(drop=True)


def _calibration_seconds(raw: Any, hold_s: float, source: str) -> float:
    seconds = _seconds(raw, "calibration.duration")
    if seconds < 10 * hold_s:
        raise ConfigError(
            f"{source}: calibration.duration = {raw!r}; allowed: at least 10 signal holds "
            f"({10 * hold_s:g} s), for a rate to calibrate on"
        )
    return seconds


def _neuron(raw, source: str) -> NeuronSpec | None:
    if raw is None:
        return None
    parameters = {}
    for name, value in raw.get("parameters", {}).items():
        if name not in PARAMETER_UNITS or name == "ahp_charge":
            allowed = ", ".join(k for k in PARAMETER_UNITS if k != "ahp_charge")
            raise ConfigError(f"{source}: neuron.parameters.{name}: unknown; allowed: {allowed}")
        unit = PARAMETER_UNITS[name]
        parameters[name] = parse_quantity(value, unit, field=f"neuron.parameters.{name}")
    band = raw.get("frequencies", {})
    low = _hertz(band.get("low", "0.1 Hz"), "neuron.frequencies.low")
    high = _hertz(band.get("high", "100 Hz"), "neuron.frequencies.high")
    count = _int(band.get("count", 13), "neuron.frequencies.count")
    if not low < high:
        raise ConfigError(f"{source}: neuron.frequencies: low {low:g} Hz >= high {high:g} Hz")
    noise_dt = _seconds(raw.get("noise_dt", "1 ms"), "neuron.noise_dt")
    if high > 1 / (2 * noise_dt):
        raise ConfigError(
            f"{source}: neuron.frequencies.high = {high:g} Hz is above the noise's band "
            f"(1 / (2 noise_dt) = {1 / (2 * noise_dt):g} Hz)"
        )
    duration = _seconds(raw.get("duration", "60 s"), "neuron.duration")
    analysed = duration - NEURON_TRANSIENT_S  # the measurements leave out the first 2 s
    if analysed * low < 3:
        raise ConfigError(
            f"{source}: neuron.duration = {duration:g} s leaves {max(analysed, 0):g} s after the "
            f"{NEURON_TRANSIENT_S:g} s transient, fewer than 3 periods of {low:g} Hz; allowed: "
            "at least 3"
        )
    max_lag = _seconds(raw.get("max_lag", "2 s"), "neuron.max_lag")
    if max_lag > analysed / 4:
        raise ConfigError(
            f"{source}: neuron.max_lag = {max_lag:g} s; allowed: at most a quarter of the "
            f"{analysed:g} s analysed ({analysed / 4:g} s)"
        )
    second_order = None
    if "second_order_lag" in raw:
        second_order = _seconds(raw["second_order_lag"], "neuron.second_order_lag")
        if not noise_dt <= second_order <= max_lag:
            raise ConfigError(
                f"{source}: neuron.second_order_lag = {second_order:g} s; allowed: one noise "
                f"sample ({noise_dt:g} s) to max_lag ({max_lag:g} s)"
            )
    positive = {}
    for key, default in (("noise_std", "150 pA"), ("sine_amplitude", "10 pA")):
        positive[key] = _current(raw.get(key, default), f"neuron.{key}")
        if not positive[key] > 0:
            raise ConfigError(f"{source}: neuron.{key} = {raw.get(key)!r}; allowed: > 0 pA")
    return NeuronSpec(
        parameters=parameters,
        mean_pA=_current(raw.get("mean", "200 pA"), "neuron.mean"),
        noise_std_pA=positive["noise_std"],
        noise_dt_s=noise_dt,
        duration_s=duration,
        trials=_int(raw.get("trials", 100), "neuron.trials"),
        frequencies_Hz=np.geomspace(low, high, count),
        sine_amplitude_pA=positive["sine_amplitude"],
        max_lag_s=max_lag,
        step_pA=_current(raw.get("step", "50 pA"), "neuron.step"),
        second_order_lag_s=second_order,
    )


def _hertz(raw: Any, field: str) -> float:
    try:
        value = float(np.asarray(parse_quantity(raw, "Hz", field=field)))
    except (QuantityError, TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{field} = {raw!r}; allowed: a frequency > 0")
    return value


def _current(raw: Any, field: str) -> float:
    try:
        value = float(np.asarray(parse_quantity(raw, "pA", field=field)) / 1e-12)
    except (QuantityError, TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
    if not math.isfinite(value):
        raise ConfigError(f"{field} = {raw!r}; allowed: a finite current")
    return value


def _recall(raw, hold_s: float, split: ReadoutSplit, source: str) -> RecallSpec | None:
    if raw is None:
        return None
    delays = tuple(_samples(value, hold_s, f"tasks.recall.delays[{k}]", minimum=1)
                   for k, value in enumerate(raw.get("delays", [])))  # fmt: skip
    if not delays:
        raise ConfigError(f"{source}: tasks.recall.delays is empty; allowed: one or more delays")
    trials = _int(raw.get("trials_per_delay", 200), "tasks.recall.trials_per_delay")
    split.check(trials, f"{source}: tasks.recall (trials per delay)")
    distractor = raw.get("distractor_std", 0.5)
    if isinstance(distractor, bool) or not isinstance(distractor, int | float) or distractor < 0:
        raise ConfigError(f"{source}: tasks.recall.distractor_std = {distractor!r}; allowed: >= 0")
    cue = parse_distribution(raw.get("cue_std", "30 pA"), "pA", "tasks.recall.cue_std")
    return RecallSpec(delays, trials, float(distractor), cue)


def _check_keys(raw: Any, schema: Mapping[str, Any], source: str, path: str = "") -> None:
    """Every key known, every section a table, plain values of the right type."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: {path or 'the config'} must be a table")
    for key, value in raw.items():
        name = f"{path}.{key}" if path else key
        if key not in schema:
            raise ConfigError(f"{source}: unknown key {name!r}; allowed: {', '.join(schema)}")
        expected = schema[key]
        if isinstance(expected, dict):
            _check_keys(value, expected, source, name)
        elif expected in (str, int, list, dict) and (
            not isinstance(value, expected) or isinstance(value, bool)
        ):
            raise ConfigError(f"{source}: {name} = {value!r}; allowed: a {expected.__name__}")
        elif expected is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{source}: {name} = {value!r}; allowed: a number")


def _seconds(raw: Any, field: str, *, allow_zero: bool = False) -> float:
    try:
        value = float(np.asarray(parse_quantity(raw, "second", field=field)))
    except (QuantityError, TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{field} = {raw!r}; allowed: a time {'>=' if allow_zero else '>'} 0")
    return value


def _samples(raw: Any, hold_s: float, field: str, minimum: int = 0) -> int:
    value = _seconds(raw, field, allow_zero=True) / hold_s
    if value > 1e9:  # a billion holds: no signal is that long
        raise ConfigError(
            f"{field} = {raw!r}; allowed: at most 1e9 signal holds of {hold_s * 1e3:g} ms"
        )
    if abs(value - round(value)) > 1e-6 or round(value) < minimum:
        raise ConfigError(
            f"{field} = {raw!r}; allowed: a whole number (>= {minimum}) of signal holds of "
            f"{hold_s * 1e3:g} ms"
        )
    return round(value)


def _pair(raw: Any, hold_s: float, field: str) -> tuple[int, int]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise ConfigError(f'{field} = {raw!r}; allowed: two delays, e.g. ["0 ms", "100 ms"]')
    return (_samples(raw[0], hold_s, f"{field}[0]"), _samples(raw[1], hold_s, f"{field}[1]"))


def _int(raw: Any, field: str) -> int:
    high = MAX_COUNTS[field]
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= high:
        raise ConfigError(f"{field} = {raw!r}; allowed: a whole number from 1 to {high}")
    return raw


def _name(raw: Any, source: str) -> str:
    try:  # the name becomes the default output folder: it must not leave it
        return safe_file_name(raw, "name")
    except OutputFolderError as error:
        raise ConfigError(f"{source}: {error}") from None


def _check_work(config: StudyConfig, source: str) -> None:
    """Refuse a study whose simulations could not finish (population neuron-steps)."""
    seconds = config.duration_s + config.calibration_s * config.calibration_iterations
    steps = config.population.size * seconds / config.dt_s * len(config.variants)
    total = steps * len(config.seeds)
    if config.neuron is not None:  # the single neuron's trials (sinusoids and noise alike)
        frequencies = len(config.neuron.frequencies_Hz)
        total += (config.neuron.trials + frequencies) * config.neuron.duration_s / config.dt_s
    if total > MAX_NEURON_STEPS:
        raise ConfigError(
            f"{source}: population.size x (signal.duration + calibration) / simulation.dt x "
            f"variants x seeds, plus the neuron's trials = {total:.3g} neuron-steps; allowed: "
            "at most "
            f"{MAX_NEURON_STEPS:.0e} (the reference study takes about 1e9 per seed)"
        )


def _series(path: Path, field: str) -> np.ndarray:
    try:
        values = np.loadtxt(path, delimiter=",", ndmin=1, dtype=float)
    except (OSError, ValueError) as error:
        raise ConfigError(f"{field} = {str(path)!r}: {error}") from None
    if values.ndim != 1:
        raise ConfigError(f"{field} = {str(path)!r}: allowed: one column of numbers")
    if np.isinf(values).any():
        raise ConfigError(f"{field} = {str(path)!r}: infinite values (NaN marks undefined)")
    return values
