"""Map a float neuron of the catalogue onto Loihi 1 compartments.

`map_neuron` asks the neuron's model for its discrete-time linear float form
(`NeuronModel.hardware_form`) and quantizes it in one pass (`hardware_mapping.quantization`);
`hardware_mapping.mapped_neuron` holds the result's types. Every model whose class gives a
hardware form is mappable (`MAPPABLE_MODELS`); this module knows none of them by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from brian2 import Quantity, ms, mV, pA, second

from ahp_models.catalogue import MODELS, model_for_params
from ahp_models.model import NeuronModel
from ahp_models.parameters import ParameterSet
from ahp_models.quantities import QuantityError
from hardware_mapping.mapped_neuron import (
    REPORT_COLUMNS,
    TIME_STEP_RANGE_MS,
    AhpCompartment,
    MappedPopulation,
    MappingError,
    NeuronMapping,
    in_unit,
    quantization_report,
    quantize_bias,
)
from hardware_mapping.quantization import (
    DECAY_ROUNDINGS,
    quantize_form,
    quantize_weight,
    quantize_weights,
)

__all__ = [
    "DECAY_ROUNDINGS",
    "MAPPABLE_MODELS",
    "REPORT_COLUMNS",
    "TIME_STEP_RANGE_MS",
    "AhpCompartment",
    "MappedPopulation",
    "MappingError",
    "NeuronMapping",
    "map_neuron",
    "quantization_report",
    "quantize_bias",
    "quantize_weight",
    "quantize_weights",
]

#: Catalogue models with a hardware form.
MAPPABLE_MODELS = tuple(
    name for name, cls in MODELS.items() if cls.hardware_form is not NeuronModel.hardware_form
)


def map_neuron(
    params: ParameterSet,
    *,
    dt: Quantity = 1 * ms,
    current_range: Sequence[Quantity] = (0 * pA, 500 * pA),
    decay_rounding: str = "nearest",
    charge_horizon: Quantity = 1 * second,
    split_decays: bool | None = None,
    synaptic_input: Sequence[Quantity] | None = None,
    name: str | None = None,
    scale_fraction: float = 1.0,
) -> NeuronMapping:
    """Map one float neuron to Loihi 1 registers at hardware step ``dt``.

    Parameters
    ----------
    params : ParameterSet
        One neuron of a model with a hardware form (`MAPPABLE_MODELS`).
    dt : Quantity
        The hardware time step (1 ms on the paper's chip).
    current_range : (Quantity, Quantity)
        The constant input currents the neuron must represent. The scale is the largest at
        which no compartment can saturate or overflow for any input in this range
        (`hardware_mapping.headroom`); a narrower range buys precision.
    decay_rounding : {"nearest", "paper"}
        ``nearest``: the decay register whose factor is nearest the float model's per-step
        factor; ``paper``: ``int(4096 dt / tau)`` as in the paper's code (lsnn.py).
    charge_horizon : Quantity
        Each AHP weight makes the quantized current deliver the float current's charge within
        this time after a spike (the protocol's length: 1 s for Allen's long square). A slow
        current whose decay register cannot hold its time constant (tau > ~4 s at 1 ms steps)
        then acts like the float one over the horizon instead of over its whole (longer)
        tail; an infinite horizon matches the total charge.
    split_decays : bool, optional
        Realize each AHP current on two auxiliary compartments whose decay registers bracket
        its time constant, sharing its increment so that the pair decays at the exact rate
        (one more compartment per current; the registers' 12 bits alone give a slow current
        up to 1/(2 d) relative error in its time constant). Default: True with ``nearest``
        rounding, False with ``paper`` (which reproduces the paper's registers).
    synaptic_input : (Quantity, Quantity), optional
        For a neuron in a network: the largest total excitatory and inhibitory voltage jump
        its synapses can deliver in one step (each synapse once), which the registers must
        hold on top of the current range (mV; the model's own voltage units for a model
        whose voltage is dimensionless).
    name : str, optional
        The neuron's name (a cell) in error messages.
    scale_fraction : float
        Start from this share of the largest scale the range allows (default 1: all of it);
        the register search maps at a second, smaller one for another lattice of registers.

    Returns
    -------
    NeuronMapping
        The registers and the quantization report.
    """
    where = "map_neuron" if name is None else f"map_neuron ({name})"
    if params.model_name not in MAPPABLE_MODELS:
        raise MappingError(
            f"{where}: model {params.model_name!r} has no Loihi form here; allowed: "
            f"{', '.join(MAPPABLE_MODELS)}"
        )
    if params.n_neurons not in (None, 1):
        raise MappingError(
            f"{where}: the parameters hold {params.n_neurons} neurons; map them one at a time"
        )
    if decay_rounding not in DECAY_ROUNDINGS:
        raise MappingError(
            f"{where}: decay_rounding = {decay_rounding!r}; allowed: " + ", ".join(DECAY_ROUNDINGS)
        )
    split = decay_rounding == "nearest" if split_decays is None else bool(split_decays)
    dt_ms = float(in_unit(dt, ms, "dt"))
    horizon_ms = float(in_unit(charge_horizon, ms, "charge_horizon"))
    low_ms, high_ms = TIME_STEP_RANGE_MS
    if not low_ms <= dt_ms <= high_ms:
        raise MappingError(f"{where}: dt = {dt_ms:g} ms; allowed: {low_ms:g} to {high_ms:g} ms")
    low_pA, high_pA = (float(in_unit(c, pA, "current_range")) for c in current_range)
    if not high_pA >= low_pA:
        raise MappingError(
            f"{where}: current_range = ({low_pA:g}, {high_pA:g}) pA; allowed: low <= high"
        )
    form = model_for_params(params).hardware_form(params, dt_ms * 1e-3)
    synaptic = (0.0, 0.0)
    if synaptic_input is not None:
        unit = mV if form.unit.startswith("mV") else 1
        values = list(synaptic_input)
        if len(values) != 2:
            raise MappingError(
                f"{where}: synaptic_input has {len(values)} values; allowed: two "
                "(excitatory, inhibitory)"
            )
        try:
            synaptic = tuple(float(in_unit(x, unit, "synaptic_input")) for x in values)
        except QuantityError as error:
            raise MappingError(f"{where}: {error}") from None
        if not all(np.isfinite(x) and x >= 0 for x in synaptic):
            raise MappingError(f"{where}: synaptic_input = {synaptic}; allowed: two values >= 0")
    return quantize_form(
        form,
        params.to_dict(),
        current_range_pA=(low_pA, high_pA),
        decay_rounding=decay_rounding,
        horizon_ms=horizon_ms,
        split_decays=split,
        synaptic_input=synaptic,
        scale_fraction=scale_fraction,
        where=where,
    )
