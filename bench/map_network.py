"""A recurrent network of fitted neurons: float (Brian2) vs mapped registers (fixed point).

Takes N fitted `lif_ahp` cells of a results table, drives each with a constant current
(rheobase + an offset), connects them with random sparse synapses (each neuron K random
sources, weights normal around zero in mV, delays 1..5 steps), maps the network to Loihi
registers and runs both for T seconds at 1 ms steps. Prints the resource summary and compares
spike statistics: mean rate, mean ISI CV, per-neuron rate correlation.

Usage: python bench/map_network.py RESULTS.csv [--neurons 1000] [--fan-in 20] [--seconds 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from brian2 import ms, mV, pA, second

from ahp_models import RecurrentSynapses, long_square, model_for_params, simulate
from ahp_models.hardware_form import refractory_steps
from fitting.evaluation import fitted_parameters
from hardware_mapping.loihi import Simulator
from hardware_mapping.network_mapping import map_recurrent_population


def statistics(neuron: np.ndarray, time_s: np.ndarray, n: int, seconds: float) -> dict:
    """Mean rate (Hz), mean ISI CV over neurons with >= 3 spikes, and per-neuron rates."""
    rates = np.bincount(neuron, minlength=n) / seconds
    cvs = []
    for i in range(n):
        isi = np.diff(np.sort(time_s[neuron == i]))
        if isi.size >= 2:
            cvs.append(isi.std() / isi.mean())
    return {"rate_Hz": rates.mean(), "cv": float(np.mean(cvs)), "rates": rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--fan-in", type=int, default=20)
    parser.add_argument(
        "--weight", type=float, default=0.05, help="std of the weights, in target thresholds"
    )
    parser.add_argument("--offset-pA", type=float, default=40.0, help="input above rheobase")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    table = pd.read_csv(args.results)
    table = table[(table["status"] == "fitted") & (table["model"] == "lif_ahp")]
    table = table.sample(args.neurons, random_state=args.seed)
    neurons = [fitted_parameters(row.to_dict()) for _, row in table.iterrows()]
    # t_ref in the whole 1 ms steps the mapping holds (`refractory_steps`), for both networks
    neurons = [p.replace(t_ref=refractory_steps(float(p.t_ref / ms), 1.0) * ms) for p in neurons]
    rheobase = np.array([float(model_for_params(p).rheobase(p) / pA) for p in neurons])
    currents = (rheobase + args.offset_pA) * pA
    gap_mV = np.array([float((p.V_th - p.V_reset) / mV) for p in neurons])
    n = len(neurons)
    post = np.repeat(np.arange(n), args.fan_in)
    pre = rng.integers(0, n - 1, post.size)
    pre = np.where(pre >= post, pre + 1, pre)  # no self-synapses
    synapses = RecurrentSynapses(
        pre=pre,
        post=post,
        weight=rng.normal(0.0, args.weight, post.size) * gap_mV[post] * mV,
        delay=rng.integers(1, 6, post.size) * ms,
    )
    start = time.perf_counter()
    mapped = map_recurrent_population(neurons, currents, synapses)
    mapping_s = time.perf_counter() - start
    print(mapped.resources.table().to_string(index=False))
    errors = mapped.weights["relative_error"].abs()
    print(f"weights: median |relative error| {errors.median():.2e}, "
          f"99th percentile {errors.quantile(0.99):.2e}")  # fmt: skip
    steps = round(args.seconds * 1000)
    simulator = Simulator(mapped.network, record={"population": slice(None)})
    simulator.set_state("population", v=mapped.initial_v("population"))
    start = time.perf_counter()
    run = simulator.run(steps)
    fixed_s = time.perf_counter() - start
    step, neuron = np.nonzero(run.spikes["population"])
    ours = statistics(neuron, step * 1e-3, n, args.seconds)
    params = type(neurons[0]).concatenate(neurons)
    stimulus = long_square(currents, onset=0 * second, width=args.seconds * second,
                           duration=args.seconds * second, dt=1 * ms)  # fmt: skip
    start = time.perf_counter()
    result = simulate(model_for_params(params), params, stimulus, synapses=synapses)
    float_s = time.perf_counter() - start
    theirs = statistics(result.spike_neuron, result.spike_time_s, n, args.seconds)
    print(
        f"mapping {mapping_s:.1f} s, fixed point {fixed_s:.2f} s, float (runtime) {float_s:.1f} s"
    )
    counters = run.counters
    print(f"overflows {counters['overflows'].sum()}, saturations {counters['saturations'].sum()}")
    for key in ("rate_Hz", "cv"):
        print(f"{key}: float {theirs[key]:.4f}, registers {ours[key]:.4f}, "
              f"relative difference {ours[key] / theirs[key] - 1:+.2%}")  # fmt: skip
    corr = np.corrcoef(ours["rates"], theirs["rates"])[0, 1]
    difference = np.median(np.abs(ours["rates"] - theirs["rates"]))
    print(f"per-neuron rate correlation {corr:.4f}; median |rate difference| {difference:.2f} Hz")


if __name__ == "__main__":
    main()
