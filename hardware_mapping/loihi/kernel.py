"""The compiled step loop of the fixed-point simulator (numba).

One call advances every compartment by a number of steps. All arrays are flat over the
network's compartments, laid out so that every child compartment comes before its parent
(the chip pushes a child's voltage onto the dendritic stack before the parent pops it).
Synapses are stored as CSR rows, one row per spike source (compartments first, then the axons
of external inputs); a synapse adds its value to an input port, the slot
``(step + 1 + delay) mod L`` of a ring of dendritic accumulators. In the Loihi mode a port is a
compartment; in the Lava mode a port is one Dense process's accumulator for one compartment,
so that the weight exponent applies to the sum (DOMAIN.md §4).

The arithmetic is that of `hardware_mapping.loihi.arithmetic`. Each step has two passes: a
branch-free update of every compartment that the compiler vectorizes (SIMD), split in ranges
so that children are updated and pushed before their parents, and a scalar pass over the
compartments that spiked, which delivers their synapses. Strict mode keeps a copy of the
inputs of the step so that it can name the first compartment that overflowed.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["OVERFLOW_KINDS", "advance"]

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


@numba.njit(cache=True, inline="always")
def _decay(x, keep):
    # sign(x) * ((|x| * keep) >> 12): truncation toward zero, written as a select
    magnitude = (np.abs(x) * keep) >> 12
    return magnitude if x >= 0 else -magnitude


@numba.njit(cache=True, inline="always")
def _shift(x, exponent):
    # left shift for exponent >= 0, arithmetic (flooring) right shift otherwise
    if exponent >= 0:
        return x << exponent
    return x >> (-exponent)


@numba.njit(cache=True, inline="always")
def _wrap(x, magnitude_bits):
    half = np.int64(1) << magnitude_bits
    return ((x + half) & (2 * half - 1)) - half


@numba.njit(cache=True, inline="always")
def _wrap_lava(x, magnitude_bits):
    # Lava's PyLifModelBitAcc: > max subtracts 2 max, <= -max adds 2 max (max = 2**23)
    limit = np.int64(1) << magnitude_bits
    high = x - 2 * limit if x > limit else x
    return x + 2 * limit if x <= -limit else high


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
):
    """The input chain of one compartment: returns (q, u, drive, join into v, overflow kind, raw).

    kind is 0 without overflow, else the first overflow's code and its unwrapped value.
    """
    kind = 0
    raw = np.int64(0)
    q = q + noise_u
    if q_bits > 0:
        wrapped = _wrap(q, q_bits)
        if wrapped != q:
            kind = Q_OVERFLOW
            raw = q
        q = wrapped
    q = q << input_shift
    join_v = join
    if join_into_u:
        q = q + join
        join_v = 0
    u_new = _decay(u_old, keep_u) + q
    wrapped = _wrap(u_new, 23) if u_rule == WRAP_TWOS_COMPLEMENT else _wrap_lava(u_new, 23)
    if wrapped != u_new and kind == 0:
        kind = U_OVERFLOW
        raw = u_new
    u_new = wrapped
    drive = u_new + bias + noise_v
    if wrap_ub:
        wrapped = _wrap(drive, 23)
        if wrapped != drive and kind == 0:
            kind = U_BIAS_OVERFLOW
            raw = drive
        drive = wrapped
    return q, u_new, drive, join_v, kind, raw


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
    for i in numba.prange(u.shape[0]):
        q = np.int64(q_in[i])
        q_in[i] = 0
        nu = noise_u[i] if use_noise else np.int64(0)
        nv = noise_v[i] if use_noise else np.int64(0)
        join = pushed[i] if has_joins else np.int64(0)
        u_old = np.int64(u[i])
        v_old = np.int64(v[i])
        q, u_new, drive, join_v, kind, _ = _currents(
            q, nu, nv, join, u_old, np.int64(keep_u[i]), np.int64(bias[i]),
            join_into_u, q_bits, input_shift, u_rule, wrap_ub,
        )  # fmt: skip
        n_overflow += kind != 0
        v_new = _decay(v_old, np.int64(keep_v[i])) + drive + join_v
        # vmin and vmax from their exponents: 2 bytes of memory instead of 8
        low = 1 - (np.int64(1) << vmin_exp[i])
        high = (np.int64(1) << (9 + 2 * np.int64(vmax_exp[i]))) - 1
        n_saturated += (v_new < low) | (v_new > high)
        v_new = min(max(v_new, low), high)
        counting = np.int64(refractory[i])
        v_new = 0 if counting > 0 else v_new
        n_active += (q != 0) | (u_old != 0) | (v_old != 0) | (bias[i] != 0)
        fires = can_spike[i] & (v_new > vth[i])
        n_spikes += fires
        v_new = 0 if fires else v_new
        counting = np.int64(refract_delay[i]) if fires else counting
        counting = counting - 1 if counting > 0 else counting
        refractory[i] = counting
        spiked[i] = fires
        u[i] = u_new
        v[i] = v_new
    return n_overflow, n_saturated, n_active, n_spikes


# One body, two builds: large slices are split over the cores (numba threads), small ones are
# not worth a thread launch.
_update_serial = numba.njit(cache=True, nogil=True)(_update)
_update_parallel = numba.njit(cache=True, nogil=True, parallel=True)(_update)
PARALLEL_MIN_COMPARTMENTS = 32768


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
    q_magnitude_bits,
    u_wrap_rule,
    wrap_u_plus_bias,
    input_shift,
    # synapses (CSR over sources) and ports
    syn_ptr,
    syn_port,
    syn_value,
    syn_delay,
    port_target,
    port_shift,
    identity_ports,
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
):
    """Advance the network ``n_steps`` steps; return how many steps completed.

    ``level_bounds`` splits the compartments into ranges updated in order (children first).
    In strict mode the first overflow stops the loop: ``error`` receives
    ``[kind, step, compartment, value]`` and the return value is the step at which it happened
    (the state is then that step's, partly updated).
    """
    n = u.shape[0]
    n_ports = port_target.shape[0]
    ring = accumulators.shape[0]
    n_record = record_index.shape[0]
    use_noise = noise_draws.shape[0] > 0
    has_joins = pushed.shape[0] > 0
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
        if identity_ports:
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
            if hi - lo >= PARALLEL_MIN_COMPARTMENTS:
                counts = _update_parallel(
                    q_in[lo:hi], noise_u[noise_lo:noise_hi], noise_v[noise_lo:noise_hi],
                    pushed[joins_lo:joins_hi], u[lo:hi], v[lo:hi], refractory[lo:hi],
                    spiked[lo:hi], keep_u[lo:hi], keep_v[lo:hi], bias[lo:hi], vth[lo:hi],
                    vmin_exp[lo:hi], vmax_exp[lo:hi], refract_delay[lo:hi], can_spike[lo:hi],
                    join_into_u, q_magnitude_bits, input_shift, u_wrap_rule, wrap_u_plus_bias,
                )  # fmt: skip
            else:
                counts = _update_serial(
                    q_in[lo:hi], noise_u[noise_lo:noise_hi], noise_v[noise_lo:noise_hi],
                    pushed[joins_lo:joins_hi], u[lo:hi], v[lo:hi], refractory[lo:hi],
                    spiked[lo:hi], keep_u[lo:hi], keep_v[lo:hi], bias[lo:hi], vth[lo:hi],
                    vmin_exp[lo:hi], vmax_exp[lo:hi], refract_delay[lo:hi], can_spike[lo:hi],
                    join_into_u, q_magnitude_bits, input_shift, u_wrap_rule, wrap_u_plus_bias,
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
                _, _, _, _, kind, raw = _currents(
                    q_before[i], nu, nv, join, u_before[i], np.int64(keep_u[i]),
                    np.int64(bias[i]), join_into_u, q_magnitude_bits, input_shift,
                    u_wrap_rule, wrap_u_plus_bias,
                )  # fmt: skip
                if kind != 0:
                    error[0] = kind
                    error[1] = step
                    error[2] = i
                    error[3] = raw
                    return k
        if has_joins:
            pushed[:] = 0
        n_synaptic = 0
        next_slot = (step + 1) % ring
        if n_spikes > 0:
            # scan the spike flags eight at a time: most words are zero at realistic rates
            for w in range(spiked_words.shape[0]):
                if spiked_words[w] == 0:
                    continue
                for i in range(8 * w, 8 * w + 8):
                    if spiked[i]:
                        spike_count[i] += 1
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
