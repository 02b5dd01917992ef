"""Float neurons on long squares at the hardware step: the reference that registers must match.

Both the register search (`hardware_mapping.register_search`) and the validation
(`hardware_mapping.validation`) run the float model this way: Brian2's closed-form step at
the hardware step ``dt``, the refractory period on the step grid (as the mapping rounds it),
rest until the onset, then a constant current for the width.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from brian2 import ms, pA, second

from ahp_models import long_square, model_for_params, simulate
from ahp_models.parameters import ParameterSet
from ahp_models.results import split_spike_trains

__all__ = ["ONSET_S", "WIDTH_S", "float_trains", "on_step_grid"]

#: Allen's long square: 1.02 s of rest, then a 1 s step.
ONSET_S, WIDTH_S = 1.02, 1.0


def on_step_grid(params: ParameterSet, dt_ms: float) -> ParameterSet:
    """The neuron with its refractory period rounded to the step grid (Brian2 refuses one
    that is not a whole number of steps; the mapping rounds it the same way)."""
    if not hasattr(params, "t_ref"):
        return params
    return params.replace(t_ref=np.round(params.t_ref / (dt_ms * ms)) * dt_ms * ms)


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
        Key -> one neuron's parameters (already on the step grid).
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
        sizes = [amplitudes_pA[k].size for k in keys]
        stacked = params_class.concatenate(
            [
                params_class.concatenate([neurons[k]], repeat=n)
                for k, n in zip(keys, sizes, strict=True)
            ]
        )
        currents = np.concatenate([amplitudes_pA[k] for k in keys])
        stimulus = long_square(
            currents * pA,
            onset=onset_s * second,
            width=width_s * second,
            duration=(onset_s + width_s) * second,
            dt=dt_ms * ms,
        )
        result = simulate(model_for_params(stacked), stacked, stimulus, backend=backend)
        per_neuron = split_spike_trains(result.spike_neuron, result.spike_time_s, currents.size)
        start = 0
        for key, size in zip(keys, sizes, strict=True):
            trains[key] = per_neuron[start : start + size]
            start += size
    return trains
