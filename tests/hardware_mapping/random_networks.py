"""Randomly drawn fixed-point networks for comparisons with nengo-loihi's emulator."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from hardware_mapping.loihi import CompartmentGroup, Network, SpikeInput, SynapseGroup
from hardware_mapping.loihi.arithmetic import SIGN_MODES, weight_limits, weight_shift_bits


def random_weights(rng: np.random.Generator, size: int, sign_mode: str, bits: int) -> np.ndarray:
    """Weights representable with ``bits`` bits in ``sign_mode`` (multiples of 2**s)."""
    low, high = weight_limits(sign_mode)
    step = 1 << weight_shift_bits(bits, sign_mode)
    return rng.integers(-(-low // step), high // step + 1, size) * step


def random_registers(rng: np.random.Generator, n: int) -> dict:
    """Registers of ``n`` compartments over their whole ranges, edge values included."""

    def pick(low: int, high: int, edges_weight: float = 0.15) -> np.ndarray:
        values = rng.integers(low, high + 1, n)
        edge = rng.random(n) < edges_weight
        values[edge] = rng.choice([low, high], edge.sum())
        return values

    return {
        "decay_u": pick(0, 4096),
        "decay_v": pick(0, 4096),
        # log-uniform thresholds: low ones spike often, high ones let u and v grow large
        "vth_mant": np.minimum((2.0 ** rng.uniform(0, 17, n)).astype(int), 2**17 - 1),
        "bias_mant": np.where(rng.random(n) < 0.4, 0, pick(-4095, 4095)),
        "bias_exp": pick(0, 7),
        "refract_delay": pick(1, 63),
        "vmin_exp": np.where(rng.random(n) < 0.5, 23, pick(0, 23)),
        "vmax_exp": np.where(rng.random(n) < 0.5, 7, pick(0, 7)),
    }


def single_compartment_network(rng: np.random.Generator, n_configs: int, steps: int) -> Network:
    """One group, input and synapse group per configuration, all drawn independently.

    A third of the configurations drive u near or past the 24-bit limit (weight exponent 7,
    many inputs at high rates); a fifth have noise.
    """
    network = Network()
    for k in range(n_configs):
        registers = {name: values[0] for name, values in random_registers(rng, 1).items()}
        if rng.random() < 0.2:
            registers["noise_exp"] = int(rng.integers(0, 24))
            registers["noise_mant_offset"] = int(rng.integers(-128, 128))
            registers["noise_target"] = str(rng.choice(["u", "v"]))
        cell = CompartmentGroup(f"c{k}", 1, **registers)
        near_overflow = rng.random() < 1 / 3
        n_axons = int(rng.integers(8, 17) if near_overflow else rng.integers(1, 5))
        rate = rng.uniform(0.3, 0.9) if near_overflow else 10 ** rng.uniform(-2, -0.3)
        source = SpikeInput.from_raster(f"in{k}", rng.random((steps, n_axons)) < rate)
        sign_mode = str(rng.choice(SIGN_MODES))
        bits = int(rng.integers(1, 9))
        weight_exp = int(rng.integers(4, 8) if near_overflow else rng.integers(-8, 8))
        synapses = SynapseGroup(
            f"s{k}",
            source,
            cell,
            np.arange(n_axons),
            np.zeros(n_axons, dtype=int),
            random_weights(rng, n_axons, sign_mode, bits),
            num_weight_bits=bits,
            sign_mode=sign_mode,
            weight_exp=weight_exp,
        )
        network.add(cell, source, synapses)
    return network


def recurrent_network(rng: np.random.Generator, n_total: int, steps: int) -> Network:
    """Three populations with dense and sparse recurrent synapses, two spike inputs, noise."""
    network = Network()
    sizes = rng.multinomial(n_total - 30, [1 / 3] * 3) + 10
    groups = []
    for index, size in enumerate(sizes):
        registers = random_registers(rng, int(size))
        registers["vth_mant"] = rng.integers(20, 400, size)  # active but not saturated
        registers["decay_u"] = rng.integers(200, 4097, size)
        if index == 2:
            registers.update(noise_exp=int(rng.integers(3, 12)), noise_target="v")
        group = CompartmentGroup(f"pop{index}", int(size), **registers)
        groups.append(group)
        network.add(group)
    inputs = [
        SpikeInput.from_raster(f"input{k}", rng.random((steps, 20)) < rng.uniform(0.02, 0.2))
        for k in range(2)
    ]
    network.add(*inputs)
    count = 0
    for pre in [*groups, *inputs]:
        for post in groups:
            if rng.random() < 0.5 and not (pre is inputs[0] or post is groups[0]):
                continue
            sign_mode = str(rng.choice(SIGN_MODES))
            bits = int(rng.integers(2, 9))
            options = {
                "num_weight_bits": bits,
                "sign_mode": sign_mode,
                "weight_exp": int(rng.integers(-2, 5)),
            }
            if rng.random() < 0.5:
                matrix = random_weights(rng, pre.n * post.n, sign_mode, bits).reshape(pre.n, post.n)
                synapses = SynapseGroup.from_matrix(f"syn{count}", pre, post, matrix, **options)
            else:
                mask = scipy.sparse.random(
                    pre.n, post.n, density=0.1, random_state=rng, format="coo"
                )
                mask.data = random_weights(rng, mask.nnz, sign_mode, bits).astype(float)
                synapses = SynapseGroup.from_matrix(f"syn{count}", pre, post, mask, **options)
            network.add(synapses)
            count += 1
    return network
