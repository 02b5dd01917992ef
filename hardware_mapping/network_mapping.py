"""Map a network of fitted neurons onto Loihi 1: registers, synapses, resources.

The float network (`ahp_models.populations`): populations of neurons of a catalogue model
(each with its own parameters), each with a constant input current, and projections of
`ahp_models.RecurrentSynapses` between or within them (a spike makes the target's voltage
jump after a delay). On the chip: each population a group of main compartments named as the
population, each neuron mapped by `map_neuron` (its main compartment and its AHP
compartments), every synapse an integer input ``64 * w * 2**e`` in the *target's* voltage
units (``S_target * weight``), delays in the delay field (arrival ``1 + delay`` steps after
the spike, as the float synapses'), and a resource summary that refuses a network the chosen
chips cannot hold.

Synapses are grouped by sign and weight exponent (each group one sign mode and one exponent,
8-bit mantissas), so every weight keeps 8 bits of precision whatever its size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from brian2 import Quantity, ms, mV, pA

from ahp_models.parameters import ParameterSet
from ahp_models.populations import Population, Projection, check_network
from ahp_models.synapses import RecurrentSynapses
from hardware_mapping.loihi.arithmetic import scale_by_exponent
from hardware_mapping.loihi.network import CompartmentGroup, Network, SpikeInput, SynapseGroup
from hardware_mapping.loihi.registers import DELAY_BITS, WEIGHT_EXP
from hardware_mapping.neuron_mapping import MappingError, NeuronMapping, map_neuron

__all__ = [
    "COMPARTMENTS_PER_CORE",
    "MappedNetwork",
    "QuantizedProjection",
    "ResourceSummary",
    "add_ahp_compartments",
    "add_synapse_groups",
    "ahp_slot_biases",
    "assemble_network",
    "check_fits",
    "map_network",
    "map_recurrent_population",
    "resource_summary",
]

COMPARTMENTS_PER_CORE = 1024
SYNAPSE_MEMORY_BYTES = 128 * 1024  # per core
AXONS_PER_CORE = 4096  # input and output axons per core
CORES_PER_CHIP = 128
# A synapse entry: its weight, its delay and the target compartment's index in the core.
COMPARTMENT_INDEX_BITS = 10


@dataclass(frozen=True)
class ResourceSummary:
    """What a mapped network occupies (Loihi 1: 1024 compartments, 128 KB of synapses and
    4096 input axons per core, 128 cores per chip).

    Attributes
    ----------
    compartments, synapses : int
        Totals (compartments include each neuron's AHP compartments).
    synapse_bits : int
        Bits per synapse entry: weight bits + delay bits + 10 bits of target index.
    cores, chips : int
        Cores needed (the most any limit asks for, neurons placed in order) and chips.
    max_fan_in, max_fan_out : int
        Largest number of synapses onto / from one neuron (recurrent synapses).
    max_input_axons : int
        Largest number of distinct source neurons of one core.
    binding : str
        The limit that sets the core count.
    """

    compartments: int
    synapses: int
    synapse_bits: int
    cores: int
    chips: int
    max_fan_in: int
    max_fan_out: int
    max_input_axons: int
    binding: str

    def table(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame."""
        return pd.DataFrame([self.__dict__])


@dataclass(frozen=True)
class QuantizedProjection:
    """A projection's synapses in registers.

    Attributes
    ----------
    pre, post : str
        Source and target population.
    pre_index, post_index : numpy.ndarray
        Source and target neuron of each synapse, within the populations.
    mantissa, exponent : numpy.ndarray
        Weight mantissa (-255..255, the sign is the synapse group's sign mode) and exponent
        (-8..7): each spike adds ``64 * mantissa * 2**exponent`` to the target (for a negative
        exponent the chip drops the mantissa's low bits first, ``(mantissa >> -e) << 6``).
    delay : numpy.ndarray
        The delay field (arrival ``1 + delay`` steps after the spike).
    requested : numpy.ndarray
        The float weight in the target's voltage units, before rounding.
    """

    pre: str
    post: str
    pre_index: np.ndarray
    post_index: np.ndarray
    mantissa: np.ndarray
    exponent: np.ndarray
    delay: np.ndarray
    requested: np.ndarray

    def weights(self) -> pd.DataFrame:
        """Per synapse the requested and realized input and the relative error."""
        realized = 64.0 * scale_by_exponent(self.mantissa, self.exponent)
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.where(self.requested != 0, realized / self.requested - 1.0, np.nan)
        return pd.DataFrame(
            {
                "projection": f"{self.pre}->{self.post}",
                "pre": self.pre_index,
                "post": self.post_index,
                "requested": self.requested,
                "realized": realized,
                "relative_error": error,
            }
        )


@dataclass(frozen=True)
class MappedNetwork:
    """A network on the chip.

    Attributes
    ----------
    network : Network
        The fixed-point network: per population a group named as the population (main
        compartments) and ``NAME_ahp{k}`` (AHP compartments); per projection synapse groups
        ``projection{index}_PRE_to_POST_{sign}_e{exponent}``.
    mappings : dict of str to list of NeuronMapping
        Per population, per neuron.
    currents_pA : dict of str to numpy.ndarray
        Per population, each neuron's constant input (pA; its bias).
    projections : tuple of QuantizedProjection
        The synapses in registers.
    resources : ResourceSummary
        What the whole network occupies.
    inputs : dict of str to int
        External spike inputs by name and number of axons (`SpikeInput` of the network).
    """

    network: Network
    mappings: dict[str, list[NeuronMapping]]
    currents_pA: dict[str, np.ndarray]
    projections: tuple[QuantizedProjection, ...]
    resources: ResourceSummary
    inputs: dict[str, int] = field(default_factory=dict)

    @property
    def weights(self) -> pd.DataFrame:
        """Per synapse: ``projection`` (``PRE->POST``), ``pre``, ``post`` (indices within the
        populations), ``requested`` and ``realized`` input (target units), ``relative_error``.
        """
        tables = [projection.weights() for projection in self.projections]
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()

    def initial_v(self, population: str) -> np.ndarray:
        """Each neuron's resting voltage (its initial state) in a population."""
        return np.array([m.v_rest for m in self.mappings[population]])


def map_network(
    populations: Mapping[str, Population],
    projections: Sequence[Projection] = (),
    *,
    dt: Quantity = 1 * ms,
    chips: int = 1,
    decay_rounding: str = "nearest",
) -> MappedNetwork:
    """Map populations with constant inputs and the projections among them to the chip.

    Parameters
    ----------
    populations : mapping of str to Population
        Name -> neurons of one model (`MAPPABLE_MODELS`; populations may differ in model).
    projections : sequence of Projection
        Synapses between or within populations (`ahp_models.populations`).
    dt : Quantity
        Hardware step.
    chips : int
        Chips available; a network that needs more is refused.
    decay_rounding : {"nearest", "paper"}
        See `map_neuron`.

    Returns
    -------
    MappedNetwork
        The network, per-neuron mappings, resources and weight rounding.
    """
    dt_ms = float(dt / ms)
    check_network(populations, projections, dt_ms * 1e-3)
    # the largest excitatory and inhibitory input a neuron can get in one step (every synapse
    # onto it delivering at once): its registers must hold that on top of its current
    excitatory = {name: np.zeros(len(p.neurons)) for name, p in populations.items()}
    inhibitory = {name: np.zeros(len(p.neurons)) for name, p in populations.items()}
    for projection in projections:
        weights = projection.synapses.weight_mV()
        post = projection.synapses.post
        np.add.at(excitatory[projection.post], post, np.maximum(weights, 0.0))
        np.add.at(inhibitory[projection.post], post, np.maximum(-weights, 0.0))
    mappings: dict[str, list[NeuronMapping]] = {}
    for name, population in populations.items():
        neurons = zip(population.neurons, population.currents / pA, strict=True)
        mappings[name] = [
            map_neuron(
                params,
                dt=dt,
                current_range=(min(0.0, c) * pA, max(0.0, c) * pA),
                decay_rounding=decay_rounding,
                synaptic_input=(excitatory[name][i] * mV, inhibitory[name][i] * mV)
                if excitatory[name][i] or inhibitory[name][i]
                else None,
                name=f"{name}[{i}]",
            )
            for i, (params, c) in enumerate(neurons)
        ]
    quantized = []
    for projection in projections:
        synapses = projection.synapses
        scales = np.array([m.scale_per_mV for m in mappings[projection.post]])
        wanted = scales[synapses.post] * synapses.weight_mV()
        mantissa, exponent = _quantize_inputs(wanted)
        quantized.append(
            QuantizedProjection(
                projection.pre,
                projection.post,
                synapses.pre,
                synapses.post,
                mantissa,
                exponent,
                synapses.delay_steps(dt_ms * 1e-3) - 1,
                wanted,
            )
        )
    currents_pA = {
        name: np.asarray(p.currents / pA, dtype=float) for name, p in populations.items()
    }
    mapped = assemble_network(mappings, currents_pA, quantized)
    check_fits(mapped.resources, chips)
    return mapped


def assemble_network(
    mappings: Mapping[str, list[NeuronMapping]],
    currents_pA: Mapping[str, np.ndarray],
    projections: Sequence[QuantizedProjection],
    inputs: Mapping[str, int] | None = None,
) -> MappedNetwork:
    """Build the fixed-point network of mapped populations and quantized projections.

    Parameters
    ----------
    mappings : mapping of str to list of NeuronMapping
        Per population, per neuron.
    currents_pA : mapping of str to numpy.ndarray
        Per population, each neuron's constant input (pA).
    projections : sequence of QuantizedProjection
        The synapses; a projection's ``pre`` may name an input.
    inputs : mapping of str to int, optional
        External spike inputs (axons from the host or another chip) by name and size; each
        becomes a `SpikeInput` without spikes, which a run fills.

    Returns
    -------
    MappedNetwork
        The network and its resource summary (not checked against a chip count).
    """
    inputs = dict(inputs or {})
    clash = sorted(set(inputs) & set(mappings))
    if clash:
        raise MappingError(f"the name {clash[0]!r} is both an input and a population")
    longest = max((int(p.delay.max(initial=0)) for p in projections), default=0)
    delay_bits = max(0, math.ceil(math.log2(longest + 2)))
    if delay_bits > DELAY_BITS.high:
        raise MappingError(
            f"a synaptic delay of {longest + 1} steps needs {delay_bits} delay bits; "
            f"allowed: at most {DELAY_BITS.high} ({2**DELAY_BITS.high - 1} steps)"
        )
    network = Network(delay_bits=delay_bits)
    main: dict[str, CompartmentGroup | SpikeInput] = {}
    for name, size in inputs.items():
        main[name] = SpikeInput(name, size)
        network.add(main[name])
    for name, population in mappings.items():
        main[name] = _main_group(name, population, currents_pA[name])
        network.add(main[name])
        add_ahp_compartments(network, main[name], population, currents_pA[name])
    for index, p in enumerate(projections):
        add_synapse_groups(
            network, f"projection{index}_{p.pre}_to_{p.post}", main[p.pre], main[p.post],
            p.pre_index, p.post_index, p.mantissa, p.exponent, p.delay,
        )  # fmt: skip
    # sources are the neurons, then the input axons (they take input axons on the cores too)
    sizes = [len(population) for population in mappings.values()]
    n_neurons = sum(sizes)
    offsets = dict(zip(mappings, np.cumsum([0, *sizes[:-1]]), strict=True))
    input_offsets = n_neurons + np.cumsum([0, *list(inputs.values())[:-1]], dtype=np.int64)
    offsets.update(zip(inputs, input_offsets[: len(inputs)], strict=True))
    pre = [p.pre_index + offsets[p.pre] for p in projections]
    post = [p.post_index + offsets[p.post] for p in projections]
    resources = resource_summary(
        n_neurons,
        np.array([len(m.aux) for population in mappings.values() for m in population]),
        np.concatenate(pre) if pre else np.zeros(0, dtype=np.int64),
        np.concatenate(post) if post else np.zeros(0, dtype=np.int64),
        delay_bits,
        n_sources=n_neurons + sum(inputs.values()),
    )
    return MappedNetwork(
        network, dict(mappings), dict(currents_pA), tuple(projections), resources, inputs
    )


def map_recurrent_population(
    neurons: Sequence[ParameterSet],
    currents: Quantity,
    synapses: RecurrentSynapses,
    *,
    dt: Quantity = 1 * ms,
    chips: int = 1,
    name: str = "population",
    decay_rounding: str = "nearest",
) -> MappedNetwork:
    """Map one population with recurrent synapses: `map_network` with one projection.

    Parameters
    ----------
    neurons : sequence of ParameterSet
        One neuron each (`MAPPABLE_MODELS`).
    currents : Quantity
        The constant input of each neuron.
    synapses : RecurrentSynapses
        Synapses among them.
    dt, chips, decay_rounding
        See `map_network`.
    name : str
        Name of the population (its main group).

    Returns
    -------
    MappedNetwork
        The network, per-neuron mappings, resources and weight rounding.
    """
    return map_network(
        {name: Population(neurons, currents)},
        [Projection(name, name, synapses)],
        dt=dt,
        chips=chips,
        decay_rounding=decay_rounding,
    )


def check_fits(resources: ResourceSummary, chips: int) -> None:
    """Refuse a network that needs more chips than ``chips``, saying what binds."""
    if resources.chips > chips:
        raise MappingError(
            f"the network needs {resources.cores} cores (bound by {resources.binding}), "
            f"{resources.chips} chips; allowed: {chips} chip(s) of {CORES_PER_CHIP} cores"
        )


def resource_summary(
    n_neurons: int,
    aux_per_neuron: int | np.ndarray,
    pre: np.ndarray,
    post: np.ndarray,
    delay_bits: int,
    weight_bits: int = 8,
    n_sources: int | None = None,
) -> ResourceSummary:
    """Cores and chips for neurons of ``1 + aux_per_neuron`` compartments and their synapses.

    ``aux_per_neuron`` is one count for all or one per neuron. Sources ``pre`` count the
    neurons first, then any external input axons (``n_sources`` in all; default: the neurons).

    Neurons are placed on cores in order, as many per core as the tightest limit allows:
    compartments (1024), synapse memory of the synapses onto them (128 KB, each entry
    ``weight_bits + delay_bits + 10`` bits; each neuron's AHP feedback synapses included) and
    distinct source neurons (4096 input axons).
    """
    aux = np.broadcast_to(np.asarray(aux_per_neuron, dtype=np.int64), (n_neurons,))
    compartments_each = 1 + int(aux.max(initial=0))  # placement: room for the largest neuron
    bits = weight_bits + delay_bits + COMPARTMENT_INDEX_BITS
    fan_in = np.bincount(post, minlength=n_neurons) + 2 * aux
    n_sources = n_neurons if n_sources is None else int(n_sources)
    fan_out = np.bincount(pre, minlength=n_sources)[:n_neurons]
    heaviest = int(np.argmax(fan_in)) if n_neurons else 0
    if n_neurons and fan_in[heaviest] * bits > SYNAPSE_MEMORY_BYTES * 8:
        raise MappingError(
            f"neuron {heaviest} has {int(fan_in[heaviest])} synapses onto it "
            f"({fan_in[heaviest] * bits / 8 / 1024:.0f} KB at {bits} bits each); allowed: what "
            f"one core's {SYNAPSE_MEMORY_BYTES // 1024} KB of synapse memory holds"
        )
    limits = {
        "compartments": COMPARTMENTS_PER_CORE // compartments_each,
        "synapse memory": int(SYNAPSE_MEMORY_BYTES * 8 // (bits * max(1, fan_in.max()))),
    }
    per_core = min(limits.values())
    binding = min(limits, key=limits.get)
    while True:
        core_of = np.arange(n_neurons) // per_core
        pairs = np.unique(core_of[post] * n_sources + pre) if post.size else np.zeros(0, int)
        axons = np.bincount(pairs // n_sources, minlength=core_of.max() + 1)
        if axons.max(initial=0) <= AXONS_PER_CORE or per_core == 1:
            break
        per_core = max(1, per_core * AXONS_PER_CORE // int(axons.max()))
        binding = "input axons"
    cores = math.ceil(n_neurons / per_core)
    return ResourceSummary(
        compartments=int(n_neurons + aux.sum()),
        synapses=int(post.size + aux.sum()),
        synapse_bits=bits,
        cores=cores,
        chips=math.ceil(cores / CORES_PER_CHIP),
        max_fan_in=int(np.bincount(post, minlength=n_neurons).max(initial=0)),
        max_fan_out=int(fan_out.max(initial=0)),
        max_input_axons=int(axons.max(initial=0)),
        binding=binding,
    )


def _main_group(name: str, mappings: list[NeuronMapping], currents_pA: np.ndarray):
    biases = [m.bias(np.array([c]) * pA) for m, c in zip(mappings, currents_pA, strict=True)]
    return CompartmentGroup(
        name,
        len(mappings),
        decay_u=4096,
        decay_v=[m.decay_v for m in mappings],
        vth_mant=[m.vth_mant for m in mappings],
        bias_mant=[int(b[0][0]) for b in biases],
        bias_exp=[int(b[1][0]) for b in biases],
        refract_delay=[m.refract_delay for m in mappings],
    )


def ahp_slot_biases(
    mappings: list[NeuronMapping], currents_pA: np.ndarray | None, slot: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bias mantissas and exponents of one AHP slot of a main group's neurons.

    Parameters
    ----------
    mappings : list of NeuronMapping
        Each main compartment's mapping.
    currents_pA : numpy.ndarray or None
        Each neuron's constant input (pA), for compartments that take a share of it
        (`AhpCompartment.bias_per_pA`); None: at zero input.
    slot : int
        The AHP slot (0 for ``<main>_ahp1``); neurons without it get bias 0.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``bias_mant`` and ``bias_exp``, one per neuron.
    """
    n = len(mappings)
    currents = np.zeros(n) if currents_pA is None else np.asarray(currents_pA, dtype=float)
    mant, exp = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for i, mapping in enumerate(mappings):
        if len(mapping.aux) > slot:
            m, e = mapping.aux[slot].bias_registers(currents[i : i + 1])
            mant[i], exp[i] = m[0], e[0]
    return mant, exp


def add_ahp_compartments(
    network: Network, main, mappings: list[NeuronMapping], currents_pA: np.ndarray | None = None
) -> None:
    """Add the AHP compartments of one main group's neurons and their feedback synapses.

    One group per AHP slot, named ``<main>_ahp<slot>``; a neuron with fewer AHP compartments
    leaves its slot idle (decay 4096, no bias, no synapse).

    Parameters
    ----------
    network : Network
        Where they go.
    main : CompartmentGroup
        The main compartments, one per mapping.
    mappings : list of NeuronMapping
        Each main compartment's mapping.
    currents_pA : numpy.ndarray, optional
        Each neuron's constant input (pA), for compartments that take a share of it; default
        zero (`ahp_slot_biases`).
    """
    n = len(mappings)
    for slot in range(max(len(m.aux) for m in mappings)):
        users = np.array([i for i, m in enumerate(mappings) if len(m.aux) > slot], dtype=int)
        decays = np.full(n, 4096)
        decays[users] = [mappings[i].aux[slot].decay for i in users]
        bias_mant, bias_exp = ahp_slot_biases(mappings, currents_pA, slot)
        aux = CompartmentGroup(
            f"{main.name}_ahp{slot + 1}", n, decay_u=4096, decay_v=decays, bias_mant=bias_mant,
            bias_exp=bias_exp,
        )  # fmt: skip
        network.add(aux)
        network.join(aux, main)
        for part in range(2):  # coarse and fine synapse
            with_part = [i for i in users if len(mappings[i].aux[slot].weights) > part]
            if not with_part:
                continue
            pairs = [mappings[i].aux[slot].weights[part] for i in with_part]
            index = np.array(with_part)
            add_synapse_groups(
                network, f"{aux.name}_feedback{part + 1}", main, aux, index, index,
                np.array([w for w, _ in pairs]), np.array([e for _, e in pairs]),
                np.zeros(index.size, dtype=int),
            )  # fmt: skip


def _quantize_inputs(wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per synapse the smallest exponent whose 8-bit mantissa holds it, and that mantissa."""
    magnitude = np.abs(wanted) / 64.0
    exponent = np.clip(
        np.ceil(np.log2(np.maximum(magnitude, 1e-300) / 255.0)), 0, WEIGHT_EXP.high
    ).astype(np.int64)
    mantissa = np.round(magnitude / 2.0**exponent)
    bump = (mantissa > 255) & (exponent < WEIGHT_EXP.high)  # rounded up past the range
    exponent = np.where(bump, exponent + 1, exponent)
    mantissa = np.round(magnitude / 2.0**exponent)
    if (mantissa > 255).any():
        index = int(np.flatnonzero(mantissa > 255)[0])
        raise MappingError(
            f"synapse {index}: input {wanted[index]:g} exceeds the largest weight "
            "(64 * 255 << 7) in its target's units"
        )
    return (np.sign(wanted) * mantissa).astype(np.int64), exponent


def add_synapse_groups(network, name, pre_group, post_group, pre, post, mantissa, exponent,
                        delays) -> None:  # fmt: skip
    """Add synapses, split by sign and exponent (one sign mode and exponent per group).

    Parameters
    ----------
    network : Network
        Where they go.
    name : str
        Prefix of the synapse groups' names.
    pre_group, post_group : CompartmentGroup
        Source and target groups.
    pre, post, mantissa, exponent, delays : numpy.ndarray
        Per synapse: indices, weight mantissa (signed), weight exponent and delay.
    """
    for sign, sign_mode in ((1, "excitatory"), (-1, "inhibitory")):
        for exp in np.unique(exponent):
            chosen = (np.sign(mantissa) == sign) & (exponent == exp)
            if not chosen.any():
                continue
            network.add(
                SynapseGroup(
                    f"{name}_{sign_mode}_e{int(exp)}",
                    pre_group,
                    post_group,
                    pre[chosen],
                    post[chosen],
                    mantissa[chosen],
                    sign_mode=sign_mode,
                    weight_exp=int(exp),
                    delays=delays[chosen],
                )
            )
