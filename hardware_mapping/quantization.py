"""Float forms to Loihi 1 registers in one pass, with a quantization report.

In the style of nengo-loihi's ``discretize``: the model gives its discrete-time linear float
form (`ahp_models.hardware_form.HardwareForm`: decays, drive, threshold, rest, refractory
period, spike-triggered terms), and `quantize_form` turns any such form into registers. No
model is special-cased here; a new model with a hardware form maps as it is.

With ``x`` the membrane variable above the reset (Loihi resets to 0), the float form is::

    x(t)   = m x(t-1) + drive(I) - sum_k inflow_k y_k(t-1),   y_k(t) = a_k y_k(t-1) + s(t)

and on the chip, one auxiliary compartment per decay of a term, joined (ADD) into the main::

    v_aux_k(t) = D(v_aux_k(t-1), d_k) - W_k s(t-1)      (main -> aux synapse, arrives at t)
    v(t)       = D(v(t-1), d_v) + bias(I) + sum_k v_aux_k(t)

so that ``v = S x`` for a scale S (integer units per membrane unit). The choices, each named
by a constant below and reported row by row:

- decays: the register nearest the float factor (``"nearest"``) or the paper's
  ``int(4096 dt / tau)`` (``"paper"``); a ``"charge"`` term on two neighbouring registers whose
  mixture decays at exactly ``a_k`` (`_decay_pair`);
- the drive: matched in steady state below threshold and in reset-to-threshold time above it
  (`NeuronMapping.drive`), so the membrane's decay rounding moves no interval;
- the scale S: as large as the threshold register, the bias register, the synapses and the
  proven state bound of `hardware_mapping.headroom` over the stated input range allow, then
  the threshold mantissa (within `FRIENDLY_RANGE` of that) at which every spike increment is
  a whole weight step;
- each term's weight: the float term's charge within a horizon (``"charge"``), or its exact
  recursion at the realized decays (``"threshold"``), as a coarse and a fine synapse.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ahp_models.hardware_form import HardwareForm, SpikeTriggeredTerm, refractory_steps
from hardware_mapping.headroom import (
    INPUT_LIMIT,
    STATE_LIMIT,
    SYNAPTIC_ROUNDING,
    VoltageBound,
    bound_state,
    voltage_bound,
)
from hardware_mapping.loihi.registers import REFRACT_DELAY, VTH_MANT, WEIGHT_EXP
from hardware_mapping.mapped_neuron import (
    MAX_BIAS,
    AhpCompartment,
    MappingError,
    NeuronMapping,
    mean_share_gain,
    quantization_report,
    quantize_bias,
)

__all__ = [
    "DECAY_ROUNDINGS",
    "FRIENDLY_RANGE",
    "MAX_INPUT",
    "MIN_VTH_MANT",
    "quantize_form",
    "quantize_weight",
    "quantize_weights",
    "weights_text",
    "with_headroom_row",
]

DECAY_ROUNDINGS = ("nearest", "paper")
# The threshold register's limit; the state bound binds first in practice.
MAX_VTH_MANT = VTH_MANT.high
# Below this the threshold spans fewer than 4096 voltage units (64 vth_mant): truncation in
# the decays would then move the voltage by more than 1e-4 of the threshold per step.
MIN_VTH_MANT = 2**6
#: The threshold mantissa may give up this much of its largest value for spike increments
#: that are whole weight steps (`_weight_friendly_threshold`).
FRIENDLY_RANGE = 0.9
#: Share of the state range kept free when the scale is chosen from the float form, for the
#: integer rounding of registers (the bound is then checked on the integers themselves).
SCALE_MARGIN = 0.01
WEIGHT_MANT_MAX = 255
MAX_INPUT = 64 * WEIGHT_MANT_MAX << WEIGHT_EXP.high  # the largest single-synapse input


def quantize_form(
    form: HardwareForm,
    source: dict[str, Any],
    *,
    current_range_pA: tuple[float, float],
    decay_rounding: str = "nearest",
    horizon_ms: float = 1000.0,
    split_decays: bool = True,
    synaptic_input: tuple[float, float] = (0.0, 0.0),
    scale_fraction: float = 1.0,
    where: str = "map_neuron",
) -> NeuronMapping:
    """Registers for a float form over a stated range of constant input currents.

    Parameters
    ----------
    form : HardwareForm
        The neuron's discrete-time linear float form.
    source : dict
        The float parameters with units (`ParameterSet.to_dict`), kept as provenance.
    current_range_pA : (float, float)
        The constant input currents (pA) the registers must hold without saturation.
    decay_rounding : {"nearest", "paper"}
        See `hardware_mapping.neuron_mapping.map_neuron`.
    horizon_ms : float
        The charge horizon of ``"charge"`` terms (ms).
    split_decays : bool
        Two decay registers per ``"charge"`` term.
    synaptic_input : (float, float)
        The largest excitatory and inhibitory synaptic input per step (membrane units), for a
        neuron in a network.
    scale_fraction : float
        The share of the largest scale the range allows to start from, in (0, 1]: another
        lattice of registers for a search to start on (`hardware_mapping.register_search`).
    where : str
        The neuron's name in error messages.

    Returns
    -------
    NeuronMapping
        The registers and the quantization report.

    Raises
    ------
    MappingError
        If the registers cannot hold the neuron over the range, naming the register and value.
    """
    if decay_rounding not in DECAY_ROUNDINGS:
        raise MappingError(
            f"{where}: decay_rounding = {decay_rounding!r}; allowed: " + ", ".join(DECAY_ROUNDINGS)
        )
    dt_ms = form.dt_ms
    low_pA, high_pA = current_range_pA
    rows: list[dict[str, Any]] = []
    decay_v, keep_v = _decay_register(form.keep_v, form.tau_v_ms, dt_ms, decay_rounding)
    rows.append(
        _time_constant_row(
            "tau_m", form.tau_v_ms, form.keep_v, [(keep_v, 1.0)], dt_ms, [(decay_v, 1.0)],
            alternative=_alternative(form.keep_v, form.tau_v_ms, dt_ms, decay_rounding),
        )
    )  # fmt: skip
    # DC-matched drive: bias / (1 - keep_v) is the float steady state (in membrane units)
    dc_v = (1.0 - keep_v) / (1.0 - form.keep_v)
    offset = form.drive_offset * dc_v
    per_pA = form.drive_per_pA * dc_v
    horizon_steps = horizon_ms / dt_ms
    terms: list[_Part] = []
    shared = {share.term for share in form.inputs if share.per_pA}
    for term in form.terms:
        terms += _term_parts(term, keep_v, decay_rounding, split_decays, dt_ms, horizon_steps,
                             rows, term.name in shared)  # fmt: skip
    steady_shares = _share_inputs(form, terms, dc_v)
    refract_delay, ref_row = _refractory(form.refractory_ms, dt_ms, where)
    gap = form.threshold
    drives = [offset + per_pA * c for c in (low_pA, high_pA)]
    largest_drive = max(abs(d) for d in drives)
    limits = {"threshold register": 64 * MAX_VTH_MANT / gap}
    if largest_drive > 0:
        # the first-passage match of `NeuronMapping.drive` moves the drive by at most the decay
        # register's rounding, 0.5 / decay_v relative: leave twice that
        limits["bias register"] = MAX_BIAS / (largest_drive * (1.0 + 1.0 / decay_v))
    largest_share = max((abs(p.input_per_pA) for p in terms), default=0.0)
    if largest_share > 0:
        # plus one unit: the truncation compensation shares the register
        limits["AHP bias register"] = (MAX_BIAS - 1) / (
            largest_share * max(map(abs, (low_pA, high_pA)))
        )
    inflows = [abs(part.inflow) for part in terms]
    if inflows and max(inflows) > 0:
        limits["AHP synapse"] = MAX_INPUT / max(inflows)
    if max(synaptic_input) > 0:
        limits["synaptic input"] = INPUT_LIMIT / (SYNAPTIC_ROUNDING * max(synaptic_input))
    per_unit = VoltageBound.covering(
        [
            bound_state(
                vth=gap,
                keep_v=keep_v,
                v_rest=form.rest,
                biases=[d * (1.0 + 1.0 / decay_v) for d in drives],
                refract_delay=refract_delay,
                aux=[(-part.inflow, 0.0, part.keep) for part in terms],
                synaptic=synaptic_input,
                shares=[part.input_per_pA * current for part in terms],
            )
            # the share of the input the AHP compartments take, at either end of the range
            for current in (low_pA, high_pA)
        ]
    )
    if per_unit.largest > 0 and math.isfinite(per_unit.largest):
        limits["state bound"] = STATE_LIMIT * (1.0 - SCALE_MARGIN) / per_unit.largest
    elif not math.isfinite(per_unit.largest):
        raise MappingError(
            f"{where}: the states are unbounded over current_range {low_pA:g}..{high_pA:g} pA "
            "(a term that does not decay, or a membrane that does not); allowed: decaying terms"
        )
    binding = min(limits, key=limits.get)
    if not 0.0 < scale_fraction <= 1.0:
        raise MappingError(f"{where}: scale_fraction = {scale_fraction!r}; allowed: (0, 1]")
    largest_mant = min(math.floor(limits[binding] * gap / 64 * scale_fraction), MAX_VTH_MANT)
    if largest_mant < MIN_VTH_MANT:
        raise MappingError(
            f"{where}: current_range {low_pA:g}..{high_pA:g} pA cannot be held: the {binding} "
            f"leaves vth_mant (vThMant) = {largest_mant}, below {MIN_VTH_MANT}; allowed: a "
            "narrower current range (or smaller spike increments)"
        )
    totals = [sum(p.inflow for p in terms if p.term is term) for term in form.terms]
    vth_mant = _weight_friendly_threshold(largest_mant, [total / gap for total in totals])
    for _ in range(8):
        mapping = _assemble(form, source, rows, terms, ref_row, vth_mant, decay_v, offset, per_pA,
                            refract_delay, current_range_pA, binding, synaptic_input,
                            horizon_steps, steady_shares)  # fmt: skip
        bound = voltage_bound(mapping)
        if bound.holds:
            return mapping
        vth_mant = math.floor(vth_mant * min(STATE_LIMIT / bound.largest, 1.0) * 0.999)
        if vth_mant < MIN_VTH_MANT:
            break
    what, value, limit = bound.violation() or ("state", bound.largest, STATE_LIMIT)
    raise MappingError(
        f"{where}: current_range {low_pA:g}..{high_pA:g} pA cannot be held: the {what} could "
        f"reach {value:.6g}, beyond {limit}; allowed: a narrower current range"
    )


class _Part:
    """One auxiliary compartment's share of a term (and, through `_share_inputs`, of the
    input: ``input_per_pA`` membrane units of bias per step and pA)."""

    def __init__(self, term, decay, keep, inflow, compensate, share=1.0) -> None:
        self.term, self.decay, self.keep = term, decay, keep
        self.inflow, self.compensate, self.share = inflow, compensate, share
        self.input_per_pA = 0.0


def _share_inputs(form: HardwareForm, parts: list[_Part], dc_v: float) -> dict[str, float]:
    """Give the compartments of each input-driven term's decay their bias per pA.

    The float trace draws ``z = per_pA I / (1 - keep)`` from ``x`` each step in steady state;
    each compartment of the term takes its share of that at its realized decay, scaled like the
    membrane's drive (``dc_v``), so the adapted steady state is the float one. The transient
    follows the realized decays (a pair's mixture for a split term).

    Returns
    -------
    dict
        Each input-driven term's steady draw per pA (membrane units), for the report.
    """
    steady_shares = {}
    for share in form.inputs:
        if not share.per_pA:  # no share (input_share 0): nothing to map or report
            continue
        term = form.term_named(share.term)
        steady = share.per_pA / (1.0 - term.keep) * dc_v
        for part in parts:
            if part.term is term:
                part.input_per_pA = -part.share * steady * (1.0 - part.keep)
        steady_shares[share.name] = steady
    return steady_shares


def _folded_shares(parts: list[_Part], scale: float, current_range_pA, horizon_steps: float):
    """The terms whose share of the input the bias register cannot resolve, and the mean pull
    per pA (integer units) the main bias takes over for them.

    A share whose bias stays below one unit per compartment over the whole range (a tiny share
    on a slow decay) would round to 0 or 1 at every current, an error of its own size or more;
    carried by the main bias as its mean pull over the horizon, it errs by its rise alone.
    """
    top = abs(max(current_range_pA, key=abs))
    folded, pull = set(), 0.0
    for term in {part.term.name for part in parts if part.input_per_pA}:
        members = [p for p in parts if p.term.name == term and p.input_per_pA]
        if sum(abs(scale * p.input_per_pA) * top for p in members) < len(members):
            folded.add(term)
            pull -= sum(scale * p.input_per_pA * mean_share_gain(p.keep, horizon_steps)
                        for p in members)  # fmt: skip
    return folded, pull


def _share_row(form, name, steady, aux, scale, current_range_pA, folded, horizon_steps):
    """The report row of an input-driven term: its steady draw per pA at the largest current
    of the range, as its compartments' rounded biases give it (or as the main bias carries it,
    folded)."""
    term = next(share.term for share in form.inputs if share.name == name)
    top = max(current_range_pA, key=abs)
    unit = f"{form.unit} per pA, steady state"
    if term in folded:
        return _row(name, unit, steady, steady,
                    f"below one bias unit per compartment at {top:g} pA: carried by the main "
                    f"bias as its mean pull over {horizon_steps:g} steps")  # fmt: skip
    members = [c for c in aux if c.term == term and c.bias_per_pA]
    if not members or top == 0:  # a range without input: the share never acts
        return _row(name, unit, steady, steady, "no input in the current range: no bias")
    registers = [c.bias_registers(np.array([top])) for c in members]
    biases = [int(m[0]) << int(e[0]) for m, e in registers]
    drawn = sum((c.bias - b) / (c.decay / 4096) for c, b in zip(members, biases, strict=True))
    return _row(name, unit, steady, drawn / (scale * top),
                f"bias of the {term} compartment(s) at {top:g} pA: "
                + ", ".join(str(b) for b in biases))  # fmt: skip


def _term_parts(term: SpikeTriggeredTerm, keep_v, rounding, split, dt_ms, horizon_steps, rows,
                shared=False):  # fmt: skip
    """A term's compartments (one, or a pair of decays) and its report rows. A term that takes
    a share of the input (``shared``) keeps off decay 0: that compartment would integrate its
    bias for ever."""
    pairs = _decay_pair(term.keep) if split and term.rule == "charge" else []
    if not pairs or (shared and any(d == 0 for d, _ in pairs)):
        decay, _ = _decay_register(term.keep, term.tau_ms, dt_ms, rounding)
        pairs = [(decay, 1.0)]
    keeps = [((4096 - d) / 4096, share) for d, share in pairs]
    rows.append(
        _time_constant_row(term.name, term.tau_ms, term.keep, keeps, dt_ms, pairs,
                           alternative=_alternative(term.keep, term.tau_ms, dt_ms, rounding)
                           if len(pairs) == 1 else "")
    )  # fmt: skip
    if term.rule == "charge":
        rows.append(_kernel_row(term, keeps, horizon_steps))
        # the charge delivered within the horizon. Not scaled by the membrane's DC gain
        # (1 - keep_v) / (1 - m): with the first-passage bias the quantized membrane already
        # fires on time, and that factor moved 27 % of 120 cells' gamma below 0.9 in a float
        # mirror of the registers (none without it)
        realized = sum(share * _charge(k, horizon_steps) for k, share in keeps)
        inflow = term.inflow * _charge(term.keep, horizon_steps) / realized
    else:
        inflow = term.inflow_at(keeps[0][0], keep_v)
    # both members must truncate: a decay of 0 (an integrator) would add the bias forever
    compensate = len(pairs) == 2 and min(d for d, _ in pairs) > 0
    return [_Part(term, d, (4096 - d) / 4096, inflow * share, k == 0 and compensate, share)
            for k, (d, share) in enumerate(pairs)]  # fmt: skip


def _assemble(form, source, rows, terms, ref_row, vth_mant, decay_v, offset, per_pA,
              refract_delay, current_range_pA, binding, synaptic,
              horizon_steps, steady_shares) -> NeuronMapping:  # fmt: skip
    """The mapping at threshold mantissa ``vth_mant`` (the scale follows from it)."""
    gap = form.threshold
    scale = 64 * vth_mant / gap
    rows = list(rows)
    rows.append(_row("threshold", form.unit, gap, 64 * vth_mant / scale, f"vth_mant {vth_mant}"))
    aux = []
    realized: dict[str, list[str]] = {}
    folded, folded_pull = _folded_shares(terms, scale, current_range_pA, horizon_steps)
    for part, steps in zip(terms, _weight_steps(terms, scale), strict=True):
        notes = realized.setdefault(part.term.name, [])
        # a folded share rides on the main bias instead
        share_bias = 0.0 if part.term.name in folded else scale * part.input_per_pA
        if steps == 0 and share_bias == 0:
            # below half the smallest weight step (64): this share has no effect on the chip
            # (a fitted b_ahp of 0, typically); it gets no compartment, and the report says so
            notes.append(f"decay {part.decay}: below one weight step, no compartment")
            continue
        if steps == 0:  # the compartment carries a share of the input only
            notes.append(f"decay {part.decay}: below one weight step, no synapse")
            aux.append(AhpCompartment(decay=part.decay, weights=(), term=part.term.name,
                                      bias_per_pA=share_bias))  # fmt: skip
            continue
        weights = quantize_weights(-64.0 * steps)
        # The decay truncates toward zero, ~0.5 unit per step: the pair of a term drifts by ~1
        # unit per step toward zero, which a bias of one unit against it on the pair's first
        # compartment cancels on average (at rest it holds that compartment at -+1)
        bias = int(np.sign(weights[0][0])) if part.compensate else 0
        compartment = AhpCompartment(
            decay=part.decay, weights=weights, bias=bias, term=part.term.name,
            bias_per_pA=share_bias,
        )  # fmt: skip
        notes.append(f"decay {part.decay}: " + weights_text(weights))
        aux.append(compartment)
    for term in form.terms:
        wanted = sum(p.inflow for p in terms if p.term is term)
        steps = sum(n for p, n in zip(terms, _weight_steps(terms, scale), strict=True)
                    if p.term is term)  # fmt: skip
        rows.append(_row(f"{term.name} increment", f"{form.unit} per spike", wanted,
                         64.0 * steps / scale, "; ".join(realized[term.name])))  # fmt: skip
    for name, steady in steady_shares.items():
        rows.append(_share_row(form, name, steady, aux, scale, current_range_pA, folded,
                               horizon_steps))  # fmt: skip
    rows.append(ref_row)
    low_pA, high_pA = current_range_pA
    largest_drive = max(abs(offset + per_pA * low_pA), abs(offset + per_pA * high_pA))
    _, exponent = quantize_bias(scale * np.array([largest_drive]))
    rows.append(
        _row("bias resolution", "pA", 0.0,
             2.0 ** int(exponent[0]) / (scale * per_pA) if per_pA else 0.0,
             f"one bias step at the largest drive; scale set by the {binding}")
    )  # fmt: skip
    mapping = NeuronMapping(
        model=form.model,
        dt_ms=form.dt_ms,
        scale_per_mV=scale,
        decay_v=decay_v,
        vth_mant=vth_mant,
        refract_delay=refract_delay,
        v_rest=round(scale * form.rest),
        drive_offset=scale * offset,
        drive_per_pA=scale * per_pA - folded_pull,
        float_keep_v=form.keep_v,
        current_range_pA=(float(low_pA), float(high_pA)),
        aux=tuple(aux),
        report=quantization_report(rows),
        source=source,
        synaptic_input=(scale * synaptic[0], scale * synaptic[1]),
        share_horizon_steps=horizon_steps,
    )
    return with_headroom_row(mapping)


def with_headroom_row(mapping: NeuronMapping) -> NeuronMapping:
    """The mapping with its report's ``voltage headroom`` row set from `voltage_bound`.

    Parameters
    ----------
    mapping : NeuronMapping
        A mapping (its report may hold an earlier headroom row, which is replaced).

    Returns
    -------
    NeuronMapping
        The same registers; the headroom row gives the state limit over the bound.
    """
    bound = voltage_bound(mapping)
    report = mapping.report[mapping.report["quantity"] != "voltage headroom"]
    rows = report.drop(columns="relative_error").to_dict(orient="records")
    rows.append(
        _row("voltage headroom", "x bound", 1.0, bound.headroom,
             f"2^23 - 1 over the proven largest |v| ({bound.largest:.0f}) on "
             f"{mapping.current_range_pA[0]:g}..{mapping.current_range_pA[1]:g} pA")
    )  # fmt: skip
    return dataclasses.replace(mapping, report=quantization_report(rows))


def _alternative(keep: float, tau_ms: float, dt_ms: float, rounding: str) -> str:
    """What the other rounding would choose, for the report."""
    other = "nearest" if rounding == "paper" else "paper"
    decay, realized = _decay_register(keep, tau_ms, dt_ms, other)
    tau = -dt_ms / math.log(realized) if 0 < realized < 1 else math.inf
    return f"{other}: decay {decay} ({tau:.4g} ms)"


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


def _charge(keep: float, steps: float) -> float:
    """Sum of keep**n over n < steps: what a unit increment delivers within ``steps``."""
    return (1.0 - keep**steps) / (1.0 - keep) if keep < 1 else steps


def weights_text(weights: tuple[tuple[int, int], ...]) -> str:
    """A compartment's synapses as the report writes them."""
    return " + ".join(f"weight {w} << (6 + {e})" for w, e in weights)


def _weight_steps(parts: list[_Part], scale: float) -> list[int]:
    """Each compartment's increment in whole weight steps (64 units, signed as the inflow).

    A term's total increment is rounded once, to the nearest step, and shared among its
    compartments by cumulative rounding: the total, which sets the term's charge, keeps the
    precision of one rounding (the threshold is chosen to make it nearly whole), and only the
    share between the two decays of a pair takes the rest (a second-order effect on the
    kernel).
    """
    steps = []
    for term in dict.fromkeys(part.term for part in parts):
        values = np.array([scale * p.inflow / 64.0 for p in parts if p.term is term])
        total = round(float(values.sum()))
        shares = np.cumsum(values) / values.sum() if values.sum() else np.ones(values.size)
        ends = np.round(shares * total).astype(int)
        steps += list(np.diff(np.concatenate([[0], ends])))
    return [int(n) for n in steps]


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
    if low == 4095:  # below the smallest nonzero factor 1/4096: no pair brackets it
        return [(4095 if keep >= 0.5 / 4096 else 4096, 1.0)]
    k1, k2 = (4096 - low) / 4096, (4096 - low - 1) / 4096
    log_keep = math.log(keep) if keep > 0 else -math.inf
    share = (log_keep - math.log(k2)) / (math.log(k1) - math.log(k2))
    if share >= 1 - 1e-9:
        return [(low, 1.0)]
    if share <= 1e-9:
        return [(low + 1, 1.0)]
    return [(low, share), (low + 1, 1.0 - share)]


def _time_constant_row(name, tau_ms, float_keep, keeps, dt_ms, pairs, alternative="") -> dict:
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
    if alternative:
        registers += f"; {alternative}"
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


def _refractory(t_ref_ms: float, dt_ms: float, where: str) -> tuple[int, dict]:
    steps = refractory_steps(t_ref_ms, dt_ms)
    if steps > REFRACT_DELAY.high:
        raise MappingError(
            f"{where}: t_ref = {t_ref_ms:g} ms is {steps} steps of {dt_ms:g} ms; allowed: at "
            f"most {REFRACT_DELAY.high} steps (refractDelay)"
        )
    # what an interval loses on average: the held steps plus half a step of waiting for the
    # crossing to be seen (`refractory_steps`)
    dead_time_ms = (steps - 0.5) * dt_ms
    note = f"refract_delay {steps} (mean dead time per interval)"
    return steps, _row("t_ref", "ms", t_ref_ms, dead_time_ms, note)


def _row(quantity: str, unit: str, requested: float, realized: float, note: str) -> dict:
    return {
        "quantity": quantity,
        "unit": unit,
        "requested": float(requested),
        "realized": float(realized),
        "note": note,
    }
