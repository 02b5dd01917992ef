"""Trained spiking networks on Loihi 1: described once, run bit-accurately and in float.

`read_description` reads a network description (TOML) and its weight files;
`map_description` gives its registers as a `MappedNetwork` (and so its hardware parameter
file); `run_fixed_point` classifies samples in the chip's integer arithmetic and `run_float`
in Brian2 with real-valued decays. `builtin_description` loads the paper's sequential-MNIST
network (``rao2022-smnist``, relay and direct input variants).
"""

from hardware_mapping.trained.builtin_networks import builtin_description
from hardware_mapping.trained.description import (
    BUILTIN_DESCRIPTIONS,
    DescriptionError,
    NetworkDescription,
    read_description,
)
from hardware_mapping.trained.encoders import EncoderError, ThresholdCrossingEncoder
from hardware_mapping.trained.fixed_point import run_fixed_point
from hardware_mapping.trained.float_run import run_float
from hardware_mapping.trained.mapping import map_description
from hardware_mapping.trained.readouts import TrainedRun, classify, confusion_matrix

__all__ = [
    "BUILTIN_DESCRIPTIONS",
    "DescriptionError",
    "EncoderError",
    "NetworkDescription",
    "ThresholdCrossingEncoder",
    "TrainedRun",
    "builtin_description",
    "classify",
    "confusion_matrix",
    "map_description",
    "read_description",
    "run_fixed_point",
    "run_float",
]
