"""The paper's two-compartment AHP neuron on Loihi (Rao et al. 2022, lsnn.py).

A main compartment integrates the input and spikes; an auxiliary compartment, its child, holds
the AHP. Each main spike reaches the auxiliary compartment one step later through an inhibitory
synapse; the auxiliary voltage decays with ``decay_ahp`` and is pushed into the main compartment
every step (join ADD), so in integers::

    v_aux(t)  = D(v_aux(t-1), decay_ahp) - (weight_aux << (6 + weight_exp)) s(t-1)
    v_main(t) = D(v_main(t-1), decay_v) + u_main(t) + bias + v_aux(t),   spike if v_main > vth

The AHP decays by (4096 - d)/4096 per step: an effective time constant of
-1 / ln(1 - d/4096) steps, 4096/d to first order (d = 5 gives 819 steps for the paper's 700).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware_mapping.loihi.network import CompartmentGroup, Network, SynapseGroup

__all__ = ["AhpPopulation", "add_ahp_population", "ahp_time_constant_steps"]

# lsnn.py gives the auxiliary compartment this threshold mantissa; it never spikes anyway.
AUX_VTH_MANT = 10000


@dataclass(frozen=True)
class AhpPopulation:
    """The groups of a two-compartment AHP population.

    Attributes
    ----------
    main : CompartmentGroup
        The spiking compartments (parents); connect inputs and outputs here.
    aux : CompartmentGroup
        The AHP compartments (children).
    feedback : SynapseGroup
        The one-to-one inhibitory synapses from main to aux.
    """

    main: CompartmentGroup
    aux: CompartmentGroup
    feedback: SynapseGroup


def add_ahp_population(
    network: Network,
    name: str,
    n: int,
    *,
    decay_v: object,
    decay_ahp: object,
    vth_mant: object,
    weight_aux: int,
    weight_exp: int = 0,
    bias_mant: object = 0,
    bias_exp: object = 0,
    decay_u: object = 4096,
    refract_delay: object = 1,
) -> AhpPopulation:
    """Add ``n`` two-compartment AHP neurons to a network.

    Parameters
    ----------
    network : Network
        Where the groups go (as ``name`` and ``name + "_aux"``).
    name : str
        Name of the main group.
    n : int
        Number of neurons.
    decay_v, decay_ahp : int or array_like
        Effective voltage decays of the main and the auxiliary compartment (0..4096).
    vth_mant : int or array_like
        Threshold mantissa of the main compartment.
    weight_aux : int
        AHP increment per spike as a positive weight mantissa (0..255); the synapse is
        inhibitory (the paper's ``-weightAux``).
    weight_exp : int
        Weight exponent of the feedback synapse (-8..7).
    bias_mant, bias_exp : int or array_like
        Bias of the main compartment.
    decay_u : int or array_like
        Current decay of the main compartment; the paper uses 4096 (input current passes in
        one step), which makes both join conventions of `Network` agree.
    refract_delay : int or array_like
        Refractory delay of the main compartment (the paper has none: 1).

    Returns
    -------
    AhpPopulation
        The main and auxiliary groups and their feedback synapses.
    """
    main = CompartmentGroup(
        name,
        n,
        decay_u=decay_u,
        decay_v=decay_v,
        vth_mant=vth_mant,
        bias_mant=bias_mant,
        bias_exp=bias_exp,
        refract_delay=refract_delay,
    )
    aux = CompartmentGroup(f"{name}_aux", n, decay_u=4096, decay_v=decay_ahp, vth_mant=AUX_VTH_MANT)
    index = np.arange(n)
    feedback = SynapseGroup(
        f"{name}_ahp",
        main,
        aux,
        index,
        index,
        np.full(n, -int(weight_aux)),
        sign_mode="inhibitory",
        weight_exp=weight_exp,
    )
    network.add(main, aux, feedback)
    network.join(aux, main)
    return AhpPopulation(main=main, aux=aux, feedback=feedback)


def ahp_time_constant_steps(decay: object) -> np.ndarray:
    """Return the e-folding time, in steps, of a decay register: ``-1 / ln(1 - d/4096)``."""
    d = np.asarray(decay, dtype=float)
    with np.errstate(divide="ignore"):
        return -1.0 / np.log1p(-d / 4096.0)
