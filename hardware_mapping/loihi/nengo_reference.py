"""Run a fixed-point `Network` in nengo-loihi's emulator, the reference validated on the chip.

nengo-loihi (1.1, test extra) is imported only here and only when called. Its emulator has no
synaptic delays, dendritic joins or Lava conventions, so networks using those are refused. The
blocks are laid out in the `Simulator`'s compartment order, which also makes the noise draws of
the two identical for the same seed.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import scipy.sparse

from hardware_mapping.loihi.network import CompartmentGroup, Network
from hardware_mapping.loihi.registers import RegisterError
from hardware_mapping.loihi.simulator import Simulator

__all__ = ["NengoLoihiRun", "run_nengo_loihi"]


class NengoLoihiRun(SimpleNamespace):
    """Per-step ``u``, ``v`` and ``spikes`` (arrays (steps, n) per group) from nengo-loihi."""


def build_emulator(network: Network, seed: int = 0):
    """Build nengo-loihi's ``EmulatorInterface`` for a network.

    Returns
    -------
    emulator : nengo_loihi.emulator.interface.EmulatorInterface
        The emulator, not yet stepped.
    layout : Simulator
        The simulator whose compartment order the emulator's blocks follow.
    """
    from nengo_loihi.block import Axon, LoihiBlock, Synapse
    from nengo_loihi.emulator.interface import EmulatorInterface
    from nengo_loihi.inputs import SpikeInput as NengoSpikeInput

    if network.joins:
        raise RegisterError("nengo-loihi's emulator has no multi-compartment joins")
    if any(s.size and s.delays.any() for s in network.synapses.values()):
        raise RegisterError("nengo-loihi's emulator has no synaptic delays")
    layout = Simulator(network, seed=seed)
    blocks = {}
    for group in layout.groups:
        block = LoihiBlock(group.n, label=group.name)
        comp = block.compartment
        # nengo-loihi stores the u decay register; the chip adds dsOffset = 1
        comp.decay_u = (group.decay_u - 1).astype(np.int32)
        comp.decay_v = group.decay_v.astype(np.int32)
        comp.scale_u = comp.scale_v = False
        comp.vth = (group.vth_mant << 6).astype(np.int32)
        comp.bias = (group.bias_mant << group.bias_exp).astype(np.int32)
        comp.refract_delay = group.refract_delay.astype(np.int32)
        comp.vmin = -((1 << group.vmin_exp) - 1)
        comp.vmax = (1 << (9 + 2 * group.vmax_exp)) - 1
        comp.enable_noise = np.full(group.n, group.noise_enabled)
        comp.noise_exp = group.noise_exp
        comp.noise_offset = group.noise_mant_offset
        comp.noise_at_membrane = np.full(group.n, group.noise_target == "v")
        blocks[group.name] = block
    inputs = {}
    for spike_input in network.inputs.values():
        nengo_input = NengoSpikeInput(spike_input.n, label=spike_input.name)
        for step in np.unique(spike_input.steps):
            # nengo-loihi counts steps from 1 and delivers a spike of step t at t + 1
            nengo_input.add_spikes(int(step) + 1, spike_input.indices[spike_input.steps == step])
        inputs[spike_input.name] = nengo_input
    for group in network.synapses.values():
        matrix = scipy.sparse.csr_matrix(
            (group.input_values.astype(np.float32), (group.pre_index, group.post_index)),
            shape=(group.pre.n, group.post.n),
        )
        if matrix.nnz != group.size:
            raise RegisterError(
                f"SynapseGroup {group.name!r} has repeated (pre, post) pairs, which "
                "nengo-loihi's emulator adds only once"
            )
        synapse = Synapse(group.pre.n, label=group.name)
        synapse.set_weights(matrix)
        synapse.weights = [w.astype(np.int32) for w in synapse.weights]
        blocks[group.post.name].add_synapse(synapse)
        axon = Axon(group.pre.n, label=group.name)
        axon.target = synapse
        source = blocks if isinstance(group.pre, CompartmentGroup) else inputs
        source[group.pre.name].add_axon(axon)
    model = SimpleNamespace(
        blocks=list(blocks.values()), inputs=list(inputs.values()), probes=[], dt=0.001
    )
    return EmulatorInterface(model, seed=seed), layout


def run_nengo_loihi(network: Network, n_steps: int, seed: int = 0) -> NengoLoihiRun:
    """Run a network for ``n_steps`` in nengo-loihi's emulator and return every state.

    Overflows wrap (nengo-loihi's non-strict mode); its overflow warnings are silenced.
    """
    emulator, layout = build_emulator(network, seed=seed)
    u = np.zeros((n_steps, layout.n), dtype=np.int64)
    v = np.zeros((n_steps, layout.n), dtype=np.int64)
    spikes = np.zeros((n_steps, layout.n), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(n_steps):
            emulator.step()
            u[step] = emulator.compartment.current
            v[step] = emulator.compartment.voltage
            spikes[step] = emulator.compartment.spiked
    run = NengoLoihiRun(u={}, v={}, spikes={})
    for group in layout.groups:
        columns = slice(layout.offsets[group.name], layout.offsets[group.name] + group.n)
        run.u[group.name] = u[:, columns]
        run.v[group.name] = v[:, columns]
        run.spikes[group.name] = spikes[:, columns]
    return run
