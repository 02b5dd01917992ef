"""The compiled step loop of the fixed-point simulator (numba).

One call advances every compartment by a number of steps. All arrays are flat over the
network's compartments, laid out so that every child compartment comes before its parent
(the chip pushes a child's voltage onto the dendritic stack before the parent pops it).
Synapses are stored as CSR rows, one row per spike source (compartments first, then the axons
of external inputs); a synapse adds its value to an input port, the slot
``(step + 1 + delay) mod L`` of a ring of dendritic accumulators. In the Loihi mode a port is a
compartment; in the Lava mode a port is one Dense process's accumulator for one compartment,
so that the weight exponent applies to the sum (Lava's ``PyDenseModelBitAcc``).

The arithmetic is that of `hardware_mapping.loihi.arithmetic`. Each step has two passes: a
branch-free update of every compartment that the compiler vectorizes (SIMD), split in ranges
so that children are updated and pushed before their parents, and a scalar pass over the
compartments that spiked, which delivers their synapses. Strict mode keeps a copy of the
inputs of the step so that it can name the first compartment that overflowed.
"""

from __future__ import annotations

import sys

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

__all__ = ["OVERFLOW_KINDS", "advance"]

if sys.byteorder != "little":  # the spike scan reads byte i of a word at bits 8i..8i+7
    raise ImportError("hardware_mapping.loihi.kernel needs a little-endian machine")

# Codes the kernel reports for overflows (index into OVERFLOW_KINDS).
OVERFLOW_KINDS = (
    "",
    "synaptic input q (21 bits + sign)",
    "current u (23 bits + sign)",
    "u + bias (23 bits + sign)",
)
Q_OVERFLOW, U_OVERFLOW, U_BIAS_OVERFLOW = 1, 2, 3

# Wrapping rules of the current u: the chip's two's complement, or Lava's (see lava.py).
WRAP_TWOS_COMPLEMENT, WRAP_LAVA = 0, 1

# The conventions of each mode: (magnitude bits of the q wrap, 0 for none; left shift of q onto
# the u scale; wrap rule of u; whether u + bias wraps). Loihi's inputs already carry the 2**6
# of the weight; Lava's Dense sums carry it in the neuron (``PyLifModelBitAcc``).
LOIHI_CONVENTIONS = (21, 0, WRAP_TWOS_COMPLEMENT, True)
LAVA_CONVENTIONS = (0, 6, WRAP_LAVA, False)


@numba.njit(cache=True, inline="always")
def _decay(x, keep, lane):
    # sign(x) * ((|x| * keep) >> 12): truncation toward zero, written as a select. The product
    # is split at bit 12, (a * k) >> 12 == (a >> 12) * k + ((a & 4095) * k >> 12) exactly, so
    # that for |x| <= 2**23 no term exceeds 24 bits and int32 lanes hold it.
    magnitude = np.abs(x)
    high = lane(lane(magnitude >> 12) * keep)
    magnitude = lane(high + lane(lane(lane(magnitude & 4095) * keep) >> 12))
    return magnitude if x >= 0 else lane(-magnitude)


@numba.njit(cache=True, inline="always")
def _shift(x, exponent):
    # left shift for exponent >= 0, arithmetic (flooring) right shift otherwise
    if exponent >= 0:
        return x << exponent
    return x >> (-exponent)


@numba.njit(cache=True, inline="always")
def _wrap(x, magnitude_bits, lane):
    # lane arithmetic is modular, so x + half may wrap the lane: the low bits stay exact
    half = lane(lane(1) << magnitude_bits)
    return lane(lane(lane(x + half) & lane(2 * half - 1)) - half)


@numba.njit(cache=True, inline="always")
def _wrap_lava(x, magnitude_bits, lane):
    # Lava's PyLifModelBitAcc: > max subtracts 2 max, <= -max adds 2 max (max = 2**23)
    limit = lane(lane(1) << magnitude_bits)
    high = lane(x - 2 * limit) if x > limit else x
    return lane(x + 2 * limit) if x <= -limit else high


@numba.njit(cache=True, inline="always")
def _currents(
    q,
    noise_u,
    noise_v,
    join,
    u_old,
    keep_u,
    bias,
    join_into_u,
    q_bits,
    input_shift,
    u_rule,
    wrap_ub,
    lane,
):
    """The input chain of one compartment.

    Returns (q, u, drive, join into v, overflows, unwrapped q, unwrapped u, unwrapped drive);
    overflows has bit ``kind - 1`` set for each overflow kind that wrapped (branch-free, so
    that the pass over compartments vectorizes). ``lane`` is the integer type of the
    arithmetic: np.int64, or np.int32 where the simulator has proven that no unwrapped
    intermediate exceeds 31 bits (see `Simulator`).
    """
    q = lane(q + noise_u)
    q_raw = q
    if q_bits > 0:
        q = _wrap(q, q_bits, lane)
    overflows = lane(q != q_raw)
    q = lane(q << input_shift)
    join_v = join
    if join_into_u:
        q = lane(q + join)
        join_v = lane(0)
    u_raw = lane(_decay(u_old, keep_u, lane) + q)
    u_new = (
        _wrap(u_raw, 23, lane) if u_rule == WRAP_TWOS_COMPLEMENT else _wrap_lava(u_raw, 23, lane)
    )
    overflows |= lane(u_new != u_raw) << 1
    drive_raw = lane(lane(u_new + bias) + noise_v)
    drive = _wrap(drive_raw, 23, lane) if wrap_ub else drive_raw
    overflows |= lane(drive != drive_raw) << 2
    return q, u_new, drive, join_v, overflows, q_raw, u_raw, drive_raw


@numba.njit(cache=True, inline="always")
def _update(
    q_in,
    noise_u,
    noise_v,
    pushed,
    u,
    v,
    refractory,
    spiked,
    keep_u,
    keep_v,
    bias,
    vth,
    vmin_exp,
    vmax_exp,
    refract_delay,
    can_spike,
    join_into_u,
    q_bits,
    input_shift,
    u_rule,
    wrap_ub,
    lane,
):
    """Update the compartments of equal-length array slices (one level of the layout).

    The loop has no branches the vectorizer cannot turn into selects, and it runs from 0 over
    whole slices: an index that may be negative (``range(lo, hi)``) makes numba add
    wraparound checks that block vectorization.

    Returns the counts (overflows, saturations, active updates, spikes).
    """
    use_noise = noise_u.shape[0] > 0
    has_joins = pushed.shape[0] > 0
    n_overflow = 0
    n_saturated = 0
    n_active = 0
    n_spikes = 0
    zero = lane(0)
    for i in numba.prange(u.shape[0]):
        q = lane(q_in[i])
        q_in[i] = 0
        nu = lane(noise_u[i]) if use_noise else zero
        nv = lane(noise_v[i]) if use_noise else zero
        join = lane(pushed[i]) if has_joins else zero
        u_old = lane(u[i])
        v_old = lane(v[i])
        q, u_new, drive, join_v, overflows, _, _, _ = _currents(
            q, nu, nv, join, u_old, lane(keep_u[i]), lane(bias[i]),
            join_into_u, q_bits, input_shift, u_rule, wrap_ub, lane,
        )  # fmt: skip
        n_overflow += overflows != 0
        v_new = lane(lane(_decay(v_old, lane(keep_v[i]), lane) + drive) + join_v)
        # vmin and vmax from their exponents: 2 bytes of memory instead of 8
        low = lane(1 - lane(lane(1) << vmin_exp[i]))
        high = lane(lane(lane(1) << lane(9 + 2 * lane(vmax_exp[i]))) - 1)
        n_saturated += (v_new < low) | (v_new > high)
        v_new = min(max(v_new, low), high)
        counting = lane(refractory[i])
        v_new = zero if counting > 0 else v_new
        n_active += (q != 0) | (u_old != 0) | (v_old != 0) | (bias[i] != 0)
        fires = can_spike[i] & (v_new > vth[i])
        n_spikes += fires
        v_new = zero if fires else v_new
        counting = lane(refract_delay[i]) if fires else counting
        counting = lane(counting - 1) if counting > 0 else counting
        refractory[i] = counting
        spiked[i] = fires
        u[i] = u_new
        v[i] = v_new
    return n_overflow, n_saturated, n_active, n_spikes


# The pass of each mode, with the mode's conventions as constants: the compiler then drops
# what the mode does not use instead of selecting between both at every compartment (a third
# faster). Each exists twice: large slices are split over the cores (numba threads), small ones
# are not worth a thread launch. The four are separate Python functions because numba's disk
# cache keys compiled code by function and signature, not by the parallel flag: two builds of
# one function would load each other's code.


@numba.njit(cache=True, nogil=True)
def _update_loihi_serial(
    q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
    vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
):  # fmt: skip
    # LOIHI_CONVENTIONS, written out: numba inlines no call with *args
    return _update(
        q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
        vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u,
        21, 0, WRAP_TWOS_COMPLEMENT, True, lane,
    )  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def _update_loihi_parallel(
    q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
    vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
):  # fmt: skip
    # LOIHI_CONVENTIONS, written out: numba inlines no call with *args
    return _update(
        q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
        vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u,
        21, 0, WRAP_TWOS_COMPLEMENT, True, lane,
    )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _update_lava_serial(
    q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
    vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
):  # fmt: skip
    # LAVA_CONVENTIONS, written out: numba inlines no call with *args
    return _update(
        q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
        vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u,
        0, 6, WRAP_LAVA, False, lane,
    )  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def _update_lava_parallel(
    q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
    vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
):  # fmt: skip
    # LAVA_CONVENTIONS, written out: numba inlines no call with *args
    return _update(
        q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias, vth,
        vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u,
        0, 6, WRAP_LAVA, False, lane,
    )  # fmt: skip


PARALLEL_MIN_COMPARTMENTS = 32768


@numba.njit(cache=True, inline="always")
def _update_level(
    lava_mode, parallel, q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u,
    keep_v, bias, vth, vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
):  # fmt: skip
    # one call site per build: a function chosen at run time would be a first-class function
    # value, which numba neither inlines nor caches
    if lava_mode and parallel:
        return _update_lava_parallel(
            q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias,
            vth, vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
        )  # fmt: skip
    if lava_mode:
        return _update_lava_serial(
            q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias,
            vth, vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
        )  # fmt: skip
    if parallel:
        return _update_loihi_parallel(
            q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias,
            vth, vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
        )  # fmt: skip
    return _update_loihi_serial(
        q_in, noise_u, noise_v, pushed, u, v, refractory, spiked, keep_u, keep_v, bias,
        vth, vmin_exp, vmax_exp, refract_delay, can_spike, join_into_u, lane,
    )  # fmt: skip


@numba.njit(cache=True, inline="always")
def _deliver(source, next_slot, ring, syn_ptr, syn_port, syn_value, syn_delay, accumulators):
    # a spike of this step lands in slot (step + 1 + delay) mod ring; delay < ring - 1
    first, last = syn_ptr[source], syn_ptr[source + 1]
    if ring == 2:
        # no delays: every synapse lands in the next step's slot
        target = accumulators[next_slot]
        for s in range(first, last):
            target[syn_port[s]] += syn_value[s]
        return last - first
    for s in range(first, last):
        slot = next_slot + syn_delay[s]
        slot = slot - ring if slot >= ring else slot
        accumulators[slot, syn_port[s]] += syn_value[s]
    return last - first


@numba.njit(cache=True, nogil=True)
def advance(  # a flat argument list: what numba compiles best
    n_steps,
    first_step,
    # state (updated in place)
    u,
    v,
    refractory,
    accumulators,
    pushed,
    # compartment registers
    keep_u,
    keep_v,
    bias,
    vth,
    vmin_exp,
    vmax_exp,
    refract_delay,
    parent,
    can_spike,
    level_bounds,
    # conventions
    join_into_u,
    lava_mode,
    # synapses (CSR over sources) and ports
    syn_ptr,
    syn_port,
    syn_value,
    syn_delay,
    port_target,
    port_shift,
    # external input spikes of these steps (CSR over steps; entries are source rows)
    input_ptr,
    input_source,
    # noise
    noise_draws,
    noise_enabled,
    noise_offset,
    noise_exp,
    noise_into_v,
    # recording and counters
    record_index,
    record_column,
    record_u,
    record_v,
    record_spikes,
    spike_count,
    synaptic_ops,
    active_updates,
    spikes_per_step,
    overflows,
    saturations,
    strict,
    error,
    lane,
):
    """Advance the network ``n_steps`` steps; return how many steps completed.

    ``level_bounds`` splits the compartments into ranges updated in order (children first).
    In strict mode the first overflow stops the loop: ``error`` receives
    ``[kind, step, compartment, value]`` and the return value is the step at which it happened
    (the state is then that step's, partly updated).
    """
    n = u.shape[0]
    q_magnitude_bits, input_shift, u_wrap_rule, wrap_u_plus_bias = (
        LAVA_CONVENTIONS if lava_mode else LOIHI_CONVENTIONS
    )
    n_ports = port_target.shape[0]
    ring = accumulators.shape[0]
    n_record = record_index.shape[0]
    use_noise = noise_draws.shape[0] > 0
    has_joins = pushed.shape[0] > 0
    # sources are compartments first, then inputs: without compartment synapses, a spike only
    # counts (no row of syn_ptr to read)
    compartments_have_synapses = syn_ptr[n] > 0
    # padded to whole 64-bit words (the padding stays False)
    spiked = np.zeros(8 * ((n + 7) // 8), dtype=np.bool_)
    spiked_words = spiked.view(np.uint64)
    q = np.zeros(n, dtype=accumulators.dtype)
    noise_u = np.zeros(n if use_noise else 0, dtype=np.int64)
    noise_v = np.zeros(n if use_noise else 0, dtype=np.int64)
    q_before = np.zeros(n if strict else 0, dtype=np.int64)
    u_before = np.zeros(n if strict else 0, dtype=np.int64)
    for k in range(n_steps):
        step = first_step + k
        slot = step % ring
        if not lava_mode:
            q_in = accumulators[slot]
        else:
            # Lava: each Dense shifts its own sum by its weight exponent
            q_in = q
            for p in range(n_ports):
                q[port_target[p]] += _shift(accumulators[slot, p], port_shift[p])
                accumulators[slot, p] = 0
        if use_noise:
            for i in range(n):
                value = np.int64(0)
                if noise_enabled[i]:
                    mantissa = np.int64(noise_draws[k, i]) + 64 * np.int64(noise_offset[i])
                    if noise_exp[i] >= 7:
                        value = mantissa << (noise_exp[i] - 7)
                    elif mantissa >= 0:
                        value = mantissa >> (7 - noise_exp[i])
                    else:
                        value = -((-mantissa) >> (7 - noise_exp[i]))
                noise_v[i] = value if noise_into_v[i] else 0
                noise_u[i] = 0 if noise_into_v[i] else value
        if strict:
            q_before[:] = q_in
            u_before[:] = u
        n_overflow = 0
        n_saturated = 0
        n_active = 0
        n_spikes = 0
        for level in range(level_bounds.shape[0] - 1):
            lo, hi = level_bounds[level], level_bounds[level + 1]
            noise_lo, noise_hi = (lo, hi) if use_noise else (0, 0)
            joins_lo, joins_hi = (lo, hi) if has_joins else (0, 0)
            # the same pass, split over the cores when the slice is large enough to pay for it
            counts = _update_level(
                lava_mode, hi - lo >= PARALLEL_MIN_COMPARTMENTS, q_in[lo:hi],
                noise_u[noise_lo:noise_hi], noise_v[noise_lo:noise_hi], pushed[joins_lo:joins_hi],
                u[lo:hi], v[lo:hi], refractory[lo:hi], spiked[lo:hi], keep_u[lo:hi],
                keep_v[lo:hi], bias[lo:hi], vth[lo:hi], vmin_exp[lo:hi], vmax_exp[lo:hi],
                refract_delay[lo:hi], can_spike[lo:hi], join_into_u, lane,
            )  # fmt: skip
            n_overflow += counts[0]
            n_saturated += counts[1]
            n_active += counts[2]
            n_spikes += counts[3]
            if has_joins:
                for i in range(lo, hi):
                    if parent[i] >= 0:
                        pushed[parent[i]] += v[i]
        if strict and n_overflow > 0:
            for i in range(n):
                nu = noise_u[i] if use_noise else np.int64(0)
                nv = noise_v[i] if use_noise else np.int64(0)
                join = pushed[i] if has_joins else np.int64(0)
                _, _, _, _, wrapped, q_raw, u_raw, drive_raw = _currents(
                    q_before[i], nu, nv, join, u_before[i], np.int64(keep_u[i]),
                    np.int64(bias[i]), join_into_u, q_magnitude_bits, input_shift,
                    u_wrap_rule, wrap_u_plus_bias, np.int64,
                )  # fmt: skip
                if wrapped != 0:
                    # the first overflow of the chain: q, then u, then u + bias
                    if wrapped & 1:
                        error[0], error[3] = Q_OVERFLOW, q_raw
                    elif wrapped & 2:
                        error[0], error[3] = U_OVERFLOW, u_raw
                    else:
                        error[0], error[3] = U_BIAS_OVERFLOW, drive_raw
                    error[1] = step
                    error[2] = i
                    return k
        if has_joins:
            pushed[:] = 0
        n_synaptic = 0
        next_slot = (step + 1) % ring
        if n_spikes > 0:
            # scan the spike flags eight at a time (most words are zero at realistic rates)
            # and visit the set bytes of a word by their trailing zeros, without a branch
            # per byte
            for w in range(spiked_words.shape[0]):
                word = spiked_words[w]
                while word != 0:
                    i = 8 * w + (trailing_zeros(word) >> 3)
                    word &= word - np.uint64(1)  # the set byte holds one bit: clear it
                    spike_count[i] += 1
                    if compartments_have_synapses:
                        n_synaptic += _deliver(
                            i, next_slot, ring, syn_ptr, syn_port, syn_value, syn_delay,
                            accumulators,
                        )  # fmt: skip
                    if n_record > 0 and record_column[i] >= 0:
                        record_spikes[k, record_column[i]] = True
        for e in range(input_ptr[k], input_ptr[k + 1]):
            n_synaptic += _deliver(
                input_source[e],
                next_slot,
                ring,
                syn_ptr,
                syn_port,
                syn_value,
                syn_delay,
                accumulators,
            )
        for r in range(n_record):
            record_u[k, r] = u[record_index[r]]
            record_v[k, r] = v[record_index[r]]
        synaptic_ops[k] = n_synaptic
        active_updates[k] = n_active
        spikes_per_step[k] = n_spikes
        overflows[k] = n_overflow
        saturations[k] = n_saturated
    return n_steps
