"""The compiled step loop of the fixed-point simulator (numba).

One call advances every compartment by a number of steps. All arrays are flat over the
network's compartments, laid out so that every child compartment comes before its parent
(the chip pushes a child's voltage onto the dendritic stack before the parent pops it).
Synapses are stored as CSR rows, one row per spike source (compartments first, then the axons
of external inputs); a synapse adds its value to an input port, the slot
``(step + 1 + delay) mod L`` of a ring of dendritic accumulators. In the Loihi mode a port is a
compartment; in the Lava mode a port is one Dense process's accumulator for one compartment,
so that the weight exponent applies to the sum (DOMAIN.md §4).

The arithmetic is that of `hardware_mapping.loihi.arithmetic`; the reason this loop is compiled
rather than vectorized is speed: one pass over the state per step, no temporaries.
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
def _decay(x: int, keep: int) -> int:
    # sign(x) * ((|x| * keep) >> 12): truncation toward zero
    if x >= 0:
        return (x * keep) >> 12
    return -(((-x) * keep) >> 12)


@numba.njit(cache=True, inline="always")
def _shift(x: int, exponent: int) -> int:
    # left shift for exponent >= 0, arithmetic (flooring) right shift otherwise
    if exponent >= 0:
        return x << exponent
    return x >> (-exponent)


@numba.njit(cache=True, inline="always")
def _wrap(x: int, magnitude_bits: int) -> int:
    half = np.int64(1) << magnitude_bits
    return ((x + half) & (2 * half - 1)) - half


@numba.njit(cache=True, inline="always")
def _wrap_lava(x: int, magnitude_bits: int) -> int:
    # Lava's PyLifModelBitAcc: > max subtracts 2 max, <= -max adds 2 max (max = 2**23)
    limit = np.int64(1) << magnitude_bits
    if x > limit:
        return x - 2 * limit
    if x <= -limit:
        return x + 2 * limit
    return x


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
    vmin,
    vmax,
    refract_delay,
    parent,
    can_spike,
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

    In strict mode the first overflow stops the loop: ``error`` receives
    ``[kind, step, compartment, value]`` and the return value is the step at which it happened.
    """
    n = u.shape[0]
    n_ports = port_target.shape[0]
    ring = accumulators.shape[0]
    n_record = record_index.shape[0]
    use_noise = noise_draws.shape[0] > 0
    q = np.zeros(n, dtype=np.int64)
    for k in range(n_steps):
        step = first_step + k
        slot = step % ring
        if identity_ports:
            for i in range(n):
                q[i] = accumulators[slot, i]
                accumulators[slot, i] = 0
        else:
            q[:] = 0
            for p in range(n_ports):
                q[port_target[p]] += _shift(accumulators[slot, p], port_shift[p])
                accumulators[slot, p] = 0
        n_active = 0
        n_spikes = 0
        n_overflow = 0
        n_saturated = 0
        for i in range(n):
            noise = np.int64(0)
            if use_noise and noise_enabled[i]:
                mantissa = np.int64(noise_draws[k, i]) + 64 * noise_offset[i]
                if noise_exp[i] >= 7:
                    noise = mantissa << (noise_exp[i] - 7)
                elif mantissa >= 0:
                    noise = mantissa >> (7 - noise_exp[i])
                else:
                    noise = -((-mantissa) >> (7 - noise_exp[i]))
            qi = q[i]
            if not noise_into_v[i]:
                qi += noise
            if q_magnitude_bits > 0:
                wrapped = _wrap(qi, q_magnitude_bits)
                if wrapped != qi:
                    if strict:
                        error[0] = Q_OVERFLOW
                        error[1] = step
                        error[2] = i
                        error[3] = qi
                        return k
                    n_overflow += 1
                    qi = wrapped
            qi = qi << input_shift
            if join_into_u:
                qi += pushed[i]
            u_old = u[i]
            v_old = v[i]
            ui = _decay(u_old, keep_u[i]) + qi
            wrapped = _wrap(ui, 23) if u_wrap_rule == WRAP_TWOS_COMPLEMENT else _wrap_lava(ui, 23)
            if wrapped != ui:
                if strict:
                    error[0] = U_OVERFLOW
                    error[1] = step
                    error[2] = i
                    error[3] = ui
                    return k
                n_overflow += 1
                ui = wrapped
            drive = ui + bias[i]
            if noise_into_v[i]:
                drive += noise
            if wrap_u_plus_bias:
                wrapped = _wrap(drive, 23)
                if wrapped != drive:
                    if strict:
                        error[0] = U_BIAS_OVERFLOW
                        error[1] = step
                        error[2] = i
                        error[3] = drive
                        return k
                    n_overflow += 1
                    drive = wrapped
            if not join_into_u:
                drive += pushed[i]
            pushed[i] = 0
            vi = _decay(v_old, keep_v[i]) + drive
            if vi < vmin[i]:
                vi = vmin[i]
                n_saturated += 1
            elif vi > vmax[i]:
                vi = vmax[i]
                n_saturated += 1
            if refractory[i] > 0:
                vi = 0
            spiked = can_spike[i] and vi > vth[i]
            if parent[i] >= 0:
                pushed[parent[i]] += vi
            if spiked:
                vi = 0
                refractory[i] = refract_delay[i]
                spike_count[i] += 1
                n_spikes += 1
                for s in range(syn_ptr[i], syn_ptr[i + 1]):
                    target_slot = (step + 1 + syn_delay[s]) % ring
                    accumulators[target_slot, syn_port[s]] += syn_value[s]
                synaptic_ops[k] += syn_ptr[i + 1] - syn_ptr[i]
            if refractory[i] > 0:
                refractory[i] -= 1
            if qi != 0 or u_old != 0 or v_old != 0 or bias[i] != 0:
                n_active += 1
            u[i] = ui
            v[i] = vi
            if spiked and record_column[i] >= 0:
                record_spikes[k, record_column[i]] = True
        for e in range(input_ptr[k], input_ptr[k + 1]):
            source = input_source[e]
            for s in range(syn_ptr[source], syn_ptr[source + 1]):
                target_slot = (step + 1 + syn_delay[s]) % ring
                accumulators[target_slot, syn_port[s]] += syn_value[s]
            synaptic_ops[k] += syn_ptr[source + 1] - syn_ptr[source]
        for r in range(n_record):
            record_u[k, r] = u[record_index[r]]
            record_v[k, r] = v[record_index[r]]
        active_updates[k] = n_active
        spikes_per_step[k] = n_spikes
        overflows[k] = n_overflow
        saturations[k] = n_saturated
    return n_steps
