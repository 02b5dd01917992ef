"""A neuron mapped to Loihi 1 compartments: its registers, and how it runs in a network.

`NeuronMapping` is what the mapper (`hardware_mapping.quantization`) produces, what parameter
files hold and what the validation runs: one main compartment (membrane, threshold, bias from
the input current) and one auxiliary compartment per spike-triggered term, joined (ADD) into
the main one and fed by the main compartment's spikes through one or two synapses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Quantity, Unit, pA

from ahp_models.catalogue import MODELS
from ahp_models.errors import UserError
from ahp_models.parameters import ParameterSet
from ahp_models.quantities import parse_quantity
from hardware_mapping.loihi.arithmetic import scale_by_exponent
from hardware_mapping.loihi.network import CompartmentGroup, Network, SynapseGroup
from hardware_mapping.loihi.registers import BIAS_EXP, BIAS_MANT

__all__ = [
    "MAX_BIAS",
    "REPORT_COLUMNS",
    "AhpCompartment",
    "MappedPopulation",
    "MappingError",
    "NeuronMapping",
    "in_unit",
    "mean_share_gain",
    "quantization_report",
    "quantize_bias",
]

MAX_BIAS = BIAS_MANT.high << BIAS_EXP.high


#: Hardware time steps a mapping may use (ms of model time): a 1 s protocol takes between 10
#: and 100 000 steps. Parameter files state the same range.
TIME_STEP_RANGE_MS = (0.01, 100.0)


class MappingError(UserError):
    """A neuron that cannot be mapped, with the field, value and what is allowed."""


@dataclass(frozen=True)
class AhpCompartment:
    """One auxiliary compartment: an AHP current (or ALIF's threshold) on the chip.

    Attributes
    ----------
    decay : int
        Effective voltage decay of the compartment (0..4096).
    weights : tuple of (int, int)
        One main -> aux synapse per pair (mantissa -255..255, negative hyperpolarizes; weight
        exponent 0..7): a coarse one and, where it leaves a remainder, a fine one with
        exponent 0. One spike adds ``sum(64 * w * 2**e)``.
    bias : int
        Bias mantissa (exponent 0): -1, 0 or +1, against the decay's truncation (see
        `map_neuron`).
    term : str
        The spike-triggered term it realizes (its report name), where known.
    bias_per_pA : float
        Bias (integer voltage units per step, before rounding) per pA of constant input: the
        share of the input the compartment takes (``lif_ahp_input``; negative pulls the main
        compartment down). 0 for a compartment driven by the spikes alone.
    """

    decay: int
    weights: tuple[tuple[int, int], ...]
    bias: int = 0
    term: str = field(default="", compare=False)
    bias_per_pA: float = 0.0

    def bias_registers(self, current_pA: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bias mantissas and exponents of the compartment for constant input currents (pA).

        Parameters
        ----------
        current_pA : numpy.ndarray
            Currents (pA).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``bias_mant`` and ``bias_exp``: ``bias + bias_per_pA * current``, rounded.
        """
        current_pA = np.atleast_1d(np.asarray(current_pA, dtype=float))
        return quantize_bias(self.bias + self.bias_per_pA * current_pA)

    @property
    def input_per_spike(self) -> int:
        """What one main spike adds to the compartment (integer voltage units)."""
        return sum(64 * int(scale_by_exponent(w, e)) for w, e in self.weights)


@dataclass(frozen=True)
class MappedPopulation:
    """The groups of neurons added by `NeuronMapping.add_to`."""

    main: CompartmentGroup
    aux: tuple[CompartmentGroup, ...]
    feedback: tuple[SynapseGroup, ...]


@dataclass(frozen=True)
class NeuronMapping:
    """Loihi registers for one float neuron, and how far they are from it.

    Attributes
    ----------
    model : str
        The source model (`MAPPABLE_MODELS`).
    dt_ms : float
        The hardware time step.
    scale_per_mV : float
        Integer voltage units per mV of the float model (per unit of ``v`` for ``loihi_ahp``).
    decay_v, vth_mant, refract_delay : int
        Registers of the main compartment (current decay 4096: inputs pass in one step).
    v_rest : int
        The resting voltage (zero input), the initial state of a run.
    drive_offset, drive_per_pA : float
        Bias per step at zero current and per pA of constant input, before rounding, matched
        in steady state (DC) to the float model.
    float_keep_v : float
        The float model's voltage factor per step (the register's is ``1 - decay_v/4096``).
    current_range_pA : tuple of float
        The constant currents the mapping was scaled for; `bias` refuses others.
    aux : tuple of AhpCompartment
        One per AHP current.
    report : pandas.DataFrame
        Every quantization: ``quantity``, ``unit``, ``requested``, ``realized``,
        ``relative_error`` and ``note``.
    source : dict
        The float model's parameters with units (`ParameterSet.to_dict`).
    synaptic_input : (float, float)
        The largest excitatory and inhibitory synaptic input per step (integer units) the
        registers were scaled to hold, for a neuron in a network.
    share_horizon_steps : float
        Where AHP compartments take a share of the input: the horizon (steps; the mapping's
        charge horizon) over which the main bias matches their pull on average (`drive`).
    """

    model: str
    dt_ms: float
    scale_per_mV: float
    decay_v: int
    vth_mant: int
    refract_delay: int
    v_rest: int
    drive_offset: float
    drive_per_pA: float
    float_keep_v: float
    current_range_pA: tuple[float, float]
    aux: tuple[AhpCompartment, ...]
    report: pd.DataFrame = field(compare=False)
    source: dict[str, Any] = field(compare=False)
    synaptic_input: tuple[float, float] = (0.0, 0.0)
    share_horizon_steps: float = 1000.0

    def source_parameters(self, where: str | None = None) -> ParameterSet:
        """The float neuron this mapping came from, read back from ``source`` with its units.

        Parameters
        ----------
        where : str, optional
            Where ``source`` came from (a file and neuron), for error messages.

        Returns
        -------
        ParameterSet
            The source model's parameters.
        """
        params_class = MODELS[self.source["model"]].params_class
        return params_class.from_dict(
            {"model": self.source["model"], "parameters": self.source["parameters"]}, source=where
        )

    def bias(self, current: Quantity | float) -> tuple[np.ndarray, np.ndarray]:
        """Return bias mantissas and exponents for constant input currents.

        Parameters
        ----------
        current : Quantity
            One current or an array (within ``current_range_pA``).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``bias_mant`` (|.| <= 4095) and ``bias_exp`` (0..7), the most precise pair for each.
        """
        return self.bias_registers(in_unit(current, pA, "current"))

    def bias_registers(self, current_pA: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`bias` for currents given as plain pA values (the inner loops' form).

        Parameters
        ----------
        current_pA : numpy.ndarray
            Currents (pA) within ``current_range_pA``.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``bias_mant`` and ``bias_exp``.
        """
        current_pA = np.atleast_1d(np.asarray(current_pA, dtype=float))
        low, high = self.current_range_pA
        outside = (current_pA < low - 1e-9) | (current_pA > high + 1e-9)
        if outside.any():
            value = current_pA[np.flatnonzero(outside)[0]]
            raise MappingError(
                f"NeuronMapping.bias: current = {value:g} pA is outside the range this mapping "
                f"was scaled for, {low:g}..{high:g} pA; map again with current_range covering it"
            )
        return quantize_bias(self.drive_pA(current_pA))

    def aux_bias_registers(self, current_pA: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each auxiliary compartment's bias registers for constant currents (pA), in the order
        of `aux` (`AhpCompartment.bias_registers`; the currents are checked as `bias` does)."""
        self.bias_registers(current_pA)
        return [compartment.bias_registers(current_pA) for compartment in self.aux]

    @property
    def takes_input_share(self) -> bool:
        """Whether an auxiliary compartment takes a share of the input (``lif_ahp_input``)."""
        return any(compartment.bias_per_pA != 0 for compartment in self.aux)

    def set_input_share(self, simulator: Any, name: str, current: Quantity) -> None:
        """Set the auxiliary compartments' share of a new input in a running simulator
        (``lif_ahp_input``; nothing for other models); the main bias is `bias`'s.

        The float neuron's AHP current takes the input of the step before (its state at the
        start of a step drives the membrane), while a child compartment's bias acts in its own
        step: switched with the main bias, the share leads by one step, which near the tonic
        threshold moves spikes by milliseconds. Set the main bias, run one step, then call
        this (`hardware_mapping.validation` does).

        Parameters
        ----------
        simulator : hardware_mapping.loihi.simulator.Simulator
            The simulator of the network `add_to` filled.
        name : str
            The population's main group.
        current : Quantity
            One current per neuron.
        """
        if not self.takes_input_share:
            return
        current_pA = np.atleast_1d(in_unit(current, pA, "current"))
        for k, registers in enumerate(self.aux_bias_registers(current_pA), start=1):
            simulator.set_bias(f"{name}_ahp{k}", *registers)

    def drive(self, current: Quantity) -> np.ndarray:
        """The bias (integer voltage units per step, before rounding) for constant currents.

        Below threshold the quantized neuron gets the float one's steady state. Above, where
        the neuron fires, the bias is chosen so that the climb from reset to threshold takes
        as long with the quantized decay as with the float one (first passage at
        ``n* = ln(1 - vth / v_inf) / ln(m)`` steps): the membrane time constant's rounding
        then shifts no interspike interval, where a steady-state match would shift each by the
        rounding's relative error.
        """
        return self.drive_pA(in_unit(current, pA, "current"))

    def drive_pA(self, current_pA: np.ndarray) -> np.ndarray:
        """`drive` for currents given as plain pA values.

        Where AHP compartments take a share of the input (`AhpCompartment.bias_per_pA`), the
        main bias is set against their pull as it acts over `share_horizon_steps` after the
        input switches: their mean pull (a share of tau_ahp = 2 s reaches a fifth of its
        steady state within 1 s, one of 200 ms most of it). Their biases are whole units, each
        amplified ``4096 / decay`` times in steady state: the main bias takes up the difference
        their rounding makes, and the climb is matched at the drive less that mean pull.
        """
        keep = (4096 - self.decay_v) / 4096
        current_pA = np.asarray(current_pA, dtype=float)
        wanted, pull = self._mean_pulls(current_pA)
        dc_drive = self.drive_offset + self.drive_per_pA * current_pA + pull - wanted
        vth = 64.0 * self.vth_mant
        v_inf = (dc_drive - pull) / (1.0 - keep)
        fires = v_inf > vth
        if not fires.any() or keep in (0.0, 1.0) or self.float_keep_v in (0.0, 1.0):
            return dc_drive
        with np.errstate(divide="ignore", invalid="ignore"):
            passage = np.log1p(-vth / np.where(fires, v_inf, np.inf)) / math.log(self.float_keep_v)
            matched = vth / -np.expm1(passage * math.log(keep)) * (1.0 - keep)
        return np.where(fires, matched + pull, dc_drive)

    def _mean_pulls(self, current_pA: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the AHP compartments' shares of constant inputs draw from the main compartment
        per step on average over `share_horizon_steps` after the input switches, as wanted
        (unrounded) and as the rounded bias registers give it (integer units; 0 without)."""
        wanted, realized = np.zeros(np.shape(current_pA)), np.zeros(np.shape(current_pA))
        horizon = self.share_horizon_steps
        for compartment in self.aux:
            if not (compartment.bias_per_pA and compartment.decay):
                continue
            gain = mean_share_gain((4096 - compartment.decay) / 4096, horizon)
            mant, exp = compartment.bias_registers(current_pA)
            share = mant * 2.0**exp - compartment.bias  # less the truncation compensation
            wanted = wanted - gain * compartment.bias_per_pA * current_pA
            realized = realized - gain * share.reshape(realized.shape)
        return wanted, realized

    def add_to(self, network: Network, name: str, current: Quantity) -> MappedPopulation:
        """Add one neuron per constant input current to a fixed-point network.

        Parameters
        ----------
        network : Network
            Where the groups go: ``name`` (main) and ``name_ahp1``... (auxiliary).
        name : str
            Name of the main group.
        current : Quantity
            The constant input of each neuron (its length is the population size).

        Returns
        -------
        MappedPopulation
            The groups and the feedback synapses.
        """
        current_pA = np.atleast_1d(in_unit(current, pA, "current"))
        bias_mant, bias_exp = self.bias_registers(current_pA)
        aux_biases = self.aux_bias_registers(current_pA)
        n = bias_mant.size
        main = CompartmentGroup(
            name,
            n,
            decay_u=4096,
            decay_v=self.decay_v,
            vth_mant=self.vth_mant,
            bias_mant=bias_mant,
            bias_exp=bias_exp,
            refract_delay=self.refract_delay,
        )
        network.add(main)
        index = np.arange(n)
        groups, synapses = [], []
        for k, (compartment, (aux_mant, aux_exp)) in enumerate(
            zip(self.aux, aux_biases, strict=True), start=1
        ):
            aux = CompartmentGroup(
                f"{name}_ahp{k}", n, decay_u=4096, decay_v=compartment.decay,
                bias_mant=aux_mant, bias_exp=aux_exp,
            )  # fmt: skip
            network.add(aux)
            for part, (weight, weight_exp) in enumerate(compartment.weights, start=1):
                feedback = SynapseGroup(
                    f"{name}_ahp{k}_feedback{part}",
                    main,
                    aux,
                    index,
                    index,
                    np.full(n, weight),
                    sign_mode="inhibitory" if weight < 0 else "excitatory",
                    weight_exp=weight_exp,
                )
                network.add(feedback)
                synapses.append(feedback)
            network.join(aux, main)
            groups.append(aux)
        return MappedPopulation(main=main, aux=tuple(groups), feedback=tuple(synapses))


REPORT_COLUMNS = ("quantity", "unit", "requested", "realized", "note")


def quantization_report(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The report table of `REPORT_COLUMNS` rows, with ``relative_error`` after ``realized``.

    Parameters
    ----------
    rows : list of dict
        One per quantity (``requested`` and ``realized`` may be None: undefined).

    Returns
    -------
    pandas.DataFrame
        ``relative_error`` is ``realized / requested - 1``, NaN where nothing was requested.
    """

    def numbers(column: str) -> np.ndarray:
        return np.array([np.nan if row[column] is None else row[column] for row in rows], float)

    # built from columns: a parameter file's reader makes one per neuron, and this is 30x
    # faster than a frame of row dicts cast afterwards
    requested, realized = numbers("requested"), numbers("realized")
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(requested != 0, (realized - requested) / requested, np.nan)
    return pd.DataFrame(
        {
            "quantity": pd.Series([row["quantity"] for row in rows], dtype=object),
            "unit": pd.Series([row["unit"] for row in rows], dtype=object),
            "requested": requested,
            "realized": realized,
            "relative_error": relative,
            "note": pd.Series([row["note"] for row in rows], dtype=object),
        }
    )


def mean_share_gain(keep: float, horizon_steps: float) -> float:
    """What a bias of 1 held from a switch adds to a compartment of decay factor ``keep`` on
    average over the ``horizon_steps`` after it: ``(1 - keep^t) / (1 - keep)`` averaged over
    t = 1 .. horizon (its steady state ``1 / (1 - keep)`` for a horizon far beyond its decay).

    Parameters
    ----------
    keep : float
        The compartment's decay factor per step, in [0, 1).
    horizon_steps : float
        The horizon (steps, > 0).

    Returns
    -------
    float
        The mean gain.
    """
    mean_rise = 1.0 - keep * (1.0 - keep**horizon_steps) / ((1.0 - keep) * horizon_steps)
    return mean_rise / (1.0 - keep)


def quantize_bias(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round bias values to ``mant << exp`` with the smallest exponent that holds them.

    Parameters
    ----------
    bias : numpy.ndarray
        Wanted biases (integer voltage units per step).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Mantissas (-4095..4095) and exponents (0..7).
    """
    bias = np.asarray(bias, dtype=float)
    exponent = np.zeros(bias.shape, dtype=np.int64)
    for _ in range(BIAS_EXP.high):
        too_big = np.abs(np.round(bias / 2.0**exponent)) > BIAS_MANT.high
        exponent = np.where(too_big, exponent + 1, exponent)
    rounded = np.round(bias / 2.0**exponent)
    outside = ~(np.abs(rounded) <= BIAS_MANT.high)  # checked before the cast: NaN, 1e300 too
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise MappingError(
            f"bias = {bias.ravel()[index]:g} exceeds the bias register ({MAX_BIAS} = 4095 << 7)"
        )
    return rounded.astype(np.int64), exponent


def in_unit(value: Any, unit: Unit, name: str) -> np.ndarray:
    """A quantity (or text such as "20 ms") as plain floats in ``unit``; a bare number is
    refused by name (the toolkit's unit reading)."""
    return np.asarray(parse_quantity(value, unit, field=name) / unit, dtype=float)
