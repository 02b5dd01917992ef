"""Map a float AHP neuron of the catalogue onto Loihi 1 compartments (DOMAIN.md §2, §4).

The float models, stepped at ``dt`` by their exact closed form (`ahp_models.integration`), are
already linear recursions of the Loihi shape. With ``x = v - V_reset`` (Loihi resets to 0)::

    x(t)   = m x(t-1) + (1 - m) (E_L - V_reset + R I(t)) - sum_k c_k I_k(t-1)
    I_k(t) = a_k I_k(t-1) + b_k s(t)                    m = e^(-dt/tau_m), a_k = e^(-dt/tau_k)

and on the chip, one auxiliary compartment per AHP current joined (ADD) into the main one::

    v_aux_k(t) = D(v_aux_k(t-1), d_k) - W_k s(t-1)      (main -> aux synapse, arrives at t)
    v(t)       = D(v(t-1), d_v) + bias + sum_k v_aux_k(t)

so that ``v = S x`` and ``v_aux_k(t) = -S c_k I_k(t-1)`` for a scale S (integer units per mV).
The mapper picks the decay registers: for the membrane the one nearest ``m`` (or the paper's
``int(4096 dt / tau)``); for each AHP current two neighbouring registers whose mixture decays at
exactly ``a_k`` (`_decay_pair`), or one. Then S, as large as the bias register, the AHP synapses
and the 24-bit voltage range allow over the stated current range (the headroom from a
simulation of the mapped neuron), with the threshold an exact multiple of 64
(``S = 64 vth_mant / (V_th - V_reset)``). Because the decays are quantized, the bias gives the
float neuron's steady state below threshold and its reset-to-threshold time above it
(`NeuronMapping.drive`), and each AHP weight (a coarse and a fine synapse) delivers the float
current's charge within a horizon. Every rounding is reported (`NeuronMapping.report`).

Models: ``lif_ahp``, ``lif_multi_ahp`` (exact form, above), ``loihi_ahp`` (the paper's Euler
form, ``m = 1 - dt/tau``) and ``alif`` (``w = v - theta`` follows the same recursion with
``W = S delta_theta (a - m)``; exact below threshold, but Loihi resets ``w`` to 0 where ALIF
resets it to ``-theta``, so it is an approximation, as in the paper).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from brian2 import Quantity, Unit, ms, pA, second

from ahp_models.catalogue import MODELS
from ahp_models.integration import coupling_factor, decay_factor
from ahp_models.parameters import ParameterSet
from ahp_models.quantities import parse_quantity
from hardware_mapping.loihi.network import CompartmentGroup, Network, SynapseGroup
from hardware_mapping.loihi.registers import (
    BIAS_EXP,
    BIAS_MANT,
    REFRACT_DELAY,
    VTH_MANT,
    WEIGHT_EXP,
)

__all__ = [
    "DECAY_ROUNDINGS",
    "MAPPABLE_MODELS",
    "AhpCompartment",
    "MappedPopulation",
    "MappingError",
    "NeuronMapping",
    "map_neuron",
]

MAPPABLE_MODELS = ("lif_ahp", "lif_multi_ahp", "loihi_ahp", "alif")
DECAY_ROUNDINGS = ("nearest", "paper")
# The threshold register's limit; the voltage range (VOLTAGE_BUDGET) binds first in practice.
MAX_VTH_MANT = VTH_MANT.high
# Below this the threshold spans fewer than 4096 voltage units (64 vth_mant): truncation in
# the decays would then move the voltage by more than 1e-4 of the threshold per step.
MIN_VTH_MANT = 2**6
#: The threshold mantissa may give up this much of its largest value for AHP increments that
#: are whole weight steps (`_weight_friendly_threshold`).
FRIENDLY_RANGE = 0.9
MAX_BIAS = BIAS_MANT.high << BIAS_EXP.high
# The largest |v| (or |v_aux|) the current range produces over the horizon is kept within
# 2**22: half the 24-bit range, for inputs between the range's ends and longer runs.
VOLTAGE_BUDGET = 2**22
# The headroom simulation covers at most this many steps of input (and as many after it).
MAX_EXTENT_STEPS = 20_000
WEIGHT_MANT_MAX = 255
MAX_INPUT = 64 * WEIGHT_MANT_MAX << WEIGHT_EXP.high  # the largest single-synapse input


class MappingError(ValueError):
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
    """

    decay: int
    weights: tuple[tuple[int, int], ...]
    bias: int = 0

    @property
    def input_per_spike(self) -> int:
        """What one main spike adds to the compartment (integer voltage units)."""
        return sum(64 * w * 2**e for w, e in self.weights)


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
        current_pA = np.atleast_1d(np.asarray(_in_unit(current, pA, "current"), dtype=float))
        low, high = self.current_range_pA
        outside = (current_pA < low - 1e-9) | (current_pA > high + 1e-9)
        if outside.any():
            value = current_pA[np.flatnonzero(outside)[0]]
            raise MappingError(
                f"NeuronMapping.bias: current = {value:g} pA is outside the range this mapping "
                f"was scaled for, {low:g}..{high:g} pA; map again with current_range covering it"
            )
        return quantize_bias(self.drive(current_pA * pA))

    def drive(self, current: Quantity) -> np.ndarray:
        """The bias (integer voltage units per step, before rounding) for constant currents.

        Below threshold the quantized neuron gets the float one's steady state. Above, where
        the neuron fires, the bias is chosen so that the climb from reset to threshold takes
        as long with the quantized decay as with the float one (first passage at
        ``n* = ln(1 - vth / v_inf) / ln(m)`` steps): the membrane time constant's rounding
        then shifts no interspike interval, where a steady-state match would shift each by the
        rounding's relative error.
        """
        keep = (4096 - self.decay_v) / 4096
        current_pA = np.asarray(_in_unit(current, pA, "current"), dtype=float)
        dc_drive = self.drive_offset + self.drive_per_pA * current_pA
        vth = 64.0 * self.vth_mant
        v_inf = dc_drive / (1.0 - keep)
        fires = v_inf > vth
        if not fires.any() or keep in (0.0, 1.0) or self.float_keep_v in (0.0, 1.0):
            return dc_drive
        with np.errstate(divide="ignore", invalid="ignore"):
            passage = np.log1p(-vth / np.where(fires, v_inf, np.inf)) / math.log(self.float_keep_v)
            matched = vth / -np.expm1(passage * math.log(keep)) * (1.0 - keep)
        return np.where(fires, matched, dc_drive)

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
        bias_mant, bias_exp = self.bias(current)
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
        for k, compartment in enumerate(self.aux, start=1):
            aux = CompartmentGroup(
                f"{name}_ahp{k}", n, decay_u=4096, decay_v=compartment.decay,
                bias_mant=compartment.bias,
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


def map_neuron(
    params: ParameterSet,
    *,
    dt: Quantity = 1 * ms,
    current_range: Sequence[Quantity] = (0 * pA, 500 * pA),
    decay_rounding: str = "nearest",
    charge_horizon: Quantity = 1 * second,
    split_decays: bool | None = None,
) -> NeuronMapping:
    """Map one float neuron to Loihi 1 registers at hardware step ``dt``.

    Parameters
    ----------
    params : ParameterSet
        One neuron of a model in `MAPPABLE_MODELS`.
    dt : Quantity
        The hardware time step (1 ms on the paper's chip).
    current_range : (Quantity, Quantity)
        The constant input currents the neuron must represent (bias); the scale is chosen so
        that the largest fits the bias register with no overflow.
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

    Returns
    -------
    NeuronMapping
        The registers and the quantization report.
    """
    if params.model_name not in MAPPABLE_MODELS:
        raise MappingError(
            f"map_neuron: model {params.model_name!r} has no Loihi form here; allowed: "
            f"{', '.join(MAPPABLE_MODELS)}"
        )
    if params.n_neurons not in (None, 1):
        raise MappingError(
            f"map_neuron: the parameters hold {params.n_neurons} neurons; map them one at a time"
        )
    if decay_rounding not in DECAY_ROUNDINGS:
        raise MappingError(
            f"map_neuron: decay_rounding = {decay_rounding!r}; allowed: "
            + ", ".join(DECAY_ROUNDINGS)
        )
    split = decay_rounding == "nearest" if split_decays is None else bool(split_decays)
    dt_ms = float(_in_unit(dt, ms, "dt"))
    horizon_ms = float(_in_unit(charge_horizon, ms, "charge_horizon"))
    if not dt_ms > 0:
        raise MappingError(f"map_neuron: dt = {dt_ms:g} ms; allowed: > 0")
    low_pA, high_pA = (float(_in_unit(c, pA, "current_range")) for c in current_range)
    if not high_pA >= low_pA:
        raise MappingError(
            f"map_neuron: current_range = ({low_pA:g}, {high_pA:g}) pA; allowed: low <= high"
        )
    form = _linear_form(params, dt_ms)
    rows: list[dict[str, Any]] = []

    decay_v, keep_v = _decay_register(form.keep_v, form.tau_v_ms, dt_ms, decay_rounding)
    rows.append(
        _time_constant_row(
            "tau_m", form.tau_v_ms, form.keep_v, [(keep_v, 1.0)], dt_ms, [(decay_v, 1.0)]
        )
    )
    # DC-matched drive: bias / (1 - keep_v) is the float steady state (in mV above reset)
    dc_v = (1.0 - keep_v) / (1.0 - form.keep_v)
    offset_mV = form.drive_offset_mV * dc_v
    per_pA_mV = form.drive_per_pA_mV * dc_v
    # each AHP current: one auxiliary compartment per decay term, with its share of the current
    terms: list[tuple[_Current, int, float]] = []  # (current, decay register, inflow mV)
    for current in form.currents:
        if split and current.dc_match:
            pairs = _decay_pair(current.keep)
        else:
            decay, _ = _decay_register(current.keep, current.tau_ms, dt_ms, decay_rounding)
            pairs = [(decay, 1.0)]
        keeps = [((4096 - d) / 4096, share) for d, share in pairs]
        rows.append(
            _time_constant_row(current.name, current.tau_ms, current.keep, keeps, dt_ms, pairs)
        )
        if current.dc_match:
            horizon_steps = horizon_ms / dt_ms
            rows.append(_kernel_row(current, keeps, horizon_steps))
            # the AHP charge delivered within the horizon. Not scaled by the membrane's DC gain
            # (1 - keep_v) / (1 - m): with the first-passage bias the quantized membrane
            # already fires on time, and that factor moved 27 % of 120 cells' gamma below
            # 0.9 in a float mirror of the registers (none without it)
            realized = sum(share * _charge(k, horizon_steps) for k, share in keeps)
            inflow_mV = current.inflow_mV * _charge(current.keep, horizon_steps) / realized
        else:
            inflow_mV = current.inflow_fn(keeps[0][0], keep_v)
        # (current, decay register, inflow, first of a pair)
        # both members must truncate: a decay of 0 (an integrator) would add the bias forever
        compensate = len(pairs) == 2 and min(d for d, _ in pairs) > 0
        terms += [(current, d, inflow_mV * share, k == 0 and compensate)
                  for k, (d, share) in enumerate(pairs)]  # fmt: skip
    aux_inputs_mV = [inflow for _, _, inflow, _ in terms]

    gap_mV = form.threshold_mV
    largest_drive = max(abs(offset_mV + per_pA_mV * low_pA), abs(offset_mV + per_pA_mV * high_pA))
    limits = {"threshold register": 64 * MAX_VTH_MANT / gap_mV}
    if largest_drive > 0:
        # the first-passage match of `NeuronMapping.drive` moves the drive by at most the decay
        # register's rounding, 0.5 / decay_v relative: leave twice that
        limits["bias register"] = MAX_BIAS / (largest_drive * (1.0 + 1.0 / decay_v))
    if aux_inputs_mV and max(abs(x) for x in aux_inputs_mV) > 0:
        limits["AHP synapse"] = MAX_INPUT / max(abs(x) for x in aux_inputs_mV)
    refract_delay, ref_row = _refractory(form.t_ref_ms, dt_ms)
    extent_mV = _voltage_extent(
        form,
        keep_v,
        [offset_mV + per_pA_mV * c for c in (low_pA, high_pA)],
        terms,
        refract_delay,
        horizon_ms / dt_ms,
    )
    limits["voltage range"] = VOLTAGE_BUDGET / extent_mV
    binding = min(limits, key=limits.get)
    vth_mant = math.floor(limits[binding] * gap_mV / 64)
    if vth_mant < MIN_VTH_MANT:
        raise MappingError(
            f"map_neuron: the {binding} leaves a threshold mantissa of {vth_mant} (< "
            f"{MIN_VTH_MANT}): the current range {low_pA:g}..{high_pA:g} pA or the AHP is too "
            "large for this neuron's threshold at this step"
        )
    vth_mant = min(vth_mant, VTH_MANT.high)
    vth_mant = _weight_friendly_threshold(vth_mant, [inflow / gap_mV for *_, inflow, _ in terms])
    scale = 64 * vth_mant / gap_mV
    rows.append(
        _row(
            "threshold", form.threshold_unit, gap_mV, 64 * vth_mant / scale, f"vth_mant {vth_mant}"
        )
    )
    aux = []
    for current, decay, inflow_mV, first_of_pair in terms:
        if abs(scale * inflow_mV) < 32:
            # below half the smallest weight step (64): the current has no effect on the chip
            # (a fitted b_ahp of 0, typically); it gets no compartment, and the report says so
            rows.append(
                _row(f"{current.name} increment", "mV per spike", inflow_mV, 0.0,
                     "below one weight step: no compartment")
            )  # fmt: skip
            continue
        weights = quantize_weights(-scale * inflow_mV)
        # The decay truncates toward zero, ~0.5 unit per step: the pair of an AHP current
        # drifts by ~1 unit per step toward zero, which a bias of one unit against it on the
        # pair's first compartment cancels on average (at rest it holds that compartment at
        # -+1, a constant far below the main bias's resolution)
        bias = int(np.sign(weights[0][0])) if first_of_pair else 0
        compartment = AhpCompartment(decay=decay, weights=weights, bias=bias)
        realized = -compartment.input_per_spike / scale
        rows.append(
            _row(
                f"{current.name} increment",
                "mV per spike",
                inflow_mV,
                realized,
                " + ".join(f"weight {w} << (6 + {e})" for w, e in weights),
            )
        )
        aux.append(compartment)
    rows.append(ref_row)
    v_rest = round(scale * form.rest_mV)
    _, exponent = quantize_bias(scale * np.array([largest_drive]))
    rows.append(
        _row(
            "bias resolution",
            "pA",
            0.0,
            2.0 ** int(exponent[0]) / (scale * per_pA_mV) if per_pA_mV else 0.0,
            f"one bias step at the largest drive; scale set by the {binding}",
        )
    )
    rows.append(
        _row(
            "voltage headroom",
            "x extent",
            (2**23 - 1) / VOLTAGE_BUDGET,
            (2**23 - 1) / (scale * extent_mV),
            "24-bit range over the largest |v| or |v_aux| expected in the current range",
        )
    )
    report = quantization_report(rows)
    return NeuronMapping(
        model=params.model_name,
        dt_ms=dt_ms,
        scale_per_mV=scale,
        decay_v=decay_v,
        vth_mant=vth_mant,
        refract_delay=refract_delay,
        v_rest=v_rest,
        drive_offset=scale * offset_mV,
        drive_per_pA=scale * per_pA_mV,
        float_keep_v=form.keep_v,
        current_range_pA=(low_pA, high_pA),
        aux=tuple(aux),
        report=report,
        source=params.to_dict(),
    )


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
    report = pd.DataFrame(rows, columns=list(REPORT_COLUMNS)).astype(
        {"requested": float, "realized": float}
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        report.insert(
            4,
            "relative_error",
            np.where(
                report["requested"] != 0,
                (report["realized"] - report["requested"]) / report["requested"],
                np.nan,
            ),
        )
    return report


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
    mantissa = np.round(bias / 2.0**exponent).astype(np.int64)
    if (np.abs(mantissa) > BIAS_MANT.high).any():
        index = int(np.flatnonzero(np.abs(mantissa) > BIAS_MANT.high)[0])
        raise MappingError(
            f"bias = {bias.ravel()[index]:g} exceeds the bias register ({MAX_BIAS} = 4095 << 7)"
        )
    return mantissa, exponent


def quantize_weights(value: float) -> tuple[tuple[int, int], ...]:
    """Round one synaptic input to one or two synapses, ``sum(64 * w * 2**e)``.

    The coarse synapse is `quantize_weight`'s; if its exponent leaves a remainder of at least
    half the finest step (64), a second synapse with exponent 0 adds it: 16 bits of
    precision for inputs above 2**14 instead of 8.

    Parameters
    ----------
    value : float
        The wanted input per spike (integer voltage units).

    Returns
    -------
    tuple of (int, int)
        (mantissa, exponent) per synapse.
    """
    coarse = quantize_weight(value)
    remainder = round((value - 64 * coarse[0] * 2 ** coarse[1]) / 64)
    return (coarse, (remainder, 0)) if remainder else (coarse,)


def quantize_weight(value: float) -> tuple[int, int]:
    """Round one synaptic input to ``64 * w * 2**e`` (|w| <= 255, e in -8..7), most precisely.

    Parameters
    ----------
    value : float
        The wanted input per spike (integer voltage units).

    Returns
    -------
    (int, int)
        The mantissa and the exponent.
    """
    magnitude = abs(value) / 64
    if magnitude > WEIGHT_MANT_MAX * 2**WEIGHT_EXP.high:
        raise MappingError(
            f"synaptic input {value:g} exceeds the largest weight ({MAX_INPUT} = 64 * 255 << 7)"
        )
    if round(magnitude) == 0:
        raise MappingError(
            f"synaptic input {value:g} rounds to 0 (the smallest is 64): the AHP would vanish"
        )
    # negative exponents drop the mantissa's low bits (refused by SynapseGroup): no finer step
    for exponent in range(0, WEIGHT_EXP.high + 1):
        mantissa = round(magnitude / 2.0**exponent)
        if mantissa <= WEIGHT_MANT_MAX:
            return int(math.copysign(mantissa, value)), exponent
    raise AssertionError("unreachable: the magnitude was checked above")  # pragma: no cover


# -- the float models' linear forms -----------------------------------------------------------


@dataclass(frozen=True)
class _Current:
    name: str
    tau_ms: float
    keep: float  # the float model's factor per step
    inflow_mV: float  # what one spike adds to -x over the following steps' first step
    dc_match: bool = True
    inflow_fn: Any = None  # (keep_q, keep_v_q) -> inflow, for currents not DC-matched


@dataclass(frozen=True)
class _LinearForm:
    tau_v_ms: float
    keep_v: float
    drive_offset_mV: float  # (1 - keep_v) (E_L - V_reset)
    drive_per_pA_mV: float  # (1 - keep_v) R
    threshold_mV: float  # V_th - V_reset
    threshold_unit: str
    rest_mV: float  # E_L - V_reset
    t_ref_ms: float
    currents: tuple[_Current, ...]


def _linear_form(params: ParameterSet, dt_ms: float) -> _LinearForm:
    p = params.si_arrays(1)
    dt_s = dt_ms * 1e-3
    if params.model_name == "loihi_ahp":
        keep_v = 1.0 - dt_s / p["tau_v"][0]
        keep_a = 1.0 - dt_s / p["tau_ahp"][0]
        return _LinearForm(
            tau_v_ms=p["tau_v"][0] * 1e3,
            keep_v=keep_v,
            drive_offset_mV=0.0,
            drive_per_pA_mV=p["input_gain"][0] * 1e-12,
            threshold_mV=p["v_th"][0],
            threshold_unit="v_th units",
            rest_mV=0.0,
            t_ref_ms=0.0,
            currents=(_Current("tau_ahp", p["tau_ahp"][0] * 1e3, keep_a, p["b_ahp"][0]),),
        )
    tau_m, r_mohm = p["tau_m"][0], p["R"][0] * 1e-6
    e_l, v_th, v_reset = (p[name][0] * 1e3 for name in ("E_L", "V_th", "V_reset"))
    keep_v = float(decay_factor(tau_m, dt_s))
    currents: list[_Current] = []
    if params.model_name in ("lif_ahp", "lif_multi_ahp"):
        taus = np.ravel(p["tau_ahp"])
        increments = np.ravel(p["b_ahp"]) * 1e12
        for k, (tau_s, b_pA) in enumerate(zip(taus, increments, strict=True), start=1):
            name = "tau_ahp" if taus.size == 1 else f"tau_ahp_{k}"
            coupling_mV_per_pA = r_mohm * 1e-3 * float(coupling_factor(tau_m, tau_s, dt_s))
            currents.append(
                _Current(
                    name, tau_s * 1e3, float(decay_factor(tau_s, dt_s)), coupling_mV_per_pA * b_pA
                )
            )
    else:  # alif: w = v - theta, w(t) = m w + drive - (a - m) theta(t-1)
        tau_a = p["tau_a"][0]
        delta_mV = p["delta_theta"][0] * 1e3
        currents.append(
            _Current(
                "tau_a",
                tau_a * 1e3,
                float(decay_factor(tau_a, dt_s)),
                0.0,
                dc_match=False,
                inflow_fn=lambda keep, keep_v_q, d=delta_mV: d * (keep - keep_v_q),
            )
        )
    return _LinearForm(
        tau_v_ms=tau_m * 1e3,
        keep_v=keep_v,
        drive_offset_mV=(1.0 - keep_v) * (e_l - v_reset),
        drive_per_pA_mV=(1.0 - keep_v) * r_mohm * 1e-3,
        threshold_mV=v_th - v_reset,
        threshold_unit="mV above V_reset",
        rest_mV=e_l - v_reset,
        t_ref_ms=p["t_ref"][0] * 1e3,
        currents=tuple(currents),
    )


def _voltage_extent(form, keep_v, drives_mV, terms, refract_delay, horizon_steps) -> float:
    """The largest |v| or |v_aux| (mV) the mapped neuron reaches in the current range.

    The mapped recursion (quantized decays, float arithmetic) runs from rest at each end of
    the range for the horizon, then as long again with no input (the AHP's undershoot after
    a step). The threshold and the resting voltage bound it from below.
    """
    keeps = np.array([(4096 - decay) / 4096 for _, decay, _, _ in terms])
    inflows = np.array([inflow for _, _, inflow, _ in terms])
    drives = np.asarray(drives_mV, dtype=float)
    x = np.full(drives.size, form.rest_mV)
    aux = np.zeros((drives.size, keeps.size))
    spiked = np.zeros(drives.size, dtype=bool)
    held = np.zeros(drives.size, dtype=int)
    rest_drive = (1.0 - keep_v) * form.rest_mV
    extent = max(form.threshold_mV, abs(form.rest_mV))
    steps = min(max(1, int(horizon_steps)), MAX_EXTENT_STEPS)
    for step in range(2 * steps):
        drive = drives if step < steps else np.full(drives.size, rest_drive)
        aux = aux * keeps - np.outer(spiked, inflows)
        x = np.where(held > 0, 0.0, keep_v * x + drive + aux.sum(axis=1))
        held = np.maximum(held - 1, 0)
        extent = max(extent, float(np.abs(x).max()), float(np.abs(aux).max(initial=0.0)))
        spiked = x > form.threshold_mV
        x = np.where(spiked, 0.0, x)
        held = np.where(spiked, refract_delay - 1, held)
    return extent


def _charge(keep: float, steps: float) -> float:
    """Sum of keep**n over n < steps: what a unit increment delivers within ``steps``."""
    return (1.0 - keep**steps) / (1.0 - keep) if keep < 1 else steps


def _weight_friendly_threshold(largest: int, inflow_per_gap: list[float]) -> int:
    """The threshold mantissa, at most ``largest`` and at least ``FRIENDLY_RANGE`` of it, at
    which the AHP increments round to whole weight steps (64 units) most precisely.

    An increment is ``64 vth_mant inflow / gap`` units, realized to the nearest 64 (coarse +
    fine synapse): its relative error is that of ``vth_mant * inflow / gap`` to the nearest
    integer. Increments are ~1 % of the threshold, so at the largest mantissa the error is
    ~1e-3 of the increment, as large as the spike timing can bear; among the mantissas of the
    range some make every increment nearly whole. The threshold stays exact at any mantissa
    and the bias loses at most the range's share of its resolution.
    """
    per_step = np.array([abs(c) for c in inflow_per_gap if c != 0.0])
    candidates = np.arange(max(MIN_VTH_MANT, math.ceil(FRIENDLY_RANGE * largest)), largest + 1)
    if per_step.size == 0 or candidates.size <= 1:
        return largest
    steps = np.outer(candidates, per_step)  # increments in weight steps
    relative = np.abs(np.round(steps) - steps) / np.maximum(steps, 1e-300)
    return int(candidates[np.argmin(relative.max(axis=1))])


def _decay_register(keep: float, tau_ms: float, dt_ms: float, rounding: str) -> tuple[int, float]:
    if rounding == "paper":
        decay = int(4096 * dt_ms / tau_ms)
    else:
        decay = round(4096 * (1.0 - keep))
    # at least 1: decay 0 would make an integrator of a decaying variable (tau > 8192 steps
    # rounds to 0); 1 is the slowest decay the register holds, 4096 steps
    decay = min(max(decay, 1), 4096)
    return decay, (4096 - decay) / 4096


def _decay_pair(keep: float) -> list[tuple[int, float]]:
    """Two neighbouring decay registers whose kernels' mixture follows ``keep**n``.

    With ``k1 >= keep > k2`` the registers next to it, ``alpha k1**n + (1 - alpha) k2**n``
    with ``alpha ln k1 + (1 - alpha) ln k2 = ln keep`` matches the exponent to first order;
    the second-order error, ``n**2 alpha (1 - alpha) (ln k1 - ln k2)**2 / 2``, is below 1 % at
    n = 1000 where one register alone is off by up to ``n / 8192`` (12 %).
    """
    low = min(max(math.floor(4096 * (1.0 - keep)), 0), 4095)
    k1, k2 = (4096 - low) / 4096, (4096 - low - 1) / 4096
    log_keep = math.log(keep) if keep > 0 else -math.inf
    share = (log_keep - math.log(k2)) / (math.log(k1) - math.log(k2))
    if share >= 1 - 1e-9:
        return [(low, 1.0)]
    if share <= 1e-9:
        return [(low + 1, 1.0)]
    return [(low, share), (low + 1, 1.0 - share)]


def _time_constant_row(name, tau_ms, float_keep, keeps, dt_ms, pairs) -> dict:
    """Requested and realized e-folding times (ms) of a decay per step.

    The float model's own per-step factor is the reference: for the exact step it is
    ``exp(-dt/tau)`` (e-folding ``tau``); the paper's Euler form ``1 - dt/tau`` folds faster
    than its nominal ``tau``, which the note then gives.
    """

    def e_folding(log_keep: float) -> float:
        return -dt_ms / log_keep if log_keep < 0 else math.inf

    log_keep = sum(share * math.log(k) if k > 0 else -math.inf for k, share in keeps)
    requested = e_folding(math.log(float_keep)) if float_keep > 0 else 0.0
    registers = " + ".join(
        f"decay {d}" + (f" ({share:.3f})" if len(pairs) > 1 else "") for d, share in pairs
    )
    if abs(requested - tau_ms) > 1e-9 * tau_ms:
        registers += f"; nominal tau {tau_ms:g} ms"
    return _row(name, "ms", requested, e_folding(log_keep), registers)


def _kernel_row(current, keeps, horizon_steps) -> dict:
    """The largest relative error of the quantized decay kernel within the horizon."""
    # 2000 steps spaced geometrically up to the horizon: the error varies slowly with n
    steps = np.unique(np.geomspace(1, max(2.0, horizon_steps), 2000).astype(np.int64))
    wanted = current.keep**steps
    realized = sum(share * k**steps for k, share in keeps)
    error = float(np.max(np.abs(realized / wanted - 1.0)))
    return _row(
        f"{current.name} kernel",
        "max relative error",
        0.0,
        error,
        f"decay kernel within {int(horizon_steps)} steps",
    )


def _refractory(t_ref_ms: float, dt_ms: float) -> tuple[int, dict]:
    # Brian2 holds v for t_ref/dt - 1 steps after the spike step, Loihi for refractDelay - 1:
    # refractDelay is t_ref on the step grid (nearest; t_ref = 0 and t_ref = dt both hold none)
    steps = max(1, round(t_ref_ms / dt_ms))
    if steps > REFRACT_DELAY.high:
        raise MappingError(
            f"map_neuron: t_ref = {t_ref_ms:g} ms is {steps} steps of {dt_ms:g} ms; allowed: at "
            f"most {REFRACT_DELAY.high} steps (refractDelay)"
        )
    realized = round(t_ref_ms / dt_ms) * dt_ms
    return steps, _row("t_ref", "ms", t_ref_ms, realized, f"refract_delay {steps}")


def _row(quantity: str, unit: str, requested: float, realized: float, note: str) -> dict:
    return {
        "quantity": quantity,
        "unit": unit,
        "requested": float(requested),
        "realized": float(realized),
        "note": note,
    }


def _in_unit(value: Any, unit: Unit, name: str) -> np.ndarray:
    # the toolkit's unit reading: a quantity or "20 ms"; a bare number is refused by name
    return np.asarray(parse_quantity(value, unit, field=name) / unit, dtype=float)
