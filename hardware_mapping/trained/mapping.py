"""A trained-network description as a mapped network: registers per neuron, synapses, inputs.

The result is the `MappedNetwork` every other network of the toolkit is (its fixed-point
`Network`, one `NeuronMapping` per neuron, the quantized projections and the resources), so the
same code writes its hardware parameter file (`write_network_file`) and reads it back. Each
neuron's mapping records its float form: the ``loihi_ahp`` catalogue neuron with the
description's time constants, threshold and AHP decrement in the chip's integer voltage units,
and a quantization report of what the registers realize.
"""

from __future__ import annotations

import math

import numpy as np
from brian2 import ms, pA

from ahp_models.loihi_form import LoihiAhpParams
from hardware_mapping.mapped_neuron import AhpCompartment, NeuronMapping, quantization_report
from hardware_mapping.network_mapping import MappedNetwork, QuantizedProjection, assemble_network
from hardware_mapping.trained.description import NetworkDescription, PopulationSpec

__all__ = ["map_description", "population_mappings"]

#: Input gain of the float neurons' (unused) current input: the trained networks get spikes.
_INPUT_GAIN_PER_PA = 1.0


def map_description(description: NetworkDescription) -> MappedNetwork:
    """Build the fixed-point network of a description.

    Parameters
    ----------
    description : NetworkDescription
        A checked description.

    Returns
    -------
    MappedNetwork
        Populations (main groups named as the populations, AHP groups ``NAME_ahp1``), the
        inputs as `SpikeInput` (without spikes), and per projection one synapse group per sign.
    """
    mappings = {
        name: population_mappings(population, description.dt_ms)
        for name, population in description.populations.items()
    }
    currents = {name: np.zeros(p.size) for name, p in description.populations.items()}
    projections = []
    for p in description.projections:
        exponent = np.full(p.mantissa.size, p.exponent, dtype=np.int64)
        delay = np.full(p.mantissa.size, p.delay, dtype=np.int64)
        realized = p.input_per_spike.astype(float)
        projections.append(
            QuantizedProjection(
                p.pre, p.post, p.pre_index, p.post_index, p.mantissa, exponent, delay, realized
            )
        )
    return assemble_network(mappings, currents, projections, description.inputs)


def population_mappings(population: PopulationSpec, dt_ms: float) -> list[NeuronMapping]:
    """One `NeuronMapping` per neuron of a population (all equal).

    Parameters
    ----------
    population : PopulationSpec
        Its registers and float neuron.
    dt_ms : float
        The hardware step.

    Returns
    -------
    list of NeuronMapping
        ``population.size`` references to one mapping.
    """
    neuron = population.float_neuron
    ahp = population.ahp
    aux = ()
    if ahp is not None:
        aux = (AhpCompartment(ahp.decay, ((ahp.weight, ahp.exponent),), 0, "tau_ahp"),)
    params = LoihiAhpParams(
        tau_v=_source_tau(neuron.tau_v_ms, dt_ms) * ms,
        tau_ahp=_source_tau(neuron.tau_ahp_ms, dt_ms) * ms,
        v_th=neuron.v_th,
        b_ahp=max(neuron.b_ahp, 0.0),
        input_gain=_INPUT_GAIN_PER_PA / pA,
    )
    rows = [
        _row("tau_v", "ms", neuron.tau_v_ms, _register_tau(population.decay_v, dt_ms),
             f"decay_v {population.decay_v}; float factor {neuron.keep_v:.6f}"),
        _row("v_th", "integer units", neuron.v_th, 64.0 * population.vth_mant,
             f"vth_mant {population.vth_mant}"),
    ]  # fmt: skip
    if ahp is not None:
        rows += [
            _row("tau_ahp", "ms", neuron.tau_ahp_ms, _register_tau(ahp.decay, dt_ms),
                 f"decay {ahp.decay}; float factor {neuron.keep_ahp:.6f}"),
            _row("b_ahp", "integer units", neuron.b_ahp, -float(ahp.input_per_spike),
                 f"weight {ahp.weight}, exponent {ahp.exponent}"),
        ]  # fmt: skip
    mapping = NeuronMapping(
        model="loihi_ahp",
        dt_ms=dt_ms,
        scale_per_mV=1.0,
        decay_v=population.decay_v,
        vth_mant=population.vth_mant,
        refract_delay=population.refract_delay,
        v_rest=0,
        drive_offset=0.0,
        drive_per_pA=0.0,
        float_keep_v=neuron.keep_v,
        current_range_pA=(0.0, 0.0),
        aux=aux,
        report=quantization_report(rows),
        source=params.to_dict(),
    )
    return [mapping] * population.size


def _row(quantity: str, unit: str, requested: float, realized: float, note: str) -> dict:
    def finite(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return {
        "quantity": quantity,
        "unit": unit,
        "requested": finite(requested),
        "realized": finite(realized),
        "note": note,
    }


def _register_tau(decay: int, dt_ms: float) -> float:
    """The time constant a decay register realizes, -dt / ln(1 - d/4096) (0: no memory)."""
    if decay == 0:
        return math.inf
    if decay == 4096:
        return 0.0
    return -dt_ms / math.log1p(-decay / 4096)


def _source_tau(tau_ms: float, dt_ms: float) -> float:
    """A time constant the float model's parameters accept (> 0, finite)."""
    if tau_ms == 0:
        return dt_ms  # no memory: one step (the catalogue's Euler factor 1 - dt/tau is 0)
    return min(tau_ms, 1e12)
