"""The reference filter study, timed, against the bare simulation of the same neurons.

Runs the built-in ``reference`` study (500 lif_ahp neurons, tau_ahp from the Allen fits, LIF and
ALIF controls, 5 seeds of 300 s; `analysis/filters/studies/reference.toml`) from scratch and
reports its wall time and neuron-steps per second. The reference run, in the same process: the
study's largest simulation alone (its 1000 AHP and LIF neurons on one 300 s signal, C++
standalone, compiled beforehand), whose neuron-steps per second bound what the study could
reach; the ratio says how much of the study's time goes to anything but simulating
(compiles, rate calibration's extra runs, readouts).

Usage: python bench/filter_study.py [--out DIR] [--seeds N]
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from brian2 import pA, second

from ahp_models import LifAhpParams, Stimulus, compile_simulator
from analysis.filters.config import read_config
from analysis.filters.population import draw_population, variant_parameters
from analysis.filters.study import memory_summary, run_study
from analysis.filters.summary import simulated_neuron_steps
from analysis.filters.tasks import held_signal


def bare_simulation(config) -> float:
    """Neuron-steps per second of the study's largest run on its own (compiled first)."""
    drawn = draw_population(config.population, seed=0)
    params = LifAhpParams.concatenate([variant_parameters(drawn.params, v) for v in ("ahp", "lif")])
    n = 2 * config.population.size
    stimulus = Stimulus(held_signal(config.samples, 0), config.hold_s * second, np.ones(n) * pA)
    compiled = compile_simulator("lif_ahp", n_neurons=n, stimulus=stimulus,
                                 dt=config.dt_s * second, backend=config.backend)  # fmt: skip
    start = time.perf_counter()
    compiled.run(params.replace(E_L=params.E_L + 150 * pA * params.R), stimulus)
    seconds = time.perf_counter() - start
    return n * round(config.duration_s / config.dt_s) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(".cache/filter_reference"))
    parser.add_argument("--seeds", type=int, default=None, help="first N seeds only")
    args = parser.parse_args()
    config = read_config("reference")
    if args.seeds:
        config = replace(config, seeds=config.seeds[: args.seeds])
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.perf_counter()
    results = run_study(config, args.out, progress=None)
    study_s = time.perf_counter() - start
    steps = simulated_neuron_steps(config)
    bare = bare_simulation(config)
    print(f"reference study: {len(config.seeds)} seeds in {study_s:.0f} s, {steps:.3g} "
          f"neuron-steps simulated, {steps / study_s:.3g} neuron-steps/s")  # fmt: skip
    print(f"bare simulation (same process): {bare:.3g} neuron-steps/s; the study runs at "
          f"{steps / study_s / bare:.0%} of it")  # fmt: skip
    summary = memory_summary(results).groupby("variant")["delay_below_threshold_s"]
    for variant, values in summary:
        print(f"{variant}: R^2 < 0.5 beyond {values.mean():.3f} +- {values.std():.3f} s")


if __name__ == "__main__":
    main()
