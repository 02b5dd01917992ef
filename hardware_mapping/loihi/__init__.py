"""Loihi 1 compartments in integer arithmetic: registers, networks and a bit-accurate simulator.

The arithmetic is nengo-loihi's emulator's (validated on the chip), with Lava's bit-accurate
models as a second mode; `simulator` documents the step, `network` the building blocks.
"""

from hardware_mapping.loihi.network import (
    CompartmentGroup,
    Network,
    SpikeInput,
    SynapseGroup,
    max_delay,
)
from hardware_mapping.loihi.registers import RegisterError, effective_decay
from hardware_mapping.loihi.simulator import FixedPointOverflow, FixedPointRun, Simulator

__all__ = [
    "CompartmentGroup",
    "FixedPointOverflow",
    "FixedPointRun",
    "Network",
    "RegisterError",
    "Simulator",
    "SpikeInput",
    "SynapseGroup",
    "effective_decay",
    "max_delay",
]
