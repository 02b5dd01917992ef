"""The paper's sequential-MNIST network through the bit-accurate simulator: speed and accuracy.

Runs the MNIST test images (all 10,000 by default) through `run_fixed_point` with the given
number of worker threads and prints images per second, then runs a plain numpy integer loop of
the same network (every image of a batch at once, dense integer-valued matrices, the chip's
decay, clip and threshold) on a subset in the same process, checks that both give the same
output voltages there, and prints the ratio of their speeds. Also prints accuracy, spikes and
the energy and latency estimate per inference.

Usage: python bench/smnist.py [--variant relay|direct] [--images N|all] [--workers K]
                              [--reference-images N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from hardware_mapping.trained import NetworkDescription, builtin_description, run_fixed_point
from hardware_mapping.trained.data import load_mnist_test
from hardware_mapping.trained.evaluation import summary_table

LIMIT = 2**23 - 1


def numpy_loop(description: NetworkDescription, images: np.ndarray) -> np.ndarray:
    """The readout voltages after the last step, every image at once, in numpy.

    Each projection is a dense (pre, post) matrix of the per-spike inputs ``64 w 2**e`` held
    in float64: a sum of at most a few hundred such integers is exact there, and BLAS makes
    the products fast. The rest is int64.
    """
    if any(p.delay for p in description.projections):
        raise ValueError("the numpy loop has no delays")
    populations = description.populations
    raster = description.encoder.encode(images).astype(np.float64)
    n = images.shape[0]
    matrices = []
    for p in description.projections:
        pre_size = description.inputs.get(p.pre) or populations[p.pre].size
        matrix = np.zeros((pre_size, populations[p.post].size))
        matrix[p.pre_index, p.post_index] = p.input_per_spike
        matrices.append((p.pre, p.post, matrix))
    v = {name: np.zeros((n, p.size), dtype=np.int64) for name, p in populations.items()}
    aux = {name: np.zeros((n, p.size), dtype=np.int64) for name, p in populations.items()}
    spikes = {name: np.zeros((n, p.size)) for name, p in populations.items()}
    source = description.encoder.input
    for step in range(description.n_steps):
        current = {name: np.zeros((n, p.size)) for name, p in populations.items()}
        arrived = {**spikes, source: raster[:, step - 1] if step else raster[:, 0] * 0}
        for pre, post, matrix in matrices:
            current[post] += arrived[pre] @ matrix
        for name, p in populations.items():
            if p.ahp is not None:
                keep = 4096 - p.ahp.decay
                aux[name] = np.sign(aux[name]) * ((np.abs(aux[name]) * keep) >> 12)
                aux[name] += p.ahp.input_per_spike * spikes[name].astype(np.int64)
            keep = 4096 - p.decay_v
            decayed = np.sign(v[name]) * ((np.abs(v[name]) * keep) >> 12)
            value = np.clip(decayed + current[name].astype(np.int64) + aux[name], -LIMIT, LIMIT)
            fired = value > 64 * p.vth_mant
            value[fired] = 0
            v[name] = value
            spikes[name] = fired.astype(np.float64)
    return v[description.readout_population]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("relay", "direct"), default="relay")
    parser.add_argument("--images", default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference-images", type=int, default=1000)
    args = parser.parse_args()
    description = builtin_description(f"rao2022-smnist-{args.variant}")
    images, labels = load_mnist_test()
    count = 10000 if args.images == "all" else int(args.images)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{description.name}, {count} images, {args.workers} workers")  # fmt: skip
    run_fixed_point(description, images[:8])  # compile and load the step loop first
    started = time.perf_counter()
    run = run_fixed_point(description, images[:count], workers=args.workers)
    seconds = time.perf_counter() - started
    rate = count / seconds
    print(f"fixed-point simulator: {seconds:.1f} s, {rate:.0f} images/s")
    subset = min(args.reference_images, count)
    started = time.perf_counter()
    expected = numpy_loop(description, images[:subset])
    reference_rate = subset / (time.perf_counter() - started)
    same = np.array_equal(expected, run.readout_values[:subset])
    print(f"numpy integer loop ({subset} images at once): {reference_rate:.0f} images/s; "
          f"same output voltages: {same}")  # fmt: skip
    print(f"ratio simulator / numpy loop: {rate / reference_rate:.2f}")
    summary = summary_table({"fixed": run}, labels[:count]).iloc[0]
    print(
        f"accuracy {100 * summary['accuracy']:.2f} % ({summary['correct']}/{count}); "
        f"{summary['spikes_per_inference']:.0f} spikes, "
        f"{summary['synaptic_ops_per_inference']:.0f} synaptic operations, "
        f"{summary['energy_mJ']:.4f} mJ (dynamic {summary['dynamic_mJ']:.4f}), "
        f"{summary['latency_ms']:.2f} ms per inference"
    )
    if not same:
        raise SystemExit("the simulator and the numpy loop disagree")


if __name__ == "__main__":
    main()
