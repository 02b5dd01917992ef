"""Networks of several populations joined by projections, and their one-group form.

A `Population` is neurons of one catalogue model (each with its own parameters) with a constant
input current each; a `Projection` is `RecurrentSynapses` from one population onto another (or
itself), indices counted within each. Brian2 simulates such a network as one ``NeuronGroup``
(`flatten`: populations laid end to end, projections renumbered), which keeps the step's
order, and so the spike for spike match with the Loihi mapping, of `RecurrentSynapses`; the
chip gets one group per population (`hardware_mapping.network_mapping.map_network`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, mV, pA

from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.quantities import parse_quantity
from ahp_models.synapses import RecurrentSynapses

__all__ = ["FlatNetwork", "Population", "Projection", "flatten"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DERIVED = re.compile(r"_ahp[0-9]+$")


@dataclass(frozen=True)
class Population:
    """Neurons of one model with a constant input current each.

    Attributes
    ----------
    neurons : sequence of ParameterSet
        One parameter set per neuron, all of one model.
    currents : Quantity
        The constant input of each neuron.
    """

    neurons: Sequence[ParameterSet]
    currents: Quantity

    def __post_init__(self) -> None:
        if not self.neurons:
            raise ParameterError("Population: no neurons; allowed: at least one")
        models = sorted({p.model_name for p in self.neurons})
        if len(models) > 1:
            raise ParameterError(f"Population: models {models}; allowed: one model")
        currents = np.asarray(parse_quantity(self.currents, "pA", field="currents") / pA)
        if currents.size != len(self.neurons):
            raise ParameterError(
                f"Population: {currents.size} currents for {len(self.neurons)} neurons; "
                "allowed: one current per neuron"
            )
        if not np.isfinite(currents).all():
            index = int(np.flatnonzero(~np.isfinite(currents.reshape(-1)))[0])
            raise ParameterError(
                f"Population: currents[{index}] = {currents.reshape(-1)[index]} pA; allowed: a "
                "finite current"
            )
        object.__setattr__(self, "neurons", tuple(self.neurons))
        object.__setattr__(self, "currents", currents.reshape(-1) * pA)

    @property
    def size(self) -> int:
        """Number of neurons."""
        return len(self.neurons)

    @property
    def model_name(self) -> str:
        """The population's model."""
        return self.neurons[0].model_name


@dataclass(frozen=True)
class Projection:
    """Synapses from population ``pre`` onto population ``post``.

    Attributes
    ----------
    pre, post : str
        Population names.
    synapses : RecurrentSynapses
        ``pre`` indices within the source population, ``post`` within the target.
    """

    pre: str
    post: str
    synapses: RecurrentSynapses


@dataclass(frozen=True)
class FlatNetwork:
    """A network as one population: what `ahp_models.simulate` runs.

    Attributes
    ----------
    params : ParameterSet
        Every neuron, population after population.
    currents : Quantity
        Their constant inputs.
    synapses : RecurrentSynapses
        Every projection, renumbered to the flat indices.
    ranges : dict of str to slice
        Each population's neurons in the flat order.
    """

    params: ParameterSet
    currents: Quantity
    synapses: RecurrentSynapses
    ranges: dict[str, slice]


def check_network(
    populations: Mapping[str, Population], projections: Sequence[Projection], dt_s: float
) -> None:
    """Check names, projection endpoints, indices and delays (on the step ``dt_s``)."""
    if not populations:
        raise ParameterError("network: no populations; allowed: at least one")
    for name in populations:
        if not isinstance(name, str) or not _NAME.match(name) or _DERIVED.search(name):
            raise ParameterError(
                f"network: population name {name!r}; allowed: a letter, then letters, digits, "
                "_, not ending in _ahp<number> (the names of AHP compartment groups)"
            )
    for index, projection in enumerate(projections):
        for end in ("pre", "post"):
            name = getattr(projection, end)
            if name not in populations:
                raise ParameterError(
                    f"projections[{index}].{end} = {name!r}; allowed: one of "
                    f"{', '.join(populations)}"
                )
        synapses = projection.synapses
        for end in ("pre", "post"):
            indices = getattr(synapses, end)
            size = populations[getattr(projection, end)].size
            if indices.size and (indices.min() < 0 or indices.max() >= size):
                bad = int(indices.max() if indices.max() >= size else indices.min())
                raise ParameterError(
                    f"projections[{index}].synapses.{end} holds {bad}; allowed: 0..{size - 1} "
                    f"(population {getattr(projection, end)!r})"
                )
        synapses.delay_steps(dt_s)


def flatten(
    populations: Mapping[str, Population],
    projections: Sequence[Projection] = (),
    *,
    dt: Quantity = 0.1 * ms,
) -> FlatNetwork:
    """Lay the populations end to end as one population of one model.

    Parameters
    ----------
    populations : mapping of str to Population
        Name -> population; all of one model (Brian2 runs one ``NeuronGroup``).
    projections : sequence of Projection
        Synapses between (or within) them.
    dt : Quantity
        The simulation step the delays must be whole multiples of.

    Returns
    -------
    FlatNetwork
        The parameters, currents and synapses for `ahp_models.simulate`.
    """
    check_network(populations, projections, float(dt / ms) * 1e-3)
    models = sorted({p.model_name for p in populations.values()})
    if len(models) > 1:
        raise ParameterError(
            f"flatten: populations of models {models}; allowed: one model (one Brian2 group)"
        )
    ranges, start = {}, 0
    for name, population in populations.items():
        ranges[name] = slice(start, start + population.size)
        start += population.size
    neurons = [p for population in populations.values() for p in population.neurons]
    params = type(neurons[0]).concatenate(neurons)
    currents = np.concatenate([np.asarray(p.currents / pA) for p in populations.values()]) * pA
    parts = [
        (
            pr.synapses.pre + ranges[pr.pre].start,
            pr.synapses.post + ranges[pr.post].start,
            pr.synapses.weight_mV(),
            np.asarray(pr.synapses.delay / ms, dtype=float),
        )
        for pr in projections
    ]
    pre, post, weight_mV, delay_ms = (
        (np.concatenate(column) for column in zip(*parts, strict=True))
        if parts
        else (np.zeros(0, int), np.zeros(0, int), np.zeros(0), np.zeros(0))
    )
    synapses = RecurrentSynapses(pre, post, weight_mV * mV, delay_ms * ms if parts else 1 * ms)
    return FlatNetwork(params, currents, synapses, ranges)
