"""Simulation speed: 1e5 LIF-AHP neurons, 1 s at dt = 0.1 ms, per backend, against a C loop.

The reference is hand-written C of the same update as an expert would write it: a branch-free
closed-form step the compiler vectorises, then a threshold pass that records spikes into a
growing buffer and resets. It is compiled in this run with the same flags as Brian2's generated
code and fed the same per-neuron coefficient arrays, so it must produce exactly the same spike
count (checked). Speeds are neuron-steps per second of the
simulation loop (the binary's own timer for standalone, ``Network.run`` for runtime) and are
printed as ratios to the reference measured in the same process, because these machines are
noisy. Stock Brian2 integrators (``exact``, ``euler``) on the same equations are shown for
context.

Usage: python bench/bench_simulation.py [--neurons N] [--repeats K] [--no-runtime] [--no-stock]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from brian2 import (
    Mohm,
    Network,
    NeuronGroup,
    SpikeMonitor,
    device,
    ms,
    mV,
    pA,
    second,
    set_device,
)
from brian2.devices.device import reset_device

from ahp_models import LifAhp, LifAhpParams, compile_simulator, long_square, simulate
from ahp_models.model import brian_unit_text
from ahp_models.network import AMPLITUDE_NAME, cpp_compile_args, prepare_run

DT_S = 1e-4
DURATION_S = 1.0

REFERENCE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double *load(const char *dir, const char *name, long n) {
    char path[4096]; snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "rb"); double *x = malloc(n * sizeof(double));
    if (!f || fread(x, sizeof(double), n, f) != (size_t)n) {
        fprintf(stderr, "%s\n", path); exit(1);
    }
    fclose(f); return x;
}

int main(int argc, char **argv) {
    const char *dir = argv[1]; long n = atol(argv[2]); long steps = atol(argv[3]);
    double dt = atof(argv[4]);
    double *E_L = load(dir, "E_L", n), *R = load(dir, "R", n), *V_th = load(dir, "V_th", n);
    double *V_reset = load(dir, "V_reset", n), *t_ref = load(dir, "t_ref", n);
    double *b = load(dir, "b_ahp", n), *decay_m = load(dir, "decay_m", n);
    double *decay_a = load(dir, "decay_I_ahp", n), *k = load(dir, "k_I_ahp", n);
    double *amp = load(dir, "stimulus_amplitude", n), *v = load(dir, "v", n);
    double *I = load(dir, "I_ahp", n), *wave = load(dir, "waveform", steps);
    int *ref_steps = malloc(n * sizeof(int)), *last = malloc(n * sizeof(int));
    for (long i = 0; i < n; i++) { ref_steps[i] = (int)(t_ref[i] / dt + 0.5); last[i] = -1000000; }
    long capacity = 1 << 20, count = 0;
    int *spike_i = malloc(capacity * sizeof(int));
    double *spike_t = malloc(capacity * sizeof(double));
    struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int s = 0; s < steps; s++) {
        const double w = wave[s], t = s * dt;
        /* pass 1: branch-free closed-form step, vectorised by the compiler */
        for (long i = 0; i < n; i++) {
            const double I_ext = amp[i] * w;
            const double v_inf = E_L[i] + R[i] * I_ext;
            const double v_next = v_inf + (v[i] - v_inf) * decay_m[i] - k[i] * I[i];
            I[i] = I[i] * decay_a[i];
            v[i] = (s - last[i] >= ref_steps[i]) ? v_next : v[i];
        }
        /* pass 2: threshold, spike recording, reset */
        for (long i = 0; i < n; i++) {
            if (v[i] > V_th[i] && s - last[i] >= ref_steps[i]) {
                if (count == capacity) {
                    capacity *= 2;
                    spike_i = realloc(spike_i, capacity * sizeof(int));
                    spike_t = realloc(spike_t, capacity * sizeof(double));
                }
                spike_i[count] = (int)i; spike_t[count] = t; count++;
                last[i] = s; v[i] = V_reset[i]; I[i] += b[i];
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    printf("%.9f %ld\n", seconds, count);
    return 0;
}
"""


def population(n_neurons: int) -> tuple[LifAhpParams, object]:
    """Heterogeneous AHP neurons under Allen-like steps: every neuron its own tau, b, current."""
    params = LifAhpParams(
        tau_ahp=np.linspace(50, 2000, n_neurons) * ms,
        b_ahp=np.linspace(5, 30, n_neurons) * pA,
        tau_m=np.linspace(10, 30, n_neurons) * ms,
        R=np.linspace(100, 300, n_neurons) * Mohm,
    )
    # from just below to twice each neuron's rheobase: rates from 0 to about 60 Hz
    amplitudes = (params.V_th - params.E_L) / params.R * np.linspace(0.9, 2.0, n_neurons)
    stimulus = long_square(
        amplitudes,
        onset=0 * ms,
        width=DURATION_S * second,
        duration=DURATION_S * second,
        dt=DT_S * second,
    )
    return params, stimulus


def run_reference(params: LifAhpParams, stimulus: object, n_neurons: int) -> tuple[float, int]:
    """Compile and run the C loop on the exact coefficients Brian2 gets; return (s, spikes)."""
    steps = round(DURATION_S / DT_S)
    inputs = prepare_run(LifAhp(), params, stimulus, dt_s=DT_S, n_steps=steps)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for name, values in inputs.group_values().items():
            np.ascontiguousarray(values, dtype=np.float64).tofile(folder / f"{name}.dat")
        np.ascontiguousarray(inputs.waveform, dtype=np.float64).tofile(folder / "waveform.dat")
        assert AMPLITUDE_NAME == "stimulus_amplitude"
        source = folder / "reference.c"
        source.write_text(REFERENCE_C)
        binary = folder / "reference"
        subprocess.run(["gcc", *cpp_compile_args(), str(source), "-o", str(binary)], check=True)
        output = subprocess.run(
            [str(binary), str(folder), str(n_neurons), str(steps), repr(DT_S)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    return float(output[0]), int(output[1])


def run_stock(method: str, params: LifAhpParams, stimulus: object, n_neurons: int) -> float:
    """Brian2's own integrator on the same equations in cpp_standalone; loop seconds."""
    with tempfile.TemporaryDirectory() as work:
        set_device("cpp_standalone", build_on_run=False, directory=work)
        try:
            device.reinit()
            device.activate(build_on_run=False, directory=work)
            model = LifAhp()
            parameters = model.parameter_units()
            equations = (
                model.differential_equations()
                + "\nI_ext = I_amp : amp\nI_amp : amp (constant)\n"
                + "\n".join(f"{n} : {brian_unit_text(u)} (constant)" for n, u in parameters.items())
            )
            group = NeuronGroup(
                n_neurons,
                equations,
                threshold="v > V_th",
                reset=model.reset,
                refractory="t_ref",
                method=method,
                dt=DT_S * second,
            )
            values = {**params.si_arrays(n_neurons), "I_amp": stimulus.amplitudes_si(n_neurons)}
            group.set_states(values, units=False)
            group.v = -70 * mV
            network = Network(group, SpikeMonitor(group))
            network.run(DURATION_S * second)
            device.build(directory=work, compile=True, run=True, with_output=False)
            return float(device._last_run_time)
        finally:
            device.reinit()
            reset_device()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-runtime", action="store_true", help="skip the runtime backend")
    parser.add_argument("--no-stock", action="store_true", help="skip stock Brian2 methods")
    args = parser.parse_args()
    n = args.neurons
    neuron_steps = n * round(DURATION_S / DT_S)
    params, stimulus = population(n)
    print(
        f"{n} LIF-AHP neurons, {DURATION_S:g} s at dt = {DT_S * 1e3:g} ms "
        f"({neuron_steps:.2e} neuron-steps); {platform.processor() or platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )

    reference = [run_reference(params, stimulus, n) for _ in range(args.repeats)]
    reference_s = min(s for s, _ in reference)
    reference_spikes = reference[0][1]
    rows = [("C loop (reference)", reference_s, reference_spikes)]

    compiled = compile_simulator("lif_ahp", n_neurons=n, stimulus=stimulus)
    runs = [compiled.run(params, stimulus) for _ in range(args.repeats)]
    standalone_s = min(r.timings["network_run"] for r in runs)
    wall_s = min(r.timings["wall"] for r in runs)
    rows.append(("cpp_standalone (ahp_models)", standalone_s, int(runs[0].spike_counts().sum())))
    rows.append(("  same, wall incl. I/O", wall_s, int(runs[0].spike_counts().sum())))
    compiled.close()

    if not args.no_runtime:
        for target in ("cython", "numpy"):
            # best of the repeats: the first may include compiling Brian2's Cython extensions
            results = [
                simulate("lif_ahp", params, stimulus, codegen_target=target)
                for _ in range(args.repeats)
            ]
            loop_s = min(r.timings["network_run"] for r in results)
            spikes = int(results[0].spike_counts().sum())
            rows.append((f"runtime {target} (ahp_models)", loop_s, spikes))
    if not args.no_stock:
        for method in ("exact", "euler"):
            rows.append(
                (f"cpp_standalone, Brian2 '{method}'", run_stock(method, params, stimulus, n), -1)
            )

    print(f"reference spike count: {reference_spikes}")
    print(f"{'backend':34s} {'loop s':>9s} {'neuron-steps/s':>15s} {'vs C loop':>10s} spikes")
    for name, seconds, spikes in rows:
        match = "" if spikes < 0 else ("same" if spikes == reference_spikes else f"{spikes} DIFFER")
        print(
            f"{name:34s} {seconds:9.3f} {neuron_steps / seconds:15.3e} "
            f"{reference_s / seconds:9.1%} {match}"
        )


if __name__ == "__main__":
    main()
