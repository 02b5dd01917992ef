"""AHP neuron models as unit-checked Brian2 equations, with runtime, C++ and CUDA backends."""

import sys
from importlib.metadata import PackageNotFoundError, version

import brian2

from ahp_models.alif import Alif, AlifParams
from ahp_models.catalogue import MODELS, get_model, model_for_params
from ahp_models.conductance_ahp import ConductanceAhpParams, LifConductanceAhp
from ahp_models.errors import UserError
from ahp_models.glif3 import Glif3, Glif3Params
from ahp_models.lif_ahp import LifAhp, LifAhpParams, LifMultiAhp, MultiAhpParams
from ahp_models.lif_ahp_input import LifAhpInput, LifAhpInputParams
from ahp_models.loihi_form import LoihiAhp, LoihiAhpParams
from ahp_models.model import NeuronModel, Variable
from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.populations import FlatNetwork, Population, Projection, flatten
from ahp_models.results import SimulationResult
from ahp_models.simulation import BACKENDS, CompiledSimulation, compile_simulator, simulate
from ahp_models.stimuli import (
    Stimulus,
    StimulusError,
    from_array,
    long_square,
    noise,
    ramp,
    short_square,
)
from ahp_models.synapses import RecurrentSynapses

try:
    __version__ = version("ahp-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"


def _excepthook_without_brian_banner(brian_hook):
    """Brian2's excepthook, except for the toolkit's `UserError` (a bad input, not a bug)."""

    def hook(exc_type, exc, traceback):
        if issubclass(exc_type, UserError):
            # Brian2's hook would ask the user to report their own typo as a Brian2 bug
            return sys.__excepthook__(exc_type, exc, traceback)
        return brian_hook(exc_type, exc, traceback)

    return hook


if sys.excepthook is brian2.utils.logger.brian_excepthook:
    sys.excepthook = _excepthook_without_brian_banner(sys.excepthook)

__all__ = [
    "BACKENDS",
    "MODELS",
    "Alif",
    "AlifParams",
    "CompiledSimulation",
    "ConductanceAhpParams",
    "FlatNetwork",
    "Glif3",
    "Glif3Params",
    "LifAhp",
    "LifAhpInput",
    "LifAhpInputParams",
    "LifAhpParams",
    "LifConductanceAhp",
    "LifMultiAhp",
    "LoihiAhp",
    "LoihiAhpParams",
    "MultiAhpParams",
    "NeuronModel",
    "ParameterError",
    "ParameterSet",
    "Population",
    "Projection",
    "RecurrentSynapses",
    "SimulationResult",
    "Stimulus",
    "StimulusError",
    "Variable",
    "compile_simulator",
    "flatten",
    "from_array",
    "get_model",
    "long_square",
    "model_for_params",
    "noise",
    "ramp",
    "short_square",
    "simulate",
]
