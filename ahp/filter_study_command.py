"""`ahp filter-study CONFIG`: AHP neurons as fading-memory filters, measured."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ahp.arguments import path_argument
from ahp_models.files import atomic_write_text
from ahp_models.output_folders import claim_output_folder
from analysis.figures import save_figure
from analysis.filters.characterization import characterize_neuron
from analysis.filters.config import read_config
from analysis.filters.figures import (
    plot_bode,
    plot_kernel,
    plot_memory_curves,
    plot_recall,
    plot_step,
    plot_task_scores,
)
from analysis.filters.study import claim_output, memory_summary, run_study
from analysis.filters.summary import study_summary

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp filter-study``."""
    parser.add_argument(
        "config",
        help="study config (.toml or .json), or a built-in study: reference, demo",
    )
    parser.add_argument(
        "--out", type=path_argument, default=None, help="output folder (default: NAME)"
    )
    parser.add_argument(
        "--backend",
        choices=("cpp_standalone", "cuda_standalone", "runtime"),
        help="override the config's Brian2 backend (default in the built-in studies: auto, "
        "CUDA where an NVIDIA GPU is visible, else C++ standalone)",
    )


def run(args: argparse.Namespace) -> dict[str, Path]:
    """Run ``ahp filter-study``; return the files written."""
    config = read_config(args.config)  # every check before any simulation
    if args.backend:
        config = replace(config, backend=args.backend)
    out: Path = args.out or Path(config.name)
    option = "--out" if args.out else f"the study name {config.name!r} (its default --out)"
    with claim_output_folder(out, option):
        return _run_claimed(args, config, out)


def _run_claimed(args: argparse.Namespace, config, out: Path) -> dict[str, Path]:
    claim_output(config, out)  # another config's results there are refused before any work
    written: dict[str, Path] = {}
    neuron = None
    if config.neuron is not None:
        print("filter-study: characterizing one neuron (sinusoids, white noise)", flush=True)
        measured = characterize_neuron(
            config.neuron, seed=config.seeds[0], dt=config.dt_s, backend=config.backend
        )
        neuron = measured.summary
        written["neuron response"] = out / "neuron_response.csv"
        atomic_write_text(written["neuron response"], measured.response.to_csv(index=False))
        written["kernel"] = out / "neuron_kernel.csv"
        atomic_write_text(written["kernel"], measured.kernels.table().to_csv(index=False))
        if measured.kernels.second is not None:
            lags_ms = measured.kernels.lags_s[: measured.kernels.second.shape[0]] * 1e3
            second = pd.DataFrame(measured.kernels.second, index=lags_ms, columns=lags_ms)
            second.index.name = "lag_ms"
            written["kernel2"] = out / "neuron_kernel2.csv"
            atomic_write_text(written["kernel2"], second.to_csv())
        written["step"] = out / "neuron_step.csv"
        atomic_write_text(written["step"], measured.step.to_csv(index=False))
        for name, figure in (("bode", plot_bode(measured.response)),
                             ("kernel", plot_kernel(measured.kernels)),
                             ("step", plot_step(measured.step, neuron))):  # fmt: skip
            for path in save_figure(figure, out / f"neuron_{name}"):
                written[f"figure {name}"] = path
    start = time.perf_counter()
    results = run_study(config, out)  # progress through logging (`ahp` shows it)
    seconds = time.perf_counter() - start
    written["results"] = out / "results.csv"
    atomic_write_text(written["results"], results.to_csv(index=False))
    if (results["task"] == "memory").any():
        written["memory"] = out / "memory_summary.csv"
        atomic_write_text(written["memory"], memory_summary(results).to_csv(index=False))
        for path in save_figure(plot_memory_curves(results), out / "memory_curves"):
            written["figure memory"] = path
    if results["task"].isin(["integrator", "volterra", "custom"]).any():
        for path in save_figure(plot_task_scores(results), out / "task_scores"):
            written["figure tasks"] = path
    if (results["task"] == "recall").any():
        for path in save_figure(plot_recall(results), out / "recall"):
            written["figure recall"] = path
    summary = study_summary(config, results, neuron=neuron, seconds=seconds)
    written["summary"] = out / "summary.md"
    atomic_write_text(written["summary"], summary + "\n")
    print(summary)
    print(f"filter-study: wrote {out}")
    return written
