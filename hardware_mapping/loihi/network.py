"""What a fixed-point network is made of: compartment groups, spike inputs, synapse groups.

Every register is validated when a group is created (`hardware_mapping.loihi.registers`), so a
network that exists can run on the chip's arithmetic. Compartments of a group may have their own
register values (one value per compartment) or share one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse

from hardware_mapping.loihi.arithmetic import check_decay, synaptic_input
from hardware_mapping.loihi.registers import (
    BIAS_EXP,
    BIAS_MANT,
    DELAY_BITS,
    NOISE_EXP,
    NOISE_MANT_OFFSET,
    REFRACT_DELAY,
    VMAX_EXP,
    VMIN_EXP,
    VTH_MANT,
    RegisterError,
    RegisterRange,
    integer_register,
)

__all__ = ["CompartmentGroup", "Network", "SpikeInput", "SynapseGroup", "max_delay"]

JOIN_TARGETS = ("v", "u")


def max_delay(delay_bits: int) -> int:
    """Return the longest synaptic delay for a delay field of ``delay_bits`` bits.

    A core's ring of dendritic accumulators has ``2**delay_bits`` slots: one is the current
    step, and a spike at step t with delay d lands in the slot of step t + 1 + d, so
    d <= 2**delay_bits - 2 (62 steps with 6 bits, 14 with the chip's default of 4).
    """
    bits = int(integer_register(delay_bits, DELAY_BITS, 1, "max_delay")[0])
    return max((1 << bits) - 2, 0)


class CompartmentGroup:
    """A population of Loihi compartments and their registers.

    Parameters
    ----------
    name : str
        Unique name within the network.
    n : int
        Number of compartments.
    decay_u, decay_v : int or array_like
        Effective current and voltage decays, 0..4096 (factor (4096 - d)/4096 per step).
    vth_mant : int or array_like
        Threshold mantissa, 0..2**17 - 1; the compartment spikes when v > vth_mant << 6.
    bias_mant, bias_exp : int or array_like
        Bias mantissa (-4095..4095) and exponent (0..7); v receives bias_mant << bias_exp.
    refract_delay : int or array_like
        Refractory delay, 1..63 steps; v is held at 0 for refract_delay - 1 steps after a spike.
    vmin_exp, vmax_exp : int or array_like
        v saturates at -(2**vmin_exp - 1) (0..23) and 2**(9 + 2 vmax_exp) - 1 (0..7).
    noise_exp, noise_mant_offset : int or array_like, optional
        Enable noise: each step adds ``(r + 64 noise_mant_offset) * 2**(noise_exp - 7)``
        (truncated toward zero), r uniform in -127..127, to u's input or to v's.
    noise_target : {"u", "v"}
        Where the noise enters.
    spikes : bool
        False for a compartment that never spikes and passes its v to its parent
        (thresholdBehavior NO_SPIKE_AND_PASS_V_LG_VTH_TO_PARENT); set by `Network.join`.
    """

    def __init__(
        self,
        name: str,
        n: int,
        *,
        decay_u: object = 4096,
        decay_v: object = 0,
        vth_mant: object = VTH_MANT.high,
        bias_mant: object = 0,
        bias_exp: object = 0,
        refract_delay: object = 1,
        vmin_exp: object = VMIN_EXP.high,
        vmax_exp: object = VMAX_EXP.high,
        noise_exp: object | None = None,
        noise_mant_offset: object = 0,
        noise_target: str = "u",
    ) -> None:
        self.name = _check_name(name, "CompartmentGroup")
        self.n = _check_size(n, f"CompartmentGroup {name!r}")
        where = f"CompartmentGroup {name!r}"
        self.decay_u = check_decay(decay_u, self.n, where, "decay_u")
        self.decay_v = check_decay(decay_v, self.n, where, "decay_v")
        self.vth_mant = integer_register(vth_mant, VTH_MANT, self.n, where)
        self.bias_mant = integer_register(bias_mant, BIAS_MANT, self.n, where)
        self.bias_exp = integer_register(bias_exp, BIAS_EXP, self.n, where)
        self.refract_delay = integer_register(refract_delay, REFRACT_DELAY, self.n, where)
        self.vmin_exp = integer_register(vmin_exp, VMIN_EXP, self.n, where)
        self.vmax_exp = integer_register(vmax_exp, VMAX_EXP, self.n, where)
        self.noise_enabled = noise_exp is not None
        self.noise_exp = integer_register(
            0 if noise_exp is None else noise_exp, NOISE_EXP, self.n, where
        )
        self.noise_mant_offset = integer_register(
            noise_mant_offset, NOISE_MANT_OFFSET, self.n, where
        )
        if noise_target not in ("u", "v"):
            raise RegisterError(f"{where}: noise_target = {noise_target!r}; allowed: 'u' or 'v'")
        self.noise_target = noise_target
        self.spikes = True

    def __repr__(self) -> str:
        return f"CompartmentGroup({self.name!r}, n={self.n})"


class SpikeInput:
    """External spikes fed into the network (the host or another chip sending to axons).

    A spike given at step t reaches the synapses' targets at step t + 1 (+ delay), like a
    compartment's spike.

    Parameters
    ----------
    name : str
        Unique name within the network.
    n : int
        Number of input axons.
    steps, indices : array_like of int, optional
        The spikes: axon ``indices[k]`` fires at step ``steps[k]``.
    """

    def __init__(
        self, name: str, n: int, steps: Sequence[int] = (), indices: Sequence[int] = ()
    ) -> None:
        self.name = _check_name(name, "SpikeInput")
        self.n = _check_size(n, f"SpikeInput {name!r}")
        self.set_spikes(steps, indices)

    def set_spikes(self, steps: Sequence[int], indices: Sequence[int]) -> None:
        """Replace the input's spikes (steps and axon indices of equal length)."""
        where = f"SpikeInput {self.name!r}"
        steps = np.asarray(steps)
        indices = np.asarray(indices)
        if steps.shape != indices.shape or steps.ndim != 1:
            raise RegisterError(
                f"{where}: steps {steps.shape} and indices {indices.shape} must be 1-D arrays "
                "of equal length"
            )
        self.steps = integer_register(
            steps, RegisterRange("steps", 0, 2**62, "spike step"), steps.size, where
        )
        self.indices = integer_register(
            indices, RegisterRange("indices", 0, self.n - 1, "axon index"), indices.size, where
        )
        pairs = self.steps * self.n + self.indices
        unique, counts = np.unique(pairs, return_counts=True)
        if (counts > 1).any():
            repeated = int(unique[np.argmax(counts > 1)])
            raise RegisterError(
                f"{where}: axon {repeated % self.n} fires twice at step {repeated // self.n}; "
                "allowed: at most one spike per axon and step"
            )

    @classmethod
    def from_raster(cls, name: str, raster: np.ndarray) -> SpikeInput:
        """Build an input from a boolean raster of shape (steps, axons)."""
        raster = np.asarray(raster)
        if raster.ndim != 2 or raster.dtype != bool:
            raise RegisterError(
                f"SpikeInput {name!r}: raster must be a 2-D boolean array (steps, axons), "
                f"got {raster.dtype} {raster.shape}"
            )
        steps, indices = np.nonzero(raster)
        return cls(name, raster.shape[1], steps, indices)

    def __repr__(self) -> str:
        return f"SpikeInput({self.name!r}, n={self.n}, spikes={self.steps.size})"


class SynapseGroup:
    """Synapses from one group (or input) to another sharing weight format and exponent.

    Parameters
    ----------
    name : str
        Unique name within the network.
    pre : CompartmentGroup or SpikeInput
        The source.
    post : CompartmentGroup
        The target.
    pre_index, post_index : array_like of int
        One entry per synapse.
    weights : array_like of int
        Weight mantissas (-256..255 mixed, 0..255 excitatory, -255..0 inhibitory), multiples
        of 2**(8 - num_weight_bits + is_mixed).
    delays : int or array_like of int
        Extra delay per synapse in steps, 0..`max_delay` (the network's delay bits).
    num_weight_bits : int
        numWeightBits, 1..8.
    sign_mode : {"mixed", "excitatory", "inhibitory"}
        The synapses' sign mode.
    weight_exp : int
        weightExponent, -8..7.
    dense : bool
        Whether the group was built from a full matrix (for resource summaries).
    """

    def __init__(
        self,
        name: str,
        pre: CompartmentGroup | SpikeInput,
        post: CompartmentGroup,
        pre_index: object,
        post_index: object,
        weights: object,
        *,
        delays: object = 0,
        num_weight_bits: int = 8,
        sign_mode: str = "mixed",
        weight_exp: int = 0,
        dense: bool = False,
    ) -> None:
        self.name = _check_name(name, "SynapseGroup")
        where = f"SynapseGroup {name!r}"
        if not isinstance(pre, CompartmentGroup | SpikeInput):
            raise RegisterError(
                f"{where}: pre = {pre!r}; allowed: a CompartmentGroup or SpikeInput"
            )
        if not isinstance(post, CompartmentGroup):
            raise RegisterError(f"{where}: post = {post!r}; allowed: a CompartmentGroup")
        self.pre, self.post = pre, post
        weights = np.asarray(weights)
        size = weights.size
        if weights.ndim != 1:
            raise RegisterError(
                f"{where}: weights must be 1-D (one per synapse), got {weights.shape}"
            )
        self.pre_index = integer_register(
            pre_index,
            RegisterRange("pre_index", 0, pre.n - 1, f"index into {pre.name!r}"),
            size,
            where,
        )
        self.post_index = integer_register(
            post_index,
            RegisterRange("post_index", 0, post.n - 1, f"index into {post.name!r}"),
            size,
            where,
        )
        self.num_weight_bits = num_weight_bits
        self.sign_mode = sign_mode
        self.weight_exp = weight_exp
        # validates the weights, bits, sign mode and exponent together
        self.input_values = synaptic_input(weights, num_weight_bits, sign_mode, weight_exp, where)
        self.weights = weights.astype(np.int64)
        self.delays = integer_register(
            delays, RegisterRange("delays", 0, 2**62, "delay in steps"), size, where
        )
        self.dense = dense

    @classmethod
    def from_matrix(
        cls,
        name: str,
        pre: CompartmentGroup | SpikeInput,
        post: CompartmentGroup,
        weights: np.ndarray | scipy.sparse.sparray | scipy.sparse.spmatrix,
        *,
        delays: object = 0,
        **options: object,
    ) -> SynapseGroup:
        """Build a group from a (pre, post) weight matrix.

        A numpy matrix makes a dense group (every pair is a synapse, zeros included); a scipy
        sparse matrix makes a sparse group of its stored entries. ``delays`` is a scalar or a
        matrix of the same shape (and, if sparse, the same stored entries).
        """
        where = f"SynapseGroup {name!r}"
        if scipy.sparse.issparse(weights):
            coo = scipy.sparse.coo_array(weights)
            _check_shape(coo.shape, pre, post, where)
            if np.ndim(delays) == 0:
                delay_values = delays
            else:
                delay_coo = scipy.sparse.coo_array(delays)
                if delay_coo.shape != coo.shape or not (
                    np.array_equal(delay_coo.row, coo.row)
                    and np.array_equal(delay_coo.col, coo.col)
                ):
                    raise RegisterError(
                        f"{where}: delays must be a scalar or a sparse matrix with the same "
                        "stored entries as the weights"
                    )
                delay_values = delay_coo.data
            return cls(name, pre, post, coo.row, coo.col, coo.data, delays=delay_values, **options)
        matrix = np.asarray(weights)
        if matrix.ndim != 2:
            raise RegisterError(
                f"{where}: weights must be a 2-D (pre, post) matrix, got {matrix.shape}"
            )
        _check_shape(matrix.shape, pre, post, where)
        rows, cols = np.indices(matrix.shape)
        delay_values = delays if np.ndim(delays) == 0 else np.asarray(delays)
        if np.ndim(delay_values) != 0:
            if np.shape(delay_values) != matrix.shape:
                raise RegisterError(
                    f"{where}: delays have shape {np.shape(delay_values)}; allowed: a scalar or "
                    f"the weights' shape {matrix.shape}"
                )
            delay_values = delay_values.ravel()
        return cls(
            name,
            pre,
            post,
            rows.ravel(),
            cols.ravel(),
            matrix.ravel(),
            delays=delay_values,
            dense=True,
            **options,
        )

    @property
    def size(self) -> int:
        """The number of synapses."""
        return int(self.weights.size)

    def __repr__(self) -> str:
        return (
            f"SynapseGroup({self.name!r}, {self.pre.name!r} -> {self.post.name!r}, n={self.size})"
        )


class Network:
    """Compartment groups, spike inputs, synapse groups and dendritic joins.

    Parameters
    ----------
    delay_bits : int
        Bits of the synaptic delay field, 0..6 (the chip's default is 4: longer delays cost
        compartments per core). Delays up to `max_delay` are accepted.
    join_target : {"v", "u"}
        Where a parent compartment adds the voltages its children push (joinOp ADD). The public
        record does not settle it. ``"v"`` (default) adds them to the voltage
        input beside u and the bias: ``v = D(v) + u + bias + sum(v_child)``, which is the
        paper's equation ``v_main(t) = ... + v_aux(t)`` for any current decay. ``"u"`` adds them
        to the current's input: ``u = D(u) + q + sum(v_child)``. With decay_u = 4096 in the
        parent (as the paper does) both give the same numbers.
    """

    def __init__(self, delay_bits: int = 4, join_target: str = "v") -> None:
        self.delay_bits = int(integer_register(delay_bits, DELAY_BITS, 1, "Network")[0])
        if join_target not in JOIN_TARGETS:
            raise RegisterError(
                f"Network: join_target = {join_target!r}; allowed: {', '.join(JOIN_TARGETS)}"
            )
        self.join_target = join_target
        self.groups: dict[str, CompartmentGroup] = {}
        self.inputs: dict[str, SpikeInput] = {}
        self.synapses: dict[str, SynapseGroup] = {}
        self.joins: list[tuple[CompartmentGroup, CompartmentGroup]] = []

    def add(self, *items: CompartmentGroup | SpikeInput | SynapseGroup) -> None:
        """Add groups, inputs and synapse groups (their endpoints must already be added)."""
        for item in items:
            if item.name in self.groups or item.name in self.inputs or item.name in self.synapses:
                raise RegisterError(f"Network: the name {item.name!r} is already used")
            if isinstance(item, CompartmentGroup):
                self.groups[item.name] = item
            elif isinstance(item, SpikeInput):
                self.inputs[item.name] = item
            elif isinstance(item, SynapseGroup):
                self._check_member(item.pre, item.name)
                self._check_member(item.post, item.name)
                limit = max_delay(self.delay_bits)
                if item.size and item.delays.max() > limit:
                    index = int(np.argmax(item.delays))
                    raise RegisterError(
                        f"SynapseGroup {item.name!r}: delays[{index}] = {item.delays[index]} "
                        f"exceeds the {limit} steps that {self.delay_bits} delay bits allow "
                        f"(allowed 0..{limit}; Network(delay_bits=...) up to 6 gives 0..62)"
                    )
                self.synapses[item.name] = item
            else:
                raise RegisterError(f"Network.add: cannot add {item!r}")

    def join(self, child: CompartmentGroup, parent: CompartmentGroup) -> None:
        """Make each compartment of ``child`` push its v into the same-index one of ``parent``.

        The child stops spiking (thresholdBehavior NO_SPIKE_AND_PASS_V_LG_VTH_TO_PARENT,
        stackOut PUSH); the parent adds the pushed value (stackIn POP_A, joinOp ADD) where
        ``join_target`` says.
        """
        self._check_member(child, "join")
        self._check_member(parent, "join")
        if child.n != parent.n:
            raise RegisterError(
                f"Network.join: child {child.name!r} has {child.n} compartments, parent "
                f"{parent.name!r} has {parent.n}; allowed: equal sizes (one child per parent)"
            )
        if child is parent or any(c is child for c, _ in self.joins):
            raise RegisterError(f"Network.join: {child.name!r} already has a parent")
        ancestor = parent
        while ancestor is not None:
            if ancestor is child:
                raise RegisterError("Network.join: the joins would form a cycle")
            ancestor = next((p for c, p in self.joins if c is ancestor), None)
        child.spikes = False
        self.joins.append((child, parent))

    def _check_member(self, item: CompartmentGroup | SpikeInput, context: str) -> None:
        known = self.groups.get(item.name) or self.inputs.get(item.name)
        if known is not item:
            raise RegisterError(f"{context}: {item.name!r} has not been added to the network")

    @property
    def n_compartments(self) -> int:
        """The total number of compartments."""
        return sum(group.n for group in self.groups.values())

    def __repr__(self) -> str:
        return (
            f"Network({len(self.groups)} groups, {self.n_compartments} compartments, "
            f"{sum(s.size for s in self.synapses.values())} synapses)"
        )


def _check_name(name: object, kind: str) -> str:
    if not isinstance(name, str) or not name:
        raise RegisterError(f"{kind}: name = {name!r}; allowed: a non-empty string")
    return name


def _check_size(n: object, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise RegisterError(f"{where}: n = {n!r}; allowed: a positive integer")
    return int(n)


def _check_shape(shape: tuple[int, ...], pre: object, post: CompartmentGroup, where: str) -> None:
    if tuple(shape) != (pre.n, post.n):
        raise RegisterError(
            f"{where}: weight matrix has shape {tuple(shape)}; allowed: ({pre.n}, {post.n}) "
            f"= ({pre.name!r}, {post.name!r})"
        )
