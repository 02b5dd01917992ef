"""A proven bound on every compartment's state of a mapped neuron over its stated input range.

The mapper scales voltages as far as this bound allows (`hardware_mapping.quantization`), so
no compartment can saturate (v at vmin/vmax) or overflow (a wrapped u or synaptic input) for
any constant input current within ``NeuronMapping.current_range_pA``, held for any time and
changed at any step (a long square, its rest before and after, a staircase...). The bound
follows from the Loihi 1 step (the README's fixed-point simulator section: ``D(x, d)``
truncates toward zero, so ``|D(x, d)| <= keep |x|`` and, for ``x != 0`` and ``d > 0``,
``|D(x, d)| <= |x| - 1``).

Auxiliary compartment k (decay factor ``a_k``, per-spike input ``A_k``, bias ``b_k``):

- it only grows when a spike arrives, by at most ``A_k``; between arrivals its magnitude does
  not grow when its bias has the sign of its input and ``|b_k| <= 1`` (the mapper's
  compensation bias), because each decay step removes at least one unit;
- consecutive spikes are at least ``p`` steps apart: the main compartment climbs from 0
  after the refractory hold, and with hyperpolarizing terms only it gains at most the largest
  bias ``B+`` per step, ``v(n) <= B+ (1 - m**n) / (1 - m)``; so
  ``|v_k| <= (A_k + p |b_k|) / (1 - a_k**p)``;
- with hyperpolarizing terms only, the total ``M = sum |v_k|`` just before a spike's input
  arrives is below ``B+`` plus the biases' share: the climb to threshold needs a step with
  ``bias + sum v_k > 0``. So ``M <= B+ + sum A_k + sum |b_k|`` however slowly they decay.

Main compartment (decay factor ``m``, threshold ``vth``, rest ``v_rest``, biases ``B-..B+``):
``v <= max(vth, v_rest) + B+ + (positive terms)`` before the threshold check, and
``v >= -max(-v_rest, (B- + M) / (1 - m))``. The auxiliary compartments' inputs must fit the
21-bit synaptic accumulator. `voltage_bound` evaluates all of it for a mapping; a test drives
mapped neurons at the ends of their ranges and checks the simulator stays inside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hardware_mapping.loihi.registers import Q_BITS, U_BITS
from hardware_mapping.mapped_neuron import NeuronMapping

__all__ = ["STATE_LIMIT", "VoltageBound", "bound_state", "voltage_bound"]

#: The largest magnitude v may take without saturating (vmax = 2**23 - 1, vmin = -(2**23 - 1)).
STATE_LIMIT = (1 << U_BITS) - 1
#: The largest magnitude of a synaptic input per step (21 bits + sign).
INPUT_LIMIT = (1 << Q_BITS) - 1
#: Quantized network weights exceed the requested ones by at most half an 8-bit mantissa step.
SYNAPTIC_ROUNDING = 1.0 + 1.0 / 256


@dataclass(frozen=True)
class VoltageBound:
    """Bounds on a mapped neuron's states over its stated input range (integer units).

    Attributes
    ----------
    main_high, main_low : float
        The largest v of the main compartment, and the largest magnitude of a negative one.
    aux : tuple of float
        The largest |v| of each auxiliary compartment.
    aux_input : tuple of float
        The largest synaptic input per step into each auxiliary compartment.
    min_period : float
        Fewest steps between two spikes used by the bound (inf: at most one spike).
    main_input : float
        The largest synaptic input per step into the main compartment.
    """

    main_high: float
    main_low: float
    aux: tuple[float, ...]
    aux_input: tuple[float, ...]
    min_period: float
    main_input: float = 0.0

    @classmethod
    def covering(cls, bounds: Sequence[VoltageBound]) -> VoltageBound:
        """The bound holding wherever each of ``bounds`` does (the largest of each state)."""
        return cls(
            main_high=max(b.main_high for b in bounds),
            main_low=max(b.main_low for b in bounds),
            aux=tuple(max(levels) for levels in zip(*(b.aux for b in bounds), strict=True)),
            aux_input=tuple(max(x) for x in zip(*(b.aux_input for b in bounds), strict=True)),
            min_period=min(b.min_period for b in bounds),
            main_input=max(b.main_input for b in bounds),
        )

    @property
    def largest(self) -> float:
        """The largest magnitude of any v."""
        return max(self.main_high, self.main_low, *self.aux, 0.0)

    @property
    def headroom(self) -> float:
        """`STATE_LIMIT` over `largest` (>= 1: no saturation possible)."""
        return STATE_LIMIT / self.largest if self.largest > 0 else math.inf

    @property
    def holds(self) -> bool:
        """Whether every v and every synaptic input stays inside its register."""
        inputs = max((self.main_input, *self.aux_input))
        return self.largest <= STATE_LIMIT and inputs <= INPUT_LIMIT

    def violation(self) -> tuple[str, float, float] | None:
        """(what, bound, limit) of the first state that could leave its range, or None."""
        checks = [("main compartment v", self.main_high, STATE_LIMIT),
                  ("main compartment v (negative)", self.main_low, STATE_LIMIT),
                  ("main compartment synaptic input", self.main_input, INPUT_LIMIT)]  # fmt: skip
        for k, (level, inflow) in enumerate(zip(self.aux, self.aux_input, strict=True), 1):
            checks.append((f"AHP compartment {k} v", level, STATE_LIMIT))
            checks.append((f"AHP compartment {k} synaptic input", inflow, INPUT_LIMIT))
        for what, value, limit in checks:
            if value > limit:
                return what, value, limit
        return None


def bound_state(
    *,
    vth: float,
    keep_v: float,
    v_rest: float,
    biases: Sequence[float],
    refract_delay: int,
    aux: Sequence[tuple[float, float, float]],
    synaptic: tuple[float, float] = (0.0, 0.0),
    shares: Sequence[float] | None = None,
) -> VoltageBound:
    """The bound for given register values (integers, or floats scaled alike).

    Parameters
    ----------
    vth : float
        Threshold (units; > 0).
    keep_v : float
        The main compartment's decay factor per step.
    v_rest : float
        Its initial state.
    biases : sequence of float
        The biases at the ends of the input range (the bias is monotonic in the current).
    refract_delay : int
        Refractory delay register.
    aux : sequence of (input, bias, keep)
        Per auxiliary compartment: its synaptic input per main spike (signed), its bias and
        its decay factor.
    synaptic : (float, float)
        The largest excitatory and inhibitory synaptic input per step into the main
        compartment (a network's synapses), added to the biases' extremes.
    shares : sequence of float, optional
        Per auxiliary compartment, the bias it takes as a share of the input on top of its
        ``bias`` (`AhpCompartment.bias_per_pA` times the current; default none).

    Returns
    -------
    VoltageBound
        The bounds.
    """
    b_high = max(0.0, *biases) + synaptic[0]
    b_low = max(0.0, *(-b for b in biases)) + synaptic[1]
    # A compartment's state is the sum of its responses to the spikes and to its bias, and its
    # share of the input (lif_ahp_input) alone holds it within |share| / (1 - keep) whatever
    # the spikes do. A negative share only slows the neuron, like a hyperpolarising AHP; a
    # positive one (a negative current) adds up to its level to the main compartment's input.
    shares = [0.0] * len(aux) if shares is None else [float(x) for x in shares]
    if len(shares) != len(aux):
        raise ValueError(f"bound_state: {len(shares)} shares for {len(aux)} compartments")
    share_levels = [
        abs(share) / (1.0 - k) if share else 0.0
        for share, (_, _, k) in zip(shares, aux, strict=True)
    ]
    if any(share and k >= 1 for share, (_, _, k) in zip(shares, aux, strict=True)):
        share_levels = [math.inf] * len(aux)  # a biased compartment that does not decay
    b_high += sum(level for level, share in zip(share_levels, shares, strict=True) if share > 0)
    # each decay step removes a unit only where the decay is not 0: a biased compartment
    # that does not decay integrates its bias
    hyperpolarizing = all(a <= 0 and b <= 0 and abs(b) <= 1 and (b == 0 or k < 1)
                          for a, b, k in aux)  # fmt: skip
    period = _min_period(vth, keep_v, b_high, refract_delay) if hyperpolarizing else 1.0
    levels = []
    for inflow, bias, keep in aux:
        level = abs(inflow) + abs(bias) if (bias == 0 or keep < 1) else math.inf
        if math.isfinite(period):
            decayed = keep**period
            if decayed < 1:
                level = max(level, (abs(inflow) + period * abs(bias)) / (1.0 - decayed))
            else:
                level = math.inf
        levels.append(level)
    # a compartment whose input and bias differ in sign can swing either way: it counts on both
    negative = sum(lv for lv, (a, b, _) in zip(levels, aux, strict=True) if a < 0 or b < 0)
    positive = sum(lv for lv, (a, b, _) in zip(levels, aux, strict=True) if a > 0 or b > 0)
    if hyperpolarizing:
        total = b_high + sum(abs(a) + abs(b) for a, b, _ in aux)
        levels = [min(level, total) for level in levels]
        negative = min(negative, total)
    levels = [level + share for level, share in zip(levels, share_levels, strict=True)]
    negative += sum(level for level, share in zip(share_levels, shares, strict=True) if share < 0)
    pull = b_low + negative
    if pull == 0:
        main_low = max(0.0, -v_rest)
    elif keep_v >= 1:
        main_low = math.inf
    else:
        main_low = max(0.0, -v_rest, pull / (1.0 - keep_v))
    main_high = max(vth, v_rest, 0.0) + b_high + positive  # b_high holds the upward shares
    return VoltageBound(
        main_high=main_high,
        main_low=main_low,
        aux=tuple(levels),
        aux_input=tuple(abs(a) for a, _, _ in aux),
        min_period=period,
        main_input=max(synaptic),
    )


def voltage_bound(mapping: NeuronMapping) -> VoltageBound:
    """The bound on a mapping's states over its ``current_range_pA``.

    Parameters
    ----------
    mapping : NeuronMapping
        The mapped neuron.

    Returns
    -------
    VoltageBound
        Bounds of every compartment (integer units).
    """
    ends = np.array(mapping.current_range_pA)
    mant, exp = mapping.bias_registers(ends)
    biases = [float(m) * 2.0 ** int(e) for m, e in zip(mant, exp, strict=True)]
    # auxiliary biases follow the current where a compartment takes a share of the input
    # (`AhpCompartment.bias_per_pA`): bound each end of the range, cover both
    aux_shares = [  # the rounded bias registers less the truncation compensation
        [float(m) * 2.0 ** int(e) - c.bias for m, e in zip(*c.bias_registers(ends), strict=True)]
        for c in mapping.aux
    ]
    bounds = [
        bound_state(
            vth=64.0 * mapping.vth_mant,
            keep_v=(4096 - mapping.decay_v) / 4096,
            v_rest=float(mapping.v_rest),
            biases=biases,
            refract_delay=mapping.refract_delay,
            aux=[
                (float(c.input_per_spike), float(c.bias), (4096 - c.decay) / 4096)
                for c in mapping.aux
            ],
            shares=[at[end] for at in aux_shares],
            # a network's synapses: the quantized weights exceed the requested ones by at most
            # half a mantissa step
            synaptic=(
                SYNAPTIC_ROUNDING * mapping.synaptic_input[0],
                SYNAPTIC_ROUNDING * mapping.synaptic_input[1],
            ),
        )
        for end in range(2)
    ]
    return VoltageBound.covering(bounds)


def _min_period(vth: float, keep_v: float, b_high: float, refract: int) -> float:
    """Fewest steps between two spikes when the only positive input is at most ``b_high``.

    After a spike v is 0, held for ``refract - 1`` steps, then climbs at most as
    ``b_high (1 - m**n) / (1 - m)``; the count is taken one step short for rounding. A neuron
    whose climb never reaches the threshold fires at most once (from a resting state above
    it): inf.
    """
    if b_high <= 0:
        return math.inf
    ceiling = b_high / (1.0 - keep_v) if keep_v < 1 else math.inf
    if ceiling <= vth:
        return math.inf
    if keep_v >= 1 or keep_v <= 0:
        climb = math.ceil(vth / b_high) if keep_v >= 1 else 1
    else:
        climb = math.ceil(math.log1p(-vth / ceiling) / math.log(keep_v))
    return float(max(1, refract - 1 + climb - 1))
