"""`ahp simulate`: run a catalogue model on a protocol and write spikes, traces and a figure."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Quantity, pA, second

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
from ahp_models.parameters import read_json_object
from ahp_models.quantities import lookup_unit, parse_quantity

__all__ = ["add_arguments", "run"]

PROTOCOLS = ("long_square", "short_square", "ramp", "noise", "array")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp simulate``."""
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="lif_ahp", choices=sorted(MODELS), help="catalogue model")
    model.add_argument("--n-currents", type=int, help="number of AHP / after-spike currents")
    model.add_argument("--scheme", choices=("allen", "exact"), help="glif3 integration scheme")
    model.add_argument("--params", type=Path, help="parameter JSON file (ParameterSet.to_json)")
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
        default="150,200,250",
        help="step amplitudes in pA, comma separated, one sweep each (negative first value: "
        "--amplitudes=-20,0,20)",
    )
    stim.add_argument(
        "--relative-to-rheobase",
        action="store_true",
        help="amplitudes are offsets from the model's analytic rheobase",
    )
    stim.add_argument("--onset", help="stimulus onset (default: Allen's 1.02 s)")
    stim.add_argument("--width", help="step width (default: 1 s long, 3 ms short square)")
    stim.add_argument("--duration", help="sweep length")
    stim.add_argument("--slope", default="25 pA/s", help="ramp slope")
    stim.add_argument("--mean", default="100 pA", help="noise mean")
    stim.add_argument("--std", default="50 pA", help="noise standard deviation")
    stim.add_argument("--tau", help="noise correlation time (white noise if absent)")
    stim.add_argument("--seed", type=int, default=0, help="noise seed")
    stim.add_argument(
        "--current-file",
        type=Path,
        help="protocol 'array': .npy or .csv with one column per neuron of current samples",
    )
    stim.add_argument("--current-unit", default="pA", help="unit of --current-file values")
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
    run_group.add_argument("--out", type=Path, default=Path("simulation_output"))
    run_group.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
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
        data = read_json_object(args.params)
        params = model.params_class.from_dict(data, source=str(args.params))
    else:
        params = model.default_params()
    overrides = {}
    for item in args.overrides:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r}: expected NAME=VALUE, e.g. tau_ahp='300 ms'")
        value = value.strip()
        if value.startswith("["):
            value = json.loads(value) if value.endswith("]") else value
        overrides[name.strip()] = value
    if not overrides:
        return params
    merged = params.to_dict()
    merged["parameters"].update(overrides)
    return model.params_class.from_dict(merged, source="--set")


def _quantity(text: str | None, unit: Quantity, name: str, default: Any = None) -> Any:
    if text is None:
        return default
    return parse_quantity(text, unit, field=f"--{name}")


def _amplitudes(text: str) -> Quantity:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise StimulusError(
            f"--amplitudes {text!r}: expected numbers in pA separated by commas, e.g. 100,150"
        ) from None
    if not values:
        raise StimulusError("--amplitudes is empty: give at least one amplitude in pA")
    return np.asarray(values) * pA


def _current_file(path: Path, unit_name: str) -> np.ndarray:
    if not path.is_file():
        raise StimulusError(f"--current-file {path}: no such file")
    if path.suffix == ".npy":
        values = np.load(path, allow_pickle=False)  # never unpickle: no code from files
    else:
        try:
            values = np.loadtxt(path, delimiter=",", ndmin=1)
        except ValueError as err:
            raise StimulusError(f"--current-file {path}: not a numeric CSV ({err})") from None
    return np.asarray(values, dtype=float) * lookup_unit(unit_name)


def build_stimulus(args: argparse.Namespace, model: NeuronModel, params: ParameterSet) -> Stimulus:
    """Make the stimulus the command-line options describe."""
    dt = _quantity(args.dt, second, "dt")
    onset = _quantity(args.onset, second, "onset")
    width = _quantity(args.width, second, "width")
    duration = _quantity(args.duration, second, "duration")
    timing = {k: v for k, v in {"onset": onset, "width": width}.items() if v is not None}
    if args.protocol in ("long_square", "short_square"):
        rheobase = model.rheobase(params, dt) if args.relative_to_rheobase else None
        maker = long_square if args.protocol == "long_square" else short_square
        return maker(
            _amplitudes(args.amplitudes), **timing, duration=duration, dt=dt, rheobase=rheobase
        )
    if args.protocol == "ramp":
        return ramp(
            args.slope,
            onset=onset if onset is not None else 1.02 * second,
            duration=duration if duration is not None else 10 * second,
            dt=dt,
        )
    if args.protocol == "noise":
        return noise(
            args.mean,
            args.std,
            seed=args.seed,
            duration=duration if duration is not None else 3 * second,
            dt=dt,
            tau=_quantity(args.tau, second, "tau"),
            **timing,
        )
    if args.current_file is None:
        raise StimulusError("--protocol array needs --current-file")
    return from_array(_current_file(args.current_file, args.current_unit), dt=dt)


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
    return {
        "model": model.name,
        "options": model.options,
        "protocol": stimulus.protocol,
        "stimulus": info,
        "amplitudes_pA": (stimulus.amplitudes_si(stimulus.n_neurons or 1) / float(pA)).tolist(),
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
    stimulus = build_stimulus(args, model, params)
    record = [name.strip() for name in args.record.split(",") if name.strip()]
    result = simulate(
        model,
        params,
        stimulus,
        backend=args.backend,
        dt=_quantity(args.dt, second, "dt"),
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
    print(summary.to_string(index=False))
    for kind, path in written.items():
        print(f"{kind:>11}: {path}")
    return written


def describe_defaults(names: Sequence[str] = tuple(MODELS)) -> str:
    """Return the catalogue with each model's title, for ``ahp models``."""
    return "\n".join(f"{name:15s} {MODELS[name].title}" for name in names)
