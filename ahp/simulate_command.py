"""`ahp simulate`: run a catalogue model on a protocol and write spikes, traces and a figure."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Quantity, pA, second

from ahp.arguments import path_argument
from ahp_models import (
    BACKENDS,
    MODELS,
    NeuronModel,
    ParameterError,
    ParameterSet,
    SimulationResult,
    Stimulus,
    StimulusError,
    from_array,
    get_model,
    long_square,
    noise,
    ramp,
    short_square,
    simulate,
)
from ahp_models.backends.runtime import CODEGEN_TARGETS
from ahp_models.files import atomic_write_text
from ahp_models.input_files import read_array_file
from ahp_models.nwb_export import check_nwb_output, write_nwb
from ahp_models.output_folders import remove_stale_outputs
from ahp_models.quantities import QuantityError, lookup_unit, parse_quantity
from ahp_models.stimuli import MAX_STIMULUS_PA

__all__ = ["add_arguments", "run"]

PROTOCOLS = ("long_square", "short_square", "ramp", "noise", "array")
DEFAULT_AMPLITUDES = "150,200,250"
NOISE_DEFAULTS = {"mean": "100 pA", "std": "50 pA", "seed": 0, "duration": "3 s"}
_SQUARE = {"amplitudes", "relative_to_rheobase", "onset", "width", "duration"}
#: The stimulus options each protocol reads; giving another one is an error, not ignored.
PROTOCOL_OPTIONS = {
    "long_square": _SQUARE,
    "short_square": _SQUARE,
    "ramp": {"slope", "onset", "duration"},
    "noise": {"mean", "std", "tau", "seed", "onset", "width", "duration"},
    "array": {"current_file", "current_unit"},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp simulate``."""
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="lif_ahp", choices=sorted(MODELS), help="catalogue model")
    model.add_argument("--n-currents", type=int, help="number of AHP / after-spike currents")
    model.add_argument("--scheme", choices=("allen", "exact"), help="glif3 integration scheme")
    model.add_argument(
        "--params", type=path_argument, help="parameter JSON file (ParameterSet.to_json)"
    )
    model.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one parameter, e.g. --set tau_ahp='300 ms' (repeatable)",
    )
    stim = parser.add_argument_group("stimulus")
    stim.add_argument("--protocol", default="long_square", choices=PROTOCOLS)
    stim.add_argument(
        "--amplitudes",
        help=f"step amplitudes in pA, comma separated, one sweep each (default "
        f"{DEFAULT_AMPLITUDES}; negative first value: --amplitudes=-20,0,20)",
    )
    stim.add_argument(
        "--relative-to-rheobase",
        action="store_true",
        help="amplitudes are offsets from the model's analytic rheobase",
    )
    stim.add_argument("--onset", help="stimulus onset (default: Allen's 1.02 s)")
    stim.add_argument("--width", help="step width (default: 1 s long, 3 ms short square)")
    stim.add_argument("--duration", help="sweep length")
    stim.add_argument("--slope", help="ramp slope (default Allen's 25 pA/s)")
    stim.add_argument("--mean", help=f"noise mean (default {NOISE_DEFAULTS['mean']})")
    stim.add_argument("--std", help=f"noise standard deviation (default {NOISE_DEFAULTS['std']})")
    stim.add_argument("--tau", help="noise correlation time (white noise if absent)")
    stim.add_argument("--seed", type=int, help="noise seed (default 0)")
    stim.add_argument(
        "--current-file",
        type=path_argument,
        help="protocol 'array': .npy or .csv with one column per neuron of current samples",
    )
    stim.add_argument("--current-unit", help="unit of --current-file values (default pA)")
    stim.add_argument("--dt", default="0.1 ms", help="time step (and stimulus sampling step)")
    run_group = parser.add_argument_group("run and output")
    run_group.add_argument("--backend", default="runtime", choices=BACKENDS)
    run_group.add_argument(
        "--codegen-target",
        default="auto",
        choices=CODEGEN_TARGETS,
        help="runtime backend: Brian2 code generation (auto = Cython if it compiles, else numpy)",
    )
    run_group.add_argument("--record", default="v", help="variables to record, comma separated")
    run_group.add_argument("--record-dt", help="sampling interval of the traces")
    run_group.add_argument("--out", type=path_argument, default=Path("simulation_output"))
    run_group.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    run_group.add_argument(
        "--nwb",
        action="store_true",
        help="also write simulation.nwb: each neuron's v as an NWB 2 current-clamp sweep with "
        "its stimulus, spikes in a Units table (needs the nwb extra; needs v recorded)",
    )
    run_group.add_argument("--no-csv-traces", action="store_true", help="traces as NPZ only")


def _model(args: argparse.Namespace) -> NeuronModel:
    options: dict[str, Any] = {}
    if args.n_currents is not None:
        options["n_currents"] = args.n_currents
    if args.scheme is not None:
        options["scheme"] = args.scheme
    return get_model(args.model, **options)


def _params(model: NeuronModel, args: argparse.Namespace) -> ParameterSet:
    if args.params is not None:
        params = model.params_class.from_json(args.params)
    else:
        params = model.default_params()
    overrides = {}
    for item in args.overrides:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(
                f"--set {item!r}: expected NAME=VALUE, e.g. tau_ahp='300 ms' or "
                "tau_ahp='[30, 300] ms'"
            )
        overrides[name.strip()] = value.strip()
    if not overrides:
        return params
    merged = params.to_dict()
    merged["parameters"].update(overrides)
    return model.params_class.from_dict(merged, source="--set")


def _quantity(text: str | None, unit: Quantity, name: str) -> Any:
    return None if text is None else parse_quantity(text, unit, field=f"--{name}")


def _amplitudes(text: str) -> Quantity:
    try:
        values = [float(part) for part in text.split(",")]  # "1,,2": an empty item is refused
    except ValueError:
        raise StimulusError(
            f"--amplitudes {text!r}: expected numbers in pA separated by commas, e.g. 100,150"
        ) from None
    if not values:
        raise StimulusError("--amplitudes is empty: give at least one amplitude in pA")
    if not all(np.isfinite(v) and abs(v) <= MAX_STIMULUS_PA for v in values):
        raise StimulusError(
            f"--amplitudes {text!r}: allowed: finite amplitudes within +-{MAX_STIMULUS_PA:g} pA"
        )
    return np.asarray(values) * pA


def _current_file(path: Path, unit_name: str) -> np.ndarray:
    """Samples in rows, one column per neuron (a single column is shared by all)."""
    try:
        unit = lookup_unit(unit_name)
    except QuantityError as error:
        raise StimulusError(f"--current-unit {unit_name!r}: {error}") from None
    if unit.dim != pA.dim:
        raise StimulusError(
            f"--current-unit {unit_name!r} is not a unit of current; allowed: pA, nA, uA, A ..."
        )
    values = read_array_file(path, "--current-file", error=StimulusError)
    largest_pA = float(np.abs(values).max() * unit / pA)
    if largest_pA > MAX_STIMULUS_PA:
        raise StimulusError(
            f"--current-file {path}: a value of {largest_pA:g} pA; allowed: within "
            f"+-{MAX_STIMULUS_PA:g} pA"
        )
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    return values * unit


def build_stimulus(
    args: argparse.Namespace, model: NeuronModel, params: ParameterSet, dt: Quantity
) -> Stimulus:
    """Make the stimulus the command-line options describe."""
    given = {
        name
        for options in PROTOCOL_OPTIONS.values()
        for name in options
        if getattr(args, name) is not None and getattr(args, name) is not False
    }
    unused = given - PROTOCOL_OPTIONS[args.protocol]
    if unused:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in sorted(unused))
        raise StimulusError(f"--protocol {args.protocol} does not use {flags}")
    timing = {
        name: _quantity(getattr(args, name), second, name)
        for name in ("onset", "width", "duration")
        if getattr(args, name) is not None
    }
    if args.protocol in ("long_square", "short_square"):
        rheobase = model.rheobase(params, dt) if args.relative_to_rheobase else None
        maker = long_square if args.protocol == "long_square" else short_square
        amplitudes = _amplitudes(DEFAULT_AMPLITUDES if args.amplitudes is None else args.amplitudes)
        return maker(amplitudes, dt=dt, rheobase=rheobase, **timing)
    if args.protocol == "ramp":
        slope = {} if args.slope is None else {"slope": args.slope}
        return ramp(**slope, dt=dt, **timing)
    if args.protocol == "noise":
        return noise(
            NOISE_DEFAULTS["mean"] if args.mean is None else args.mean,
            NOISE_DEFAULTS["std"] if args.std is None else args.std,
            seed=NOISE_DEFAULTS["seed"] if args.seed is None else args.seed,
            dt=dt,
            tau=_quantity(args.tau, second, "tau"),
            **{"duration": NOISE_DEFAULTS["duration"], **timing},
        )
    if args.current_file is None:
        raise StimulusError("--protocol array needs --current-file")
    unit = "pA" if args.current_unit is None else args.current_unit
    return from_array(_current_file(args.current_file, unit), dt=dt)


def summarize(result: SimulationResult, stimulus: Stimulus) -> pd.DataFrame:
    """Per-neuron spike counts and rates in the stimulus window (or the whole run)."""
    window = stimulus.window()
    start, stop = window if window else (0 * second, result.duration_s * second)
    counts = result.spike_counts(start, stop)
    amplitude = stimulus.amplitudes_si(result.n_neurons) / float(pA)
    return pd.DataFrame(
        {
            "neuron": np.arange(result.n_neurons),
            "amplitude_pA": amplitude if stimulus.protocol.endswith("square") else np.nan,
            "spike_count": counts,
            "rate_Hz": counts / float((stop - start) / second),
        }
    )


def _run_record(args: argparse.Namespace, model: NeuronModel, stimulus: Stimulus) -> dict:
    """What was run, for the record: model and options, protocol, backend and versions."""
    import brian2

    import ahp_models

    info = {key: str(value) for key, value in stimulus.info.items() if value is not None}
    if stimulus.protocol.endswith("square"):
        info["amplitudes_pA"] = (stimulus.amplitudes_si(stimulus.n_neurons or 1) / 1e-12).tolist()
    return {
        "model": model.name,
        "options": model.options,
        "protocol": stimulus.protocol,
        "stimulus": info,
        "dt": args.dt,
        "backend": args.backend,
        "codegen_target": args.codegen_target,
        "brian2_version": brian2.__version__,
        "ahp_toolkit_version": ahp_models.__version__,
    }


def run(args: argparse.Namespace) -> dict[str, Path]:
    """Run ``ahp simulate`` with parsed arguments; return the files written."""
    model = _model(args)
    params = _params(model, args)
    dt = _quantity(args.dt, second, "dt")
    stimulus = build_stimulus(args, model, params, dt)
    record = [name.strip() for name in args.record.split(",") if name.strip()]
    if len(set(record)) < len(record) or (args.record.strip() and not record):
        raise StimulusError(
            f"--record {args.record!r}; allowed: distinct variable names, comma separated "
            "(`ahp models` lists them)"
        )
    if args.nwb:
        check_nwb_output(model, record)  # before the simulation runs
    result = simulate(
        model,
        params,
        stimulus,
        backend=args.backend,
        dt=dt,
        record=record,
        record_dt=_quantity(args.record_dt, second, "record-dt"),
        codegen_target=args.codegen_target,
    )
    out: Path = args.out
    written = result.save(out, csv_traces=not args.no_csv_traces)
    written["parameters"] = out / "parameters.json"
    params.to_json(written["parameters"])
    written["run"] = out / "run.json"
    atomic_write_text(written["run"], json.dumps(_run_record(args, model, stimulus), indent=2))
    if args.nwb:
        written["nwb"] = write_nwb(out / "simulation.nwb", result, stimulus, params)
    summary = summarize(result, stimulus)
    written["summary"] = out / "summary.csv"
    atomic_write_text(written["summary"], summary.to_csv(index=False))
    if not args.no_figure and record:
        from analysis.figures import plot_simulation, save_figure

        labels = (
            [f"{a:g} pA" for a in summary.amplitude_pA]
            if stimulus.protocol.endswith("square")
            else None
        )
        figure = plot_simulation(
            result, labels=labels, title=f"{model.title}: {stimulus.protocol} ({args.backend})"
        )
        written["figure"] = save_figure(figure, out / "figure", formats=("png",))[0]
    # an earlier run's figure or trace files that this run did not write again
    remove_stale_outputs(out, "simulate", [path.name for path in written.values()])
    print(summary.to_string(index=False))
    for kind, path in written.items():
        print(f"{kind:>11}: {path}")
    return written


def describe_models() -> str:
    """Return the catalogue: each model's title and recordable variables, for ``ahp models``."""
    lines = []
    for name, cls in MODELS.items():
        lines.append(f"{name}: {cls.title}")
        for variable in cls().recordable().values():
            unit = "" if variable.unit_name == "1" else f" ({variable.unit_name})"
            lines.append(f"    {variable.name}{unit}: {variable.description}")
    return "\n".join(lines)
