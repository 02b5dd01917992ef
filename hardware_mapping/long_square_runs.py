"""Float neurons on long squares at the hardware step: the reference that registers must match.

Both the register search (`hardware_mapping.register_search`) and the validation
(`hardware_mapping.validation`) run the float model this way: Brian2's closed-form step at
the hardware step ``dt``, the refractory period in whole steps as the registers hold it
(`ahp_models.hardware_form.refractory_steps`), rest until the onset, then a constant current
for the width.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from brian2 import ms, pA, second

from ahp_models import long_square, model_for_params, simulate
from ahp_models.hardware_form import refractory_steps
from ahp_models.parameters import ParameterSet
from ahp_models.results import split_spike_trains

__all__ = [
    "ONSET_S",
    "WIDTH_S",
    "float_trains",
    "rheobase_pA",
    "run_population",
    "stacked_magnitudes",
]

#: Allen's long square: 1.02 s of rest, then a 1 s step.
ONSET_S, WIDTH_S = 1.02, 1.0


def float_trains(
    neurons: Mapping[Hashable, ParameterSet],
    amplitudes_pA: Mapping[Hashable, np.ndarray],
    dt_ms: float,
    backend: str,
    *,
    onset_s: float = ONSET_S,
    width_s: float = WIDTH_S,
) -> dict[Hashable, list[np.ndarray]]:
    """Spike times (s) per neuron and sweep of the float models, one population per model.

    Parameters
    ----------
    neurons : mapping
        Key -> one neuron's parameters (its refractory period is put in whole steps here).
    amplitudes_pA : mapping
        Key -> its step amplitudes (pA).
    dt_ms : float
        The step.
    backend : str
        Brian2 backend.
    onset_s, width_s : float
        The rest before the step and the step's length (s).

    Returns
    -------
    dict
        Key -> one array of spike times per sweep.
    """
    by_class: dict[type, list[Hashable]] = {}
    for key, params in neurons.items():
        by_class.setdefault(type(params), []).append(key)
    trains: dict[Hashable, list[np.ndarray]] = {}
    for params_class, keys in by_class.items():
        sizes = [np.asarray(amplitudes_pA[k]).size for k in keys]
        magnitudes = stacked_magnitudes([neurons[k] for k in keys])
        per_neuron = run_population(
            params_class,
            {name: np.repeat(values, sizes, axis=0) for name, values in magnitudes.items()},
            np.concatenate([np.asarray(amplitudes_pA[k], dtype=float) for k in keys]),
            dt_ms,
            backend,
            onset_s=onset_s,
            width_s=width_s,
        )
        start = 0
        for key, size in zip(keys, sizes, strict=True):
            trains[key] = per_neuron[start : start + size]
            start += size
    return trains


def rheobase_pA(params: ParameterSet) -> float:
    """One neuron's rheobase (pA): the smallest constant current that makes it fire."""
    return float(np.ravel(model_for_params(params).rheobase(params) / pA)[0])


def stacked_magnitudes(sets: list[ParameterSet]) -> dict[str, np.ndarray]:
    """Every field of one-neuron parameter sets of one class, stacked: (sets, ...) arrays in
    the fields' units."""
    specs = type(sets[0]).specs()
    return {
        name: np.stack([np.asarray(getattr(s, name) / spec.unit, dtype=float) for s in sets])
        for name, spec in specs.items()
    }


def run_population(
    params_class: type[ParameterSet],
    magnitudes: Mapping[str, np.ndarray],
    currents_pA: np.ndarray,
    dt_ms: float,
    backend: str,
    *,
    onset_s: float = ONSET_S,
    width_s: float = WIDTH_S,
) -> list[np.ndarray]:
    """One long square per neuron of a population given as stacked field magnitudes.

    The refractory period is put in whole steps (`refractory_steps`), and the population is
    padded to a size of `_padded` (neurons at zero current, dropped) so that runs of similar
    sizes reuse one compiled simulation instead of compiling their own.

    Returns
    -------
    list of numpy.ndarray
        Spike times (s) per neuron.
    """
    n = currents_pA.size
    padded = _padded(n)
    values = {}
    for name, spec in params_class.specs().items():
        column = np.asarray(magnitudes[name], dtype=float)
        if name == "t_ref":
            column = refractory_steps(column, dt_ms) * dt_ms  # ms, as the registers hold it
        pad = np.repeat(column[:1], padded - n, axis=0)
        values[name] = np.concatenate([column, pad]) * spec.unit
    stacked = params_class(**values)
    currents = np.concatenate([currents_pA, np.zeros(padded - n)])
    stimulus = long_square(
        currents * pA,
        onset=onset_s * second,
        width=width_s * second,
        duration=(onset_s + width_s) * second,
        dt=dt_ms * ms,
    )
    result = simulate(model_for_params(stacked), stacked, stimulus, backend=backend)
    return split_spike_trains(result.spike_neuron, result.spike_time_s, padded)[:n]


def _padded(n: int) -> int:
    """Population sizes in few buckets: powers of two from 1024, then multiples of 8192."""
    if n <= 8192:
        return max(1024, 1 << (n - 1).bit_length())
    return -(-n // 8192) * 8192
