"""Catalogue neurons as ``NeuronGroup`` objects for a user's own Brian2 network.

`neuron_group` returns a group that sits beside the user's own groups, ``Synapses`` and
monitors in any ``Network`` (or Brian2's magic network), on the runtime, C++ standalone or CUDA
standalone device. It carries everything the toolkit's own simulations set up:

- the model's unit-checked equations and closed-form step, with the step coefficients computed
  for the group's own time step (the group gets its own clock at ``dt``, so changing
  ``defaultclock.dt`` later cannot make the coefficients stale);
- the parameters as per-neuron constants, and the resting state;
- a unique name (``lif_ahp``, ``lif_ahp_1``, ... unless one is given), so several catalogue
  groups live in one network;
- the input current ``I_ext``: a per-neuron variable the user sets or drives (``group.I_ext =
  200*pA``; a ``Synapses`` ``on_pre='I_ext_post += ...'``; a ``run_regularly``), or a toolkit
  `Stimulus` played into it. Synapses can also act on ``v`` directly (``on_pre='v_post +=
  w'``).

The closed-form step holds ``I_ext`` constant within a step, as every input of the toolkit is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import NeuronGroup, Quantity, TimedArray, defaultclock, pA, second

from ahp_models.model import STIMULUS_CURRENT, NeuronModel, brian_unit_text
from ahp_models.network import (
    AMPLITUDE_NAME,
    WAVEFORM_NAME,
    prepare_run,
    stimulus_equations,
)
from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.quantities import QuantityError, positive_time_s
from ahp_models.stimuli import Stimulus, from_array

__all__ = ["neuron_group"]


def _time_step_s(dt: Any) -> float:
    if dt is None:
        return float(defaultclock.dt / second)
    try:
        return positive_time_s(dt, "dt")
    except QuantityError as err:
        raise ParameterError(str(err)) from None


def neuron_group(
    model: NeuronModel,
    params: ParameterSet | None = None,
    n: int | None = None,
    *,
    name: str | None = None,
    dt: Quantity | None = None,
    stimulus: Stimulus | None = None,
) -> NeuronGroup:
    """A ``NeuronGroup`` of a catalogue model, ready to add to any Brian2 network.

    Parameters
    ----------
    model : NeuronModel
        The catalogue model (e.g. ``LifAhp()``).
    params : ParameterSet, optional
        Its parameters, shared or one row per neuron (default: the model's defaults).
    n : int, optional
        Number of neurons, if the parameters (and stimulus) do not imply it.
    name : str, optional
        The group's Brian2 name (default: the model's name, made unique by Brian2).
    dt : Quantity, optional
        The group's time step (default: ``defaultclock.dt`` now). The step coefficients are
        computed for it, and the group keeps its own clock at it.
    stimulus : Stimulus, optional
        A toolkit stimulus played into ``I_ext`` (default: ``I_ext`` is a variable, zero until
        set). Its sampling step must be a whole multiple of ``dt``; after its end it keeps its
        last value (Brian2's ``TimedArray``).

    Returns
    -------
    brian2.NeuronGroup
        The group, at rest; the discrete-time model (``loihi_ahp``) carries
        their step as a ``run_regularly`` operation of the group (``group.contained_objects``).

    Raises
    ------
    ParameterError
        For parameters of another model, a ``dt`` that is not a positive time or that a
        refractory period is not a whole number of, or sizes that disagree.
    """
    params = model.default_params() if params is None else params
    dt_s = _time_step_s(dt)
    if stimulus is None:
        # prepare_run wants a stimulus: a silent one of one step stands in for the values
        silent = from_array(np.zeros(1) * pA, dt=dt_s * second)
        inputs = prepare_run(model, params, silent, dt_s=dt_s, n_steps=1, n_neurons=n)
        del inputs.constants[AMPLITUDE_NAME]
        input_equations = f"{STIMULUS_CURRENT} : {brian_unit_text('pA')}"
        namespace: dict[str, Any] = {}
    else:
        inputs = prepare_run(model, params, stimulus, dt_s=dt_s, n_steps=1, n_neurons=n)
        input_equations = stimulus_equations(stimulus.waveform.ndim == 2)
        namespace = {WAVEFORM_NAME: TimedArray(stimulus.waveform, dt=inputs.stimulus_dt_s * second)}
    group = NeuronGroup(
        inputs.n_neurons,
        model.equations() + "\n" + input_equations,
        threshold=model.threshold,
        reset=model.reset,
        refractory=model.refractory_expression() or False,
        method=model.state_updater() or "euler",
        dt=dt_s * second,
        name=name or f"{model.name}*",
        namespace=namespace,
    )
    if model.discrete_time:
        group.run_regularly(model.step_code(), when="groups", name=f"{group.name}_step")
    for variable, values in inputs.group_values().items():
        setattr(group, variable, Quantity(values, dim=group.variables[variable].dim))
    return group
