"""The catalogue of models by name."""

from __future__ import annotations

from typing import Any

from ahp_models.alif import Alif
from ahp_models.conductance_ahp import LifConductanceAhp
from ahp_models.glif3 import Glif3
from ahp_models.lif_ahp import LifAhp, LifMultiAhp
from ahp_models.lif_ahp_input import LifAhpInput
from ahp_models.loihi_form import LoihiAhp
from ahp_models.model import NeuronModel
from ahp_models.parameters import ParameterError, ParameterSet

__all__ = ["MODELS", "get_model", "model_for_params", "resolve_model"]

#: Model classes by catalogue name.
MODELS: dict[str, type[NeuronModel]] = {
    cls.name: cls
    for cls in (LifAhp, LifMultiAhp, LifAhpInput, LifConductanceAhp, Alif, Glif3, LoihiAhp)
}


def get_model(name: str, **options: Any) -> NeuronModel:
    """Return a model instance by catalogue name.

    Parameters
    ----------
    name : str
        Catalogue name, e.g. ``"lif_ahp"``.
    **options
        Structural options of the model (e.g. ``n_currents=3``).

    Returns
    -------
    NeuronModel
        The model.

    Raises
    ------
    ParameterError
        For an unknown name or option.
    """
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    try:
        return MODELS[name](**options)
    except TypeError:
        raise ParameterError(f"model {name!r} does not take options {sorted(options)}") from None


def resolve_model(model: NeuronModel | str, **options: Any) -> NeuronModel:
    """Return ``model`` itself if it is an instance, else the catalogue model of that name."""
    if isinstance(model, NeuronModel):
        if options:
            raise ParameterError(
                f"options {sorted(options)} given with a model instance; set them on the instance"
            )
        return model
    if not isinstance(model, str):
        raise ParameterError(f"model must be a catalogue name or a NeuronModel, got {model!r}")
    return get_model(model, **options)


def model_for_params(params: ParameterSet) -> NeuronModel:
    """Return the model instance whose structure matches ``params`` (e.g. its current count)."""
    cls = MODELS.get(params.model_name)
    if cls is None:
        raise ParameterError(f"no catalogue model takes {type(params).__name__}")
    if cls in (LifMultiAhp, Glif3):
        return cls(n_currents=params.n_currents)
    return cls()
