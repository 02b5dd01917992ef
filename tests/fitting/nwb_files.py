"""Small Allen NWB 1.x files for the tests, in allensdk's ``nwb_data_set`` layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE_HZ = 50_000.0
TEST_PULSE_S = (0.01, 0.02)  # -> index range of the experiment starts after it
STEP_S = (1.02, 2.02)  # Allen's long square


def spiking_trace(spike_times_s: np.ndarray, n_samples: int) -> np.ndarray:
    """Membrane voltage (V): rest at -70 mV, each spike a 100 mV alpha-shaped transient that
    starts at its time (0.3 ms rise), so Allen's threshold lies at the start."""
    t_s = np.arange(n_samples) / RATE_HZ
    v_mv = np.full(n_samples, -70.0)
    for spike in spike_times_s:
        x = np.clip((t_s - spike) / 3e-4, 0.0, None)
        v_mv += 100.0 * x * np.exp(1.0 - x)
    return v_mv * 1e-3


def rc_trace(amplitude_pa: float, n_samples: int, r_mohm: float, tau_ms: float) -> np.ndarray:
    """Membrane voltage (V) of an RC membrane at rest at -70 mV under the long square."""
    t_s = np.arange(n_samples) / RATE_HZ
    x_s = np.clip(t_s - STEP_S[0], 0.0, STEP_S[1] - STEP_S[0])
    dv_mv = r_mohm * amplitude_pa * 1e-3 * (1 - np.exp(-x_s / (tau_ms * 1e-3)))
    after = t_s > STEP_S[1]
    dv_mv[after] = dv_mv[~after][-1] * np.exp(-(t_s[after] - STEP_S[1]) / (tau_ms * 1e-3))
    return (-70.0 + dv_mv) * 1e-3


def write_sweep(
    file, number, name, amplitude_pa, spikes_s, *, conversion=1.0, stated=None, response_v=None
):
    """One sweep; its response is `spiking_trace` unless ``response_v`` (V) is given."""
    n_samples = int(2.5 * RATE_HZ)
    t_s = np.arange(n_samples) / RATE_HZ
    stimulus_a = np.zeros(n_samples)
    stimulus_a[(t_s >= TEST_PULSE_S[0]) & (t_s < TEST_PULSE_S[1])] = 20e-12
    stimulus_a[(t_s >= STEP_S[0] - 1e-9) & (t_s < STEP_S[1] - 1e-9)] = amplitude_pa * 1e-12
    epoch = file.create_group(f"epochs/Sweep_{number}")
    if response_v is None:
        response_v = spiking_trace(spikes_s, n_samples)
    for part, data in (("stimulus", stimulus_a), ("response", response_v)):
        series = epoch.create_group(f"{part}/timeseries")
        dataset = series.create_dataset("data", data=(data / conversion).astype("float32"))
        dataset.attrs["conversion"] = conversion
        series.create_dataset("starting_time", data=0.0).attrs["rate"] = RATE_HZ
        epoch[part].create_dataset("idx_start", data=0)
        epoch[part].create_dataset("count", data=n_samples)
    experiment = file.create_group(f"epochs/Experiment_{number}/stimulus")
    first = int(0.05 * RATE_HZ)
    experiment.create_dataset("idx_start", data=first)
    experiment.create_dataset("count", data=n_samples - first)
    presentation = file.create_group(f"stimulus/presentation/Sweep_{number}")
    presentation.create_dataset("aibs_stimulus_name", data=name.encode())
    stated = amplitude_pa if stated is None else stated
    presentation.create_dataset("aibs_stimulus_amplitude_pa", data=stated)


ADAPTING_S = STEP_S[0] + np.array([0.0312, 0.061, 0.1, 0.152, 0.221, 0.31, 0.42])


def silent_then_adapting_cell(path) -> bytes:
    """A cell's NWB file with two long squares: silent at 110 pA, adapting at 190 pA."""
    import h5py

    with h5py.File(path, "w") as file:
        write_sweep(file, 5, "Long Square", 110.0, np.array([]))
        write_sweep(file, 7, "Long Square", 190.0, ADAPTING_S)
    return Path(path).read_bytes()


#: Hyperpolarizing long squares of `passive_cell`: Allen's membrane-property sweeps (-100 pA
#: itself is not one).
HYPERPOLARIZING_PA = (-100.0, -90.0, -70.0, -50.0, -30.0, -10.0)


def passive_cell(path, r_mohm: float = 150.0, tau_ms: float = 20.0) -> bytes:
    """`silent_then_adapting_cell` with hyperpolarizing long squares of an RC membrane first."""
    import h5py

    with h5py.File(path, "w") as file:
        for number, amplitude in enumerate(HYPERPOLARIZING_PA, start=1):
            response = rc_trace(amplitude, int(2.5 * RATE_HZ), r_mohm, tau_ms)
            write_sweep(file, number, "Long Square", amplitude, [], response_v=response)
        write_sweep(file, 8, "Long Square", 110.0, np.array([]))
        write_sweep(file, 9, "Long Square", 190.0, ADAPTING_S)
    return Path(path).read_bytes()
