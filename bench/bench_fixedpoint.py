"""Fixed-point Loihi simulator speed against nengo-loihi's emulator, in the same process.

Two networks, both run by `hardware_mapping.loihi.Simulator` and by nengo-loihi 1.1's
``EmulatorInterface`` (numpy), which the chip validated:

- ``1e5 compartments``: heterogeneous bias-driven compartments, no synapses;
- ``1e4 network``: 1e4 compartments with 100 random mixed-sign synapses each (1e6 synapses),
  bias-driven, firing at tens of Hz.

Speed is compartment-steps per second of the step loop; the ratio to nengo-loihi, measured in
the same run, is the number to compare with the goal (>= 20x), since these machines are noisy.
Both simulators must produce identical spike trains over the steps nengo-loihi runs (checked).

Usage: python bench/bench_fixedpoint.py [--repeats K] [--reference-steps S] [--steps S]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np

from hardware_mapping.loihi import CompartmentGroup, Network, Simulator, SynapseGroup
from hardware_mapping.loihi.nengo_reference import build_emulator


def compartments(name: str, n: int, rng: np.random.Generator) -> CompartmentGroup:
    """Heterogeneous compartments: current tau ~5 steps, voltage tau 10-40 steps, mixed bias."""
    return CompartmentGroup(
        name,
        n,
        decay_u=rng.integers(600, 1000, n),
        decay_v=rng.integers(100, 400, n),
        vth_mant=rng.integers(100, 200, n),
        bias_mant=rng.integers(200, 700, n),
        bias_exp=0,
        refract_delay=rng.integers(1, 4, n),
    )


def unconnected(n: int, seed: int) -> Network:
    """``n`` compartments without synapses."""
    network = Network()
    network.add(compartments("cells", n, np.random.default_rng(seed)))
    return network


def recurrent(n: int, fan_out: int, seed: int) -> Network:
    """``n`` compartments, each with ``fan_out`` random mixed-sign synapses."""
    rng = np.random.default_rng(seed)
    network = Network()
    cells = compartments("cells", n, rng)
    pre = np.repeat(np.arange(n), fan_out)
    post = rng.integers(0, n, n * fan_out)
    # avoid repeated (pre, post) pairs: nengo-loihi's emulator adds those only once
    keys = np.unique(pre * n + post)
    weights = rng.integers(-24, 20, keys.size) * 2
    network.add(cells, SynapseGroup("recurrent", cells, cells, keys // n, keys % n, weights))
    return network


def time_ours(network: Network, steps: int, repeats: int) -> tuple[float, Simulator]:
    """Best seconds per step of our simulator (after a warm-up step that compiles)."""
    best = np.inf
    for _ in range(repeats):
        simulator = Simulator(network)
        simulator.run(1)
        start = time.perf_counter()
        run = simulator.run(steps)
        best = min(best, (time.perf_counter() - start) / steps)
    return best, run


def time_nengo_loihi(network: Network, steps: int, repeats: int) -> float:
    """Best seconds per step of nengo-loihi's emulator."""
    best = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            emulator, _ = build_emulator(network)
            emulator.step()
            start = time.perf_counter()
            for _ in range(steps):
                emulator.step()
            best = min(best, (time.perf_counter() - start) / steps)
    return best


def spikes_agree(network: Network, steps: int) -> bool:
    """Whether both simulators give the same spike raster over ``steps`` steps."""
    simulator = Simulator(network, record="all")
    ours = simulator.run(steps).spikes["cells"]
    emulator, _ = build_emulator(network)
    theirs = np.zeros_like(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(steps):
            emulator.step()
            theirs[step] = emulator.compartment.spiked
    return bool(np.array_equal(ours, theirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000, help="steps timed for ours")
    parser.add_argument("--reference-steps", type=int, default=100, help="for nengo-loihi")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(
        f"{'network':<34} {'ours cs/s':>10} {'nengo-loihi':>12} {'ratio':>7} "
        f"{'rate Hz':>8} {'syn ops/step':>12} {'same spikes':>11}"
    )
    for label, network in (
        ("1e5 compartments, no synapses", unconnected(100_000, seed=1)),
        ("1e4 compartments x 100 synapses", recurrent(10_000, 100, seed=2)),
    ):
        n = network.n_compartments
        ours_s, run = time_ours(network, args.steps, args.repeats)
        theirs_s = time_nengo_loihi(network, args.reference_steps, args.repeats)
        rate_hz = run.counters["spikes"].mean() / n * 1000
        same = spikes_agree(network, min(args.reference_steps, 200))
        print(
            f"{label:<34} {n / ours_s:>10.3g} {n / theirs_s:>12.3g} {theirs_s / ours_s:>6.1f}x "
            f"{rate_hz:>8.1f} {run.counters['synaptic_ops'].mean():>12.0f} {same!s:>11}"
        )


if __name__ == "__main__":
    main()
