"""Bit-accurate simulation of a fixed-point network (Loihi 1 arithmetic, or Lava's).

`Simulator` lays a `Network` out in flat arrays, runs the compiled step loop of
`hardware_mapping.loihi.kernel` and returns what was recorded as a `FixedPointRun`.

Step semantics (step 0 is the first step), for every compartment in order, children first::

    q  = input arriving this step (+ noise if it targets u)     21 bits + sign, wraps
    u  = wrap24(D(u, decay_u) + q)                              [+ children's v, join_target "u"]
    w  = wrap24(u + bias (+ noise if it targets v))
    v  = clip(D(v, decay_v) + w, vmin, vmax)                    [+ children's v, join_target "v"]
    v  = 0 while refractory;  spike if v > vth;  on spike v = 0 and the refractory count starts

A spike at step t (a compartment's, or an external input's) lands at step t + 1 + delay.
This is nengo-loihi's emulator step (validated against the chip), including its wrap of
u + bias; tests compare the two bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hardware_mapping.loihi import kernel
from hardware_mapping.loihi.arithmetic import bias_value, vmax_value, vmin_value
from hardware_mapping.loihi.network import CompartmentGroup, Network, SpikeInput
from hardware_mapping.loihi.registers import (
    BIAS_EXP,
    BIAS_MANT,
    Q_BITS,
    VTH_SHIFT,
    RegisterError,
    RegisterRange,
    integer_register,
)

__all__ = ["MODES", "FixedPointOverflow", "FixedPointRun", "Simulator"]

MODES = ("loihi", "lava")
# Steps per kernel call when noise is drawn: bounds the memory of the (steps, n) draw block.
_NOISE_BLOCK_ELEMENTS = 1 << 22


class FixedPointOverflow(ArithmeticError):
    """An overflow in strict mode, naming the compartment, step and value."""


@dataclass
class FixedPointRun:
    """What one `Simulator.run` recorded.

    Attributes
    ----------
    first_step, n_steps : int
        The steps covered: ``first_step .. first_step + n_steps - 1``.
    recorded : dict of str to numpy.ndarray
        Per group, the recorded compartment indices (columns of ``u``, ``v``, ``spikes``).
    u, v : dict of str to numpy.ndarray
        Per group, int64 arrays (n_steps, recorded) of the state after each step.
    spikes : dict of str to numpy.ndarray
        Per group, bool arrays (n_steps, recorded).
    spike_counts : dict of str to numpy.ndarray
        Per group, spikes of every compartment during this run.
    counters : pandas.DataFrame
        One row per step: ``step``, ``synaptic_ops`` (synapses whose spike was delivered),
        ``neuron_updates`` (compartments updated), ``active_updates`` (of those, with a
        nonzero input, state or bias), ``spikes``, ``overflows`` (wrapped values, non-strict
        mode) and ``saturations`` (v held at vmin or vmax).
    """

    first_step: int
    n_steps: int
    recorded: dict[str, np.ndarray] = field(default_factory=dict)
    u: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    spike_counts: dict[str, np.ndarray] = field(default_factory=dict)
    counters: pd.DataFrame = field(default_factory=pd.DataFrame)

    def spike_events(self, group: str) -> pd.DataFrame:
        """Return the recorded spikes of a group as a table of ``step`` and ``index``."""
        steps, columns = np.nonzero(self.spikes[group])
        return pd.DataFrame(
            {"step": steps + self.first_step, "index": self.recorded[group][columns]}
        )


class Simulator:
    """Run a `Network` in Loihi 1's integer arithmetic (or Lava's bit-accurate LIF/Dense).

    Parameters
    ----------
    network : Network
        The network; it is laid out once, later changes to it are not seen.
    mode : {"loihi", "lava"}
        ``"loihi"``: the chip's arithmetic (nengo-loihi's emulator, validated on the chip).
        ``"lava"``: Lava's ``PyLifModelBitAcc`` and ``PyDenseModelBitAcc``
        (`hardware_mapping.loihi.lava` builds such networks).
    strict : bool
        True: the first overflow raises `FixedPointOverflow`. False: values wrap as on the
        chip and every event is counted (``counters["overflows"]``).
    seed : int, optional
        Seed of the noise generator (numpy ``RandomState``, one draw of -127..127 per
        compartment per step, as nengo-loihi's emulator draws). Needed if any group has noise.
    record : "all" or mapping of group name to indices, optional
        Compartments whose u, v and spikes are kept every step. Spike counts and the
        per-step counters are always kept.
    """

    def __init__(
        self,
        network: Network,
        *,
        mode: str = "loihi",
        strict: bool = False,
        seed: int | None = None,
        record: str | Mapping[str, object] | None = None,
    ) -> None:
        if mode not in MODES:
            raise RegisterError(f"Simulator: mode = {mode!r}; allowed: {', '.join(MODES)}")
        if not network.groups:
            raise RegisterError("Simulator: the network has no compartment groups")
        self.network = network
        self.mode = mode
        self.strict = bool(strict)
        self._layout(network)
        if mode == "lava":
            self._check_lava(network)
        self._registers()
        self._synapses(network)
        self._recording(record)
        uses_noise = any(g.noise_enabled for g in self.groups)
        if uses_noise and seed is None:
            raise RegisterError("Simulator: a group has noise; give seed= for reproducibility")
        self._rng = np.random.RandomState(seed) if uses_noise else None
        self.step = 0
        # narrow types: the loop is bound by memory traffic (24-bit state, refractory <= 63)
        self.u = np.zeros(self.n, dtype=np.int32)
        self.v = np.zeros(self.n, dtype=np.int32)
        self.refractory = np.zeros(self.n, dtype=np.int8)
        self._lane = self._choose_lane()
        self._pushed = np.zeros(self.n if network.joins else 0, dtype=self._lane)

    # -- layout -----------------------------------------------------------------------------

    def _layout(self, network: Network) -> None:
        parent_of = {child.name: parent for child, parent in network.joins}

        def depth(group: CompartmentGroup) -> int:
            levels = 0
            while group.name in parent_of:
                group = parent_of[group.name]
                levels += 1
            return levels

        # children before parents: the deepest groups first, insertion order otherwise
        self.groups = sorted(network.groups.values(), key=depth, reverse=True)
        self.offsets: dict[str, int] = {}
        start = 0
        for group in self.groups:
            self.offsets[group.name] = start
            start += group.n
        self.n = start
        levels = [depth(group) for group in self.groups]
        # compartments of one level are updated in one vectorized pass, deepest level first
        bounds = [0]
        for index in range(1, len(self.groups)):
            if levels[index] != levels[index - 1]:
                bounds.append(self.offsets[self.groups[index].name])
        self.level_bounds = np.array([*bounds, self.n], dtype=np.int64)
        self.parent = np.full(self.n, -1, dtype=np.int32)
        for child, parent in network.joins:
            first = self.offsets[child.name]
            self.parent[first : first + child.n] = self.offsets[parent.name] + np.arange(parent.n)
        self.input_offsets: dict[str, int] = {}
        start = self.n
        for spike_input in network.inputs.values():
            self.input_offsets[spike_input.name] = start
            start += spike_input.n
        self.n_sources = start

    def _concat(self, attribute: str) -> np.ndarray:
        return np.concatenate([getattr(g, attribute) for g in self.groups]).astype(np.int64)

    def _registers(self) -> None:
        self.keep_u = (4096 - self._concat("decay_u")).astype(np.int16)
        self.keep_v = (4096 - self._concat("decay_v")).astype(np.int16)
        self.bias = bias_value(self._concat("bias_mant"), self._concat("bias_exp")).astype(np.int32)
        self.vth = (self._concat("vth_mant") << VTH_SHIFT).astype(np.int32)
        self.vmin = vmin_value(self._concat("vmin_exp"))
        self.vmax = vmax_value(self._concat("vmax_exp"))
        self._vmin_exp = self._concat("vmin_exp").astype(np.int8)
        self._vmax_exp = self._concat("vmax_exp").astype(np.int8)
        self.refract_delay = self._concat("refract_delay").astype(np.int8)
        self.can_spike = np.concatenate([np.full(g.n, g.spikes) for g in self.groups])
        self.noise_enabled = np.concatenate([np.full(g.n, g.noise_enabled) for g in self.groups])
        self.noise_exp = self._concat("noise_exp")
        self.noise_offset = self._concat("noise_mant_offset")
        self.noise_into_v = np.concatenate(
            [np.full(g.n, g.noise_target == "v") for g in self.groups]
        )

    def _synapses(self, network: Network) -> None:
        sources, ports, values, delays = [], [], [], []
        port_target, port_shift = [], []
        n_ports = 0 if self.mode == "lava" else self.n
        for group in network.synapses.values():
            pre_offset = (
                self.offsets[group.pre.name]
                if isinstance(group.pre, CompartmentGroup)
                else self.input_offsets[group.pre.name]
            )
            post_global = self.offsets[group.post.name] + group.post_index
            sources.append(pre_offset + group.pre_index)
            delays.append(group.delays)
            if self.mode == "lava":
                # one accumulator per (Dense process, target): the exponent applies to the sum
                ports.append(n_ports + group.post_index)
                port_target.append(self.offsets[group.post.name] + np.arange(group.post.n))
                port_shift.append(np.full(group.post.n, group.weight_exp))
                n_ports += group.post.n
                values.append(group.weights)
            else:
                ports.append(post_global)
                values.append(group.input_values)
        source = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
        order = np.argsort(source, kind="stable")
        self.syn_ptr = np.concatenate(
            ([0], np.cumsum(np.bincount(source, minlength=self.n_sources)))
        ).astype(np.int64)
        # narrow types (|value| <= 2**21, delay <= 62): synapse memory is what a spike reads
        self.syn_port = _gather(ports, order).astype(np.int32)
        self.syn_value = _gather(values, order).astype(np.int32)
        self.syn_delay = _gather(delays, order).astype(np.int8)
        if self.mode == "lava":
            self.port_target = _gather(port_target, None)
            self.port_shift = _gather(port_shift, None)
        else:
            self.port_target = np.arange(self.n, dtype=np.int64)
            self.port_shift = np.zeros(self.n, dtype=np.int64)
        # slots for this step, the next one and every delay: a spike delivered during this
        # step's pass must not land in the slot still being read
        ring = int(self.syn_delay.max()) + 2 if self.syn_delay.size else 2
        # Each synapse adds at most once to a slot, so a slot never holds more than the sum of
        # its port's |values|: where that fits 31 bits, int32 slots are exact (half the memory
        # traffic of the compartment pass), else int64. Lava mode shifts and sums several ports
        # into one input, so it always takes int64.
        fan_in = np.bincount(
            self.syn_port, weights=np.abs(self.syn_value), minlength=self.port_target.size
        )
        wide = self.mode == "lava" or (fan_in.size and fan_in.max() >= 2**31)
        self._input_bound = fan_in
        self._accumulators = np.zeros(
            (ring, self.port_target.size), dtype=np.int64 if wide else np.int32
        )

    def _choose_lane(self) -> type:
        """Return the integer type of the compartment arithmetic: np.int32 or np.int64.

        int32 lanes hold twice as many compartments per vector instruction as int64. They are
        used only where no intermediate value can leave 31 bits + sign before the chip's own
        wrap or clip: Loihi mode (Lava's u wrap is not modular), int32 accumulators, and the
        bounds below, per compartment, from its registers, noise and dendritic children.
        """
        if self.mode != "loihi" or self._accumulators.dtype != np.int32:
            return np.int64
        # noise: (r + 64 offset) * 2**(exp - 7), |r| <= 127
        mantissa = 127 + 64 * np.abs(self.noise_offset)
        shift = self.noise_exp - 7
        noise = np.where(
            shift >= 0, mantissa << np.maximum(shift, 0), mantissa >> -np.minimum(shift, 0)
        )
        noise = np.where(self.noise_enabled, noise, 0)
        noise_u = np.where(self.noise_into_v, 0, noise)
        noise_v = np.where(self.noise_into_v, noise, 0)
        children = np.bincount(self.parent[self.parent >= 0], minlength=self.n)
        joined = children.astype(np.int64) << 23  # |v| <= 2**23 per child
        state = np.int64(1) << 23  # |u|, |v| and a wrapped u + bias
        wrapped_q = np.int64(1) << Q_BITS  # q after its wrap (Loihi mode: on the u scale)
        largest = max(
            int((self._input_bound + noise_u).max(initial=0)),  # q + noise
            int((state + wrapped_q + joined).max(initial=0)),  # D(u) + q (+ children)
            int((state + np.abs(self.bias) + noise_v).max(initial=0)),  # u + bias + noise
            int((2 * state + joined).max(initial=0)),  # D(v) + drive (+ children)
        )
        return np.int32 if largest < 2**31 else np.int64

    def _check_lava(self, network: Network) -> None:
        problems = []
        if network.joins:
            problems.append("dendritic joins (Lava's LIF has one compartment)")
        for group in self.groups:
            if group.noise_enabled:
                problems.append(f"noise in {group.name!r}")
            if (group.refract_delay != 1).any():
                problems.append(f"refract_delay != 1 in {group.name!r} (no refractory period)")
            if (group.vmin_exp != 23).any() or (group.vmax_exp != 7).any():
                problems.append(f"vmin/vmax in {group.name!r} (v clips at +-(2**23 - 1))")
        for synapses in network.synapses.values():
            if synapses.size and synapses.delays.any() and synapses.weight_exp < 0:
                problems.append(
                    f"delays with a negative weight_exp in {synapses.name!r} (DelayDense "
                    "shifts each step's sum before delaying it)"
                )
        if problems:
            raise RegisterError(
                "Simulator(mode='lava'): Lava's bit-accurate LIF and Dense do not have "
                + "; ".join(problems)
            )

    def _recording(self, record: str | Mapping[str, object] | None) -> None:
        if record is None:
            record = {}
        elif record == "all":
            record = {g.name: np.arange(g.n) for g in self.groups}
        elif not isinstance(record, Mapping):
            raise RegisterError(
                f"Simulator: record = {record!r}; allowed: 'all' or a mapping of group names "
                "to compartment indices"
            )
        self.recorded: dict[str, np.ndarray] = {}
        columns = []
        for name, indices in record.items():
            if name not in self.offsets:
                raise RegisterError(
                    f"Simulator: record names group {name!r}; the network has "
                    f"{', '.join(self.offsets)}"
                )
            group = self.network.groups[name]
            chosen = (
                np.arange(group.n)[indices] if not _is_index_array(indices) else np.asarray(indices)
            )
            if chosen.size and (chosen.min() < 0 or chosen.max() >= group.n):
                raise RegisterError(
                    f"Simulator: record[{name!r}] has indices outside 0..{group.n - 1}"
                )
            self.recorded[name] = np.unique(chosen).astype(np.int64)
            columns.append(self.offsets[name] + self.recorded[name])
        self.record_index = (
            np.concatenate(columns).astype(np.int64) if columns else np.zeros(0, dtype=np.int64)
        )
        self.record_column = np.full(self.n, -1, dtype=np.int32)
        self.record_column[self.record_index] = np.arange(self.record_index.size)

    # -- running ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Return to rest at step 0: every u, v, refractory count and dendritic accumulator 0.

        Registers changed with `set_bias` keep their values; the noise generator is not
        reseeded.
        """
        self.step = 0
        for state in (self.u, self.v, self.refractory, self._accumulators, self._pushed):
            state[...] = 0

    def run(
        self,
        n_steps: int,
        inputs: Mapping[str, tuple[object, object]] | None = None,
    ) -> FixedPointRun:
        """Advance ``n_steps`` steps from the current state and return what was recorded.

        Parameters
        ----------
        n_steps : int
            Steps to run.
        inputs : mapping of str to (steps, indices), optional
            Spikes of named `SpikeInput` for this run instead of theirs (the network is not
            changed): axon ``indices[k]`` fires at absolute step ``steps[k]``.

        Raises
        ------
        FixedPointOverflow
            In strict mode, at the first overflow (the state is then left mid-step).
        """
        if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 0:
            raise RegisterError(f"Simulator.run: n_steps = {n_steps!r}; allowed: an integer >= 0")
        n_steps = int(n_steps)
        m = self.record_index.size
        record_u = np.zeros((n_steps, m), dtype=np.int64)
        record_v = np.zeros((n_steps, m), dtype=np.int64)
        record_spikes = np.zeros((n_steps, m), dtype=bool)
        spike_count = np.zeros(self.n, dtype=np.int64)
        counters = {
            name: np.zeros(n_steps, dtype=np.int64)
            for name in ("synaptic_ops", "active_updates", "spikes", "overflows", "saturations")
        }
        input_steps, input_sources = self._input_events(inputs or {})
        first = self.step
        block = n_steps if self._rng is None else max(1, _NOISE_BLOCK_ELEMENTS // self.n)
        done = 0
        while done < n_steps:
            count = min(block, n_steps - done)
            start = self.step
            lo, hi = np.searchsorted(input_steps, [start, start + count])
            input_ptr = np.searchsorted(input_steps[lo:hi], np.arange(start, start + count + 1))
            noise = (
                self._rng.randint(-127, 128, size=(count, self.n), dtype=np.int32)
                if self._rng is not None
                else np.zeros((0, self.n), dtype=np.int32)
            )
            rows = slice(done, done + count)
            error = np.zeros(4, dtype=np.int64)
            completed = kernel.advance(
                count,
                start,
                self.u,
                self.v,
                self.refractory,
                self._accumulators,
                self._pushed,
                self.keep_u,
                self.keep_v,
                self.bias,
                self.vth,
                self._vmin_exp,
                self._vmax_exp,
                self.refract_delay,
                self.parent,
                self.can_spike,
                self.level_bounds,
                self.network.join_target == "u",
                self.mode == "lava",
                self.syn_ptr,
                self.syn_port,
                self.syn_value,
                self.syn_delay,
                self.port_target,
                self.port_shift,
                input_ptr.astype(np.int64),
                input_sources[lo:hi],
                noise,
                self.noise_enabled,
                self.noise_offset,
                self.noise_exp,
                self.noise_into_v,
                self.record_index,
                self.record_column,
                record_u[rows],
                record_v[rows],
                record_spikes[rows],
                spike_count,
                counters["synaptic_ops"][rows],
                counters["active_updates"][rows],
                counters["spikes"][rows],
                counters["overflows"][rows],
                counters["saturations"][rows],
                self.strict,
                error,
                self._lane,
            )
            if completed < count:
                self._raise_overflow(error)
            self.step += count
            done += count
        return self._collect(
            first, n_steps, record_u, record_v, record_spikes, spike_count, counters
        )

    def _input_events(
        self, overrides: Mapping[str, tuple[object, object]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return all external spikes as (step, source row), sorted by step."""
        unknown = sorted(set(overrides) - set(self.network.inputs))
        if unknown:
            raise RegisterError(
                f"Simulator.run: inputs names {unknown[0]!r}; the network's inputs are "
                f"{', '.join(self.network.inputs) or 'none'}"
            )
        steps, sources = [], []
        for spike_input in self.network.inputs.values():
            if spike_input.name in overrides:
                # checked like the input's own spikes, on a copy
                given = SpikeInput(spike_input.name, spike_input.n, *overrides[spike_input.name])
                spike_input = given
            steps.append(spike_input.steps)
            sources.append(self.input_offsets[spike_input.name] + spike_input.indices)
        if not steps:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        steps_all = np.concatenate(steps)
        order = np.argsort(steps_all, kind="stable")
        return steps_all[order], np.concatenate(sources)[order].astype(np.int64)

    def _raise_overflow(self, error: np.ndarray) -> None:
        kind, step, index, value = (int(x) for x in error)
        group, local = self.locate(index)
        bits = Q_BITS + 1 if kind == kernel.Q_OVERFLOW else 24
        half = 1 << (bits - 1)
        raise FixedPointOverflow(
            f"overflow of the {kernel.OVERFLOW_KINDS[kind]} in CompartmentGroup {group!r}"
            f"[{local}] at step {step}: value {value} is outside {-half}..{half - 1} "
            f"({bits}-bit two's complement); Simulator(strict=False) wraps as the chip does "
            "and counts the events"
        )

    def locate(self, index: int) -> tuple[str, int]:
        """Return (group name, index in the group) of a global compartment index."""
        for group in self.groups:
            offset = self.offsets[group.name]
            if offset <= index < offset + group.n:
                return group.name, index - offset
        raise IndexError(f"compartment {index} is outside 0..{self.n - 1}")

    def _collect(
        self,
        first: int,
        n_steps: int,
        record_u: np.ndarray,
        record_v: np.ndarray,
        record_spikes: np.ndarray,
        spike_count: np.ndarray,
        counters: dict[str, np.ndarray],
    ) -> FixedPointRun:
        result = FixedPointRun(first_step=first, n_steps=n_steps)
        column = 0
        for name, indices in self.recorded.items():
            columns = slice(column, column + indices.size)
            column += indices.size
            result.recorded[name] = indices
            result.u[name] = record_u[:, columns]
            result.v[name] = record_v[:, columns]
            result.spikes[name] = record_spikes[:, columns]
        for group in self.groups:
            offset = self.offsets[group.name]
            result.spike_counts[group.name] = spike_count[offset : offset + group.n]
        result.counters = pd.DataFrame(
            {
                "step": np.arange(first, first + n_steps),
                "synaptic_ops": counters["synaptic_ops"],
                "neuron_updates": np.full(n_steps, self.n, dtype=np.int64),
                "active_updates": counters["active_updates"],
                "spikes": counters["spikes"],
                "overflows": counters["overflows"],
                "saturations": counters["saturations"],
            }
        )
        return result

    def set_bias(self, group: str, bias_mant: object, bias_exp: object = 0) -> None:
        """Rewrite a group's bias registers between runs, as the host does on the chip.

        The simulator's copy changes; the `Network` and its groups keep their values.

        Parameters
        ----------
        group : str
            The compartment group.
        bias_mant, bias_exp : int or array_like
            One value or one per compartment (|mant| <= 4095, exp 0..7).
        """
        if group not in self.offsets:
            raise RegisterError(f"Simulator.set_bias: no group {group!r}")
        n = self.network.groups[group].n
        where = f"Simulator.set_bias {group!r}"
        mant = integer_register(bias_mant, BIAS_MANT, n, where)
        exp = integer_register(bias_exp, BIAS_EXP, n, where)
        offset = self.offsets[group]
        self.bias[offset : offset + n] = bias_value(mant, exp)
        # the bias enters the bound on u + bias that chose the lanes
        self._lane = self._choose_lane()
        self._pushed = self._pushed.astype(self._lane)

    def set_state(self, group: str, *, u: object = None, v: object = None) -> None:
        """Set the current u and/or voltage v of a group's compartments (e.g. initial values).

        u must fit 24-bit two's complement and v the group's vmin..vmax; nothing is clipped.
        """
        if group not in self.offsets:
            raise RegisterError(f"Simulator.set_state: no group {group!r}")
        offset = self.offsets[group]
        n = self.network.groups[group].n
        rows = slice(offset, offset + n)
        where = f"Simulator.set_state {group!r}"
        if u is not None:
            self.u[rows] = integer_register(
                u, RegisterRange("u", -(2**23), 2**23 - 1, "24-bit current"), n, where
            )
        if v is not None:
            values = integer_register(
                v, RegisterRange("v", -(2**23), 2**23 - 1, "24-bit voltage"), n, where
            )
            outside = (values < self.vmin[rows]) | (values > self.vmax[rows])
            if outside.any():
                index = int(np.flatnonzero(outside)[0])
                raise RegisterError(
                    f"{where}: v[{index}] = {values[index]} is outside the group's "
                    f"{self.vmin[rows][index]}..{self.vmax[rows][index]} (vmin_exp, vmax_exp)"
                )
            self.v[rows] = values

    def state(self, group: str) -> dict[str, np.ndarray]:
        """Return copies of a group's current u, v and refractory counters."""
        offset = self.offsets[group]
        rows = slice(offset, offset + self.network.groups[group].n)
        return {
            "u": self.u[rows].astype(np.int64),
            "v": self.v[rows].astype(np.int64),
            "refractory": self.refractory[rows].astype(np.int64),
        }


def _gather(parts: list[np.ndarray], order: np.ndarray | None) -> np.ndarray:
    joined = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    return joined if order is None else joined[order]


def _is_index_array(indices: object) -> bool:
    return isinstance(indices, Iterable) and not isinstance(indices, slice | str)
