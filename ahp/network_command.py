"""`ahp network`: trained spiking networks on Loihi 1, bit-accurately and in float.

``ahp network run NETWORK`` classifies samples (the built-in ``rao2022-smnist``: the MNIST test
set) with the network's registers in the fixed-point simulator and/or its float neurons in
Brian2 and writes, under ``--out``: ``summary.csv`` (accuracy, spikes, energy and latency per
inference), ``predictions.csv``, ``confusion_<run>.csv``, ``disagreements.csv`` and
``disagreements_by_class.csv`` (both runs), ``counters.csv`` (the fixed-point run's operation
counters per step, averaged over samples), ``sample.png`` (one sample's input, network spikes and
readout voltages) and ``network.json`` (the hardware parameter file). Finished chunks of 1000
samples are kept in ``checkpoints/``: a stopped run, started again, goes on where it stopped.
``ahp network export NETWORK --out FILE`` writes only the parameter file.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ahp.arguments import path_argument
from ahp_models.files import atomic_write_text
from ahp_models.output_folders import check_output_file
from ahp_models.progress import log_progress
from analysis.figures import save_figure
from hardware_mapping.energy import ENERGY_TABLES
from hardware_mapping.parameter_files import read_network_file, write_network_file
from hardware_mapping.trained import (
    BUILTIN_DESCRIPTIONS,
    DescriptionError,
    NetworkDescription,
    builtin_description,
    confusion_matrix,
    map_description,
    read_description,
    run_fixed_point,
)
from hardware_mapping.trained.checkpoints import run_checkpointed, run_fingerprint
from hardware_mapping.trained.data import load_mnist_test, paper_test_indices
from hardware_mapping.trained.evaluation import CHIP_MEASUREMENTS, disagreements, summary_table
from hardware_mapping.trained.figures import plot_sample
from hardware_mapping.trained.float_run import run_float

__all__ = ["add_arguments", "export", "load_network", "run"]

_log = logging.getLogger(__name__)

ARITHMETICS = ("fixed", "float", "both")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``ahp network run`` and ``ahp network export``."""
    commands = parser.add_subparsers(dest="network_command", required=True)
    run_parser = commands.add_parser(
        "run",
        help="classify samples bit-accurately and/or in float; accuracy, spikes, energy",
        description="Run a trained network (a built-in name or a description TOML) on samples: "
        "the chip's integer arithmetic in the fixed-point simulator and/or real-valued decays "
        "in Brian2. Writes predictions, confusion matrices, a summary beside the chip's "
        "measurement, a figure of one sample and the hardware parameter file.",
    )
    _network_argument(run_parser)
    run_parser.add_argument(
        "--images",
        default="200",
        help="'all' (the whole test set, in order) or N: N samples drawn as the paper drew its "
        "200 (numpy's legacy RandomState(seed).choice(total, N, replace=False)); default 200",
    )
    run_parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    run_parser.add_argument("--arithmetic", choices=ARITHMETICS, default="fixed")
    run_parser.add_argument("--out", type=path_argument, default=Path("network_run"))
    run_parser.add_argument("--workers", type=int, default=2, help="fixed-point threads")
    run_parser.add_argument("--batch", type=int, default=200, help="float samples per batch")
    run_parser.add_argument(
        "--chunk", type=int, default=1000, help="samples per checkpoint (default 1000)"
    )
    run_parser.add_argument(
        "--samples",
        type=path_argument,
        help="a .npy of samples (one per row) for a network of your own; with --labels",
    )
    run_parser.add_argument("--labels", type=path_argument, help="a .npy of the samples' classes")
    run_parser.add_argument(
        "--parameters",
        type=path_argument,
        help="run the registers of this network parameter file (written by `ahp network "
        "export`) instead of the description's",
    )
    run_parser.add_argument("--energy-table", choices=sorted(ENERGY_TABLES), default="davies2018")
    run_parser.add_argument(
        "--record-sample", type=int, default=0, help="position of the sample in the figure"
    )
    run_parser.set_defaults(output_folder="out", handler=run)
    export_parser = commands.add_parser(
        "export",
        help="write a trained network's hardware parameter file",
        description="Write the network's registers, synapses and inputs as a Loihi 1 "
        "parameter file (JSON, checked against the v1 schema).",
    )
    _network_argument(export_parser)
    export_parser.add_argument("--out", type=path_argument, required=True, help="the file to write")
    export_parser.add_argument(
        "--nir",
        type=path_argument,
        help="also write the network's float view as a NIR graph (.nir; needs the nir extra)",
    )
    export_parser.set_defaults(handler=export)


def _network_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "network",
        help=f"a built-in network ({', '.join(BUILTIN_DESCRIPTIONS)}) or a description TOML",
    )
    parser.add_argument("--data-folder", type=path_argument, help="where a TOML's weight files lie")
    parser.add_argument("--cache", type=path_argument, help="download cache of weights and MNIST")
    parser.add_argument("--offline", action="store_true", help="never download")


def load_network(args: argparse.Namespace) -> NetworkDescription:
    """The description a command names: built in, or a TOML file."""
    if args.network in BUILTIN_DESCRIPTIONS:
        return builtin_description(args.network, cache=args.cache, offline=args.offline)
    path = Path(args.network)
    if path.suffix != ".toml" or not path.is_file():
        raise DescriptionError(
            f"network = {args.network!r}; allowed: {', '.join(BUILTIN_DESCRIPTIONS)} or an "
            "existing .toml description"
        )
    return read_description(path, data_folder=args.data_folder)


def export(args: argparse.Namespace) -> Path:
    """Write the network's parameter file; return its path."""
    check_output_file(args.out)  # before the network is loaded and mapped
    if args.nir is not None:
        from hardware_mapping.nir_export import check_nir_installed

        check_output_file(args.nir, "--nir")
        if Path(args.nir).resolve() == Path(args.out).resolve():
            raise DescriptionError(
                f"--nir {args.nir}: the file --out writes; allowed: another file"
            )
        check_nir_installed()
    mapped = map_description(load_network(args))
    written = write_network_file(args.out, mapped)
    print(f"wrote {written}")
    if args.nir is not None:
        from hardware_mapping.nir_export import write_nir_file

        exported = write_nir_file(args.nir, mapped)
        print(f"wrote {args.nir}")
        for note in exported.unsupported:
            print(f"  not in NIR: {note}")
    return written


def run(args: argparse.Namespace) -> dict[str, Path]:
    """Run ``ahp network run``; return the written files by name."""
    for option, value, highest in (("--workers", args.workers, 1024), ("--batch", args.batch,
                                   100_000), ("--chunk", args.chunk, 1_000_000)):  # fmt: skip
        if not 1 <= value <= highest:
            raise DescriptionError(f"{option} {value}: allowed: 1 to {highest}")
    if not 0 <= args.seed < 2**32:
        raise DescriptionError(f"--seed {args.seed}: allowed: 0 <= seed < 2**32")
    description = load_network(args)
    values, labels, indices = _samples(args, description)
    mapped = map_description(description)
    if args.parameters is not None:
        mapped = read_network_file(args.parameters)
        _check_same_layout(args.parameters, mapped, description)
    out = args.out
    written = {"network.json": write_network_file(out / "network.json", mapped)}
    if not 0 <= args.record_sample < len(values):
        raise DescriptionError(
            f"--record-sample {args.record_sample}: allowed: 0..{len(values) - 1} (a position "
            "among the samples run)"
        )
    record = args.record_sample
    runners = {
        "fixed": lambda chosen, **options: run_fixed_point(
            description, chosen, mapped=mapped, workers=args.workers, **options
        ),
        "float": lambda chosen, **options: run_float(
            description, chosen, batch=args.batch, **options
        ),
    }
    chosen_runs = ("fixed", "float") if args.arithmetic == "both" else (args.arithmetic,)
    extra = _file_digest(args.parameters) if args.parameters is not None else ""
    runs = {}
    for name in chosen_runs:
        # finished chunks are kept under OUT/checkpoints: a stopped run resumes there
        runs[name] = run_checkpointed(
            runners[name],
            values,
            out / "checkpoints" / name,
            run_fingerprint(description, values, name) + extra,
            chunk=args.chunk,
            progress=_progress("fixed point" if name == "fixed" else "float (Brian2)"),
        )
        if record is not None:
            recorded = runners[name](values[record : record + 1], record_sample=0)
            runs[name].sample = recorded.sample
    summary = summary_table(runs, labels, energy_table=args.energy_table)
    written["summary.csv"] = out / "summary.csv"
    atomic_write_text(written["summary.csv"], summary.to_csv(index=False))
    predictions = pd.DataFrame({"sample": indices, "label": labels})
    n_classes = description.populations[description.readout_population].size
    for name, result in runs.items():
        table = result.table(labels, indices).drop(columns=["sample", "label"])
        predictions = predictions.join(table.add_suffix(f"_{name}"))
        path = out / f"confusion_{name}.csv"
        atomic_write_text(path, confusion_matrix(labels, result.predictions, n_classes).to_csv())
        written[path.name] = path
    written["predictions.csv"] = out / "predictions.csv"
    atomic_write_text(written["predictions.csv"], predictions.to_csv(index=False))
    if "fixed" in runs:
        written["counters.csv"] = out / "counters.csv"
        atomic_write_text(written["counters.csv"], runs["fixed"].mean_counters.to_csv(index=False))
    if len(runs) == 2:
        samples, classes = disagreements(runs["fixed"], runs["float"], labels, indices)
        for name, table in (("disagreements", samples), ("disagreements_by_class", classes)):
            written[f"{name}.csv"] = out / f"{name}.csv"
            atomic_write_text(written[f"{name}.csv"], table.to_csv(index=False))
    shown = runs.get("fixed") or runs["float"]
    if shown.sample is not None:
        figure = plot_sample(
            description,
            shown.sample,
            label=int(labels[record]),
            title=f"{description.name}, sample {int(indices[record])} ({shown.arithmetic})",
        )
        written["sample.png"] = save_figure(figure, out / "sample")[0]
    print(_report(description.name, summary, runs, labels))
    for name, path in written.items():
        print(f"wrote {name}: {path}")
    return written


def _samples(
    args: argparse.Namespace, description: NetworkDescription
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if args.samples is not None:
        if args.labels is None:
            raise DescriptionError("--samples needs --labels (a .npy of the samples' classes)")
        values = description.encoder.check_samples(
            _array(args.samples, "--samples"), f"--samples {args.samples}"
        )
        labels = _array(args.labels, "--labels")
        classes = description.populations[description.readout_population].size
        if labels.ndim != 1 or labels.size != values.shape[0]:
            raise DescriptionError(
                f"--labels {args.labels}: shape {labels.shape}; allowed: one class per sample "
                f"({values.shape[0]})"
            )
        outside = labels.size > 0 and (labels.min() < 0 or labels.max() >= classes)
        if not np.issubdtype(labels.dtype, np.integer) or outside:
            raise DescriptionError(
                f"--labels {args.labels}: dtype {labels.dtype}, values "
                f"{labels.min(initial=0)}..{labels.max(initial=0)}; allowed: integer classes "
                f"0..{classes - 1} (the readout population {description.readout_population!r})"
            )
    elif description.name.startswith("rao2022-smnist"):
        values, labels = load_mnist_test(cache=args.cache, offline=args.offline)
    else:
        raise DescriptionError(
            f"{description.name}: no built-in samples; give --samples and --labels"
        )
    total = values.shape[0]
    if args.images == "all":
        indices = np.arange(total)
    else:
        try:
            count = int(args.images)
        except ValueError:
            count = -1
        if not 1 <= count <= total:
            raise DescriptionError(f"--images {args.images!r}; allowed: 'all' or 1..{total}")
        indices = paper_test_indices(count, args.seed, total)
    return values[indices], np.asarray(labels)[indices].astype(np.int64), indices


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise DescriptionError(f"--parameters {path}: cannot read ({error})") from None


def _array(path: Path, option: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)  # never unpickle: no code from files
    except (OSError, ValueError, EOFError):  # numpy's own text would suggest unpickling
        raise DescriptionError(
            f"{option} {path}: not a numpy .npy array of numbers (empty, truncated, pickled "
            "or another format); allowed: a file written by numpy.save"
        ) from None
    if not isinstance(array, np.ndarray):
        raise DescriptionError(f"{option} {path}: an .npz archive; allowed: one .npy array")
    return array


def _check_same_layout(path: Path, mapped, description: NetworkDescription) -> None:
    sizes = {name: len(members) for name, members in mapped.mappings.items()}
    wanted = {name: p.size for name, p in description.populations.items()}
    if sizes != wanted or mapped.inputs != description.inputs:
        raise DescriptionError(
            f"--parameters {path}: populations {sizes} and inputs {mapped.inputs}; the "
            f"description has {wanted} and {description.inputs}"
        )


def _progress(what: str):
    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - started, 1e-9)
        log_progress(
            _log, what, done, total, "samples", f"{what}: {done}/{total} samples, {rate:.0f}/s"
        )

    return report


def _report(name: str, summary: pd.DataFrame, runs, labels) -> str:
    lines = [f"{name}: {len(labels)} samples"]
    for row in summary.to_dict(orient="records"):
        text = (
            f"  {row['run']:>5}: accuracy {100 * row['accuracy']:.2f} % ({row['correct']}/"
            f"{row['samples']}), {row['spikes_per_inference']:.0f} spikes per inference"
        )
        if "energy_mJ" in row and pd.notna(row.get("energy_mJ")):
            text += (
                f", energy {row['energy_mJ']:.4f} mJ (dynamic {row['dynamic_mJ']:.4f}, static "
                f"{row['static_mJ']:.4f}), latency {row['latency_ms']:.2f} ms per inference"
            )
        lines.append(text)
    chip = CHIP_MEASUREMENTS.get(name) or CHIP_MEASUREMENTS.get(f"{name}-relay")
    if chip:
        lines.append(
            f"  chip (Loihi 1, {chip['samples']:.0f} test images, relay input): accuracy "
            f"{100 * chip['accuracy']:.2f} %, {chip['energy_mJ']} mJ and {chip['latency_ms']} "
            f"ms per inference ({chip['power_total_mW']} mW: {chip['power_x86_mW']} mW the "
            f"embedded x86 cores, {chip['power_static_mW']} mW static)"
        )
        lines.append(
            "  the estimate counts the neuro-core's synaptic operations, compartment updates "
            "and spikes only: not the x86 cores that encode the input and read the output, "
            "nor spike routing and step synchronization"
        )
    if len(runs) == 2:
        differ = int((runs["fixed"].predictions != runs["float"].predictions).sum())
        lines.append(f"  fixed and float disagree on {differ} samples")
    return "\n".join(lines)
