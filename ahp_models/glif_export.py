r"""LIF neurons with AHP currents (``lif_ahp``, ``lif_multi_ahp``) as Allen GLIF3 neuron configs.

A ``neuron_config`` is the JSON object Allen publishes for each GLIF model and that allensdk's
``GlifNeuron.from_dict``, BMTK's SONATA point-neuron models (``dynamics_params``) and, through
BMTK, NEST's ``glif_psc`` / ``glif_cond`` read. Our neuron becomes a GLIF3 (LIF with after-spike
currents, "LIF-ASC"): one after-spike current per AHP current.

The two models side by side (voltages of the config relative to ``El_reference``, ``El = 0``)::

    ours:  tau_m dv/dt = E_L - v + R (I_ext - sum_k I_k);  dI_k/dt = -I_k / tau_k;
           at a spike v <- V_reset (held for t_ref), I_k <- I_k + b_k
    GLIF:  C dv/dt = I_ext + sum_j I_j - v / R_input;  dI_j/dt = -I_j / tau_j;
           at a spike v is cut for spike_cut_length steps, then v <- reset,
           I_j <- A_j + r_j I_j exp(-spike_cut_length dt / tau_j)

Field by field
--------------
``El_reference = E_L`` and ``El = 0``, ``init_voltage = 0``: the config measures voltages from
the resting potential, as Allen's own configs do. ``th_inf = init_threshold = V_th - E_L`` with
threshold methods ``inf`` (a fixed threshold). ``asc_tau_array`` holds the AHP time constants
(exact exponential decay in allensdk, NEST and here alike). ``r = 1`` (``AScurrent_reset_method
sum``): a spike adds to what is left of the current, as ``I_k += b_k`` does. ``coeffs`` are all 1
(Allen's optimiser scales parameters through them; ours are final). ``init_AScurrents`` are 0.

Reset. ``V_reset = E_L`` is Allen's ``zero`` reset. Any other reset is ``v_before`` with
``a = 0`` and ``b = V_reset - E_L`` (allensdk sets ``v <- a v + b``, so ``a = 0`` gives a fixed
reset potential; NEST's ``glif_psc`` has ``V_reset`` for it). BMTK's LIF-ASC converters set
NEST's ``V_reset`` to ``El_reference`` whatever the config says, so through BMTK such a neuron
resets to ``E_L``: set ``V_reset`` yourself there.

Spike cut. Our neuron restarts integrating ``v`` ``t_ref`` after the step in which it crossed,
so it skips ``t_ref / dt - 1`` steps after that step (none for ``t_ref = 0``); allensdk skips
the spike step and then ``spike_cut_length`` more, NEST counts ``spike_cut_length`` refractory
steps after the spike step. Hence ``spike_cut_length = t_ref / dt - 1`` at the config's ``dt``
(``ahp_models.hardware_form.refractory_steps`` minus one), and ``t_ref`` must be a whole
number of steps of ``dt``. Our currents keep decaying through the cut; allensdk and NEST add the
decay ``exp(-spike_cut_length dt / tau)`` at the spike instead. Their amplitude ``A_j`` is the
value right after the cut, so ``A_k = -b_k s_k exp(-spike_cut_length dt / tau_k)``: the minus
because Allen's currents depolarize when positive and ours hyperpolarize, ``s_k`` the scale of
the scheme below.

Schemes
-------
``allen`` (default): parameters for allensdk's own step, which integrates ``v`` with forward
Euler from the currents at the start of the step,
``v' = v + (I + sum_j I_j - v / R_input) dt / C``. Our closed-form step
(`ahp_models.integration`) is ``v' = m v + R (1 - m) I - sum_k R c_k I_k`` with
``m = exp(-dt / tau_m)`` and coupling ``c_k`` (`ahp_models.integration.coupling_factor`). Both
are linear in ``v``, ``I`` and the currents, so matching the coefficients makes allensdk's step
ours exactly: ``R_input = R``, ``C = dt / (R (1 - m))`` (then ``1 - dt / (R_input C) = m`` and
``dt / C = R (1 - m)``), and the Allen current is ``-s_k`` times ours with
``s_k = c_k / (1 - m)``. At the config's ``dt`` allensdk then reproduces the toolkit's spike
steps (tested on the default cohort); ``C`` exceeds ``tau_m / R`` by ``dt / (2 tau_m)`` and
``s_k`` falls short of 1 by ``dt / (2 tau_k)``, relative and to first order in ``dt``: the config
belongs to its ``dt``.

``exact``: the continuous-time neuron, for simulators that integrate the linear membrane exactly
(NEST's ``glif_psc``; the toolkit's `ahp_models.glif3.Glif3` with ``scheme="exact"``):
``R_input = R``, ``C = tau_m / R``, ``s_k = 1``, ``voltage_dynamics_method`` ``linear_exact``
(allensdk knows no such method and refuses the config, rather than Euler-integrating
parameters meant for an exact step). ``dt`` still fixes ``spike_cut_length``; run it at that
``dt``. NEST couples a current through its mean over the step rather than the exact ``c_k``,
which differs from our step by ``O(dt^2)`` per step.

Nothing is refused for being inexpressible, except a ``t_ref`` that is not a whole number of
steps of ``dt`` and neurons of other models (conductance AHP, adaptive threshold: not GLIF3).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity

from ahp_models.files import atomic_write_text
from ahp_models.hardware_form import refractory_steps
from ahp_models.integration import coupling_factor
from ahp_models.lif_ahp import LifAhp, LifAhpParams, LifMultiAhp, MultiAhpParams
from ahp_models.parameters import ParameterError
from ahp_models.quantities import QuantityError, positive_time_s

__all__ = ["SCHEMES", "glif_neuron_config", "write_neuron_config"]

SCHEMES = ("allen", "exact")
#: allensdk's name of each scheme's voltage step (``voltage_dynamics_method``).
VOLTAGE_METHODS = {"allen": "linear_forward_euler", "exact": "linear_exact"}


def glif_neuron_config(
    params: LifAhpParams | MultiAhpParams,
    dt: Quantity,
    *,
    scheme: str = "allen",
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The GLIF3 ``neuron_config`` of one ``lif_ahp`` or ``lif_multi_ahp`` neuron.

    Parameters
    ----------
    params : LifAhpParams or MultiAhpParams
        One neuron (shared values, or a population of one).
    dt : Quantity
        The config's time step: the step ``spike_cut_length`` counts and, for ``allen``, the
        step whose Euler update the parameters are made for.
    scheme : {"allen", "exact"}
        ``allen``: allensdk's forward-Euler step at ``dt`` reproduces the toolkit's closed-form
        step; ``exact``: continuous-time parameters (module docstring).
    provenance : mapping, optional
        JSON-serialisable entries (``specimen_id``, ``fit_id``...) stored in the config's
        ``ahp_toolkit`` entry beside the model, scheme and source parameters.

    Returns
    -------
    dict
        The config, SI units throughout as in Allen's files; simulators ignore the
        ``ahp_toolkit`` entry.

    Raises
    ------
    ParameterError
        For another model's parameters, several neurons, an unknown scheme, a ``dt`` that is
        not a positive time, a ``t_ref`` that is not a whole number of steps of ``dt``, or a
        provenance key ``scheme`` or ``source``.
    """
    model = _model_of(params)
    if scheme not in SCHEMES:
        raise ParameterError(f"GLIF export: scheme = {scheme!r}; allowed: {', '.join(SCHEMES)}")
    if params.n_neurons not in (None, 1):
        raise ParameterError(
            f"GLIF export: {type(params).__name__} holds {params.n_neurons} neurons; "
            "allowed: one neuron per neuron_config"
        )
    reserved = sorted({"scheme", "source"} & set(provenance or {}))
    if reserved:
        raise ParameterError(
            f"GLIF export: provenance has the key(s) {reserved}, which the export writes itself"
        )
    dt_s = _time_step_s(dt)
    model.check_time_step(params, dt_s)
    p = {name: np.ravel(value) for name, value in params.si_arrays(1).items()}
    e_l, r_ohm, tau_m_s = float(p["E_L"][0]), float(p["R"][0]), float(p["tau_m"][0])
    tau_s, increment_a = p["tau_ahp"], p["b_ahp"]
    cut_steps = int(refractory_steps(float(p["t_ref"][0]) * 1e3, dt_s * 1e3)) - 1
    if scheme == "allen":
        leak = -math.expm1(-dt_s / tau_m_s)  # 1 - m, without cancellation at small dt
        capacitance_f = dt_s / (r_ohm * leak)
        scale = coupling_factor(tau_m_s, tau_s, dt_s) / leak
    else:
        capacitance_f = tau_m_s / r_ohm
        scale = np.ones_like(tau_s)
    amplitude_a = -increment_a * scale * np.exp(-cut_steps * dt_s / tau_s)
    th_inf = float(p["V_th"][0]) - e_l
    reset_v = float(p["V_reset"][0]) - e_l
    voltage_reset = (
        {"name": "zero", "params": {}}
        if reset_v == 0.0
        else {"name": "v_before", "params": {"a": 0.0, "b": reset_v}}
    )
    n = tau_s.size
    return {
        "type": "GLIF",
        "El_reference": e_l,
        "El": 0.0,
        "dt": dt_s,
        "R_input": r_ohm,
        "C": capacitance_f,
        "th_inf": th_inf,
        "th_adapt": None,
        "spike_cut_length": cut_steps,
        "asc_tau_array": _floats(tau_s),
        "asc_amp_array": _floats(amplitude_a),
        "init_voltage": 0.0,
        "init_threshold": th_inf,
        "init_AScurrents": [0.0] * n,
        "coeffs": {
            **dict.fromkeys(("th_inf", "C", "G", "a", "b"), 1.0),
            "asc_amp_array": [1.0] * n,
        },
        "voltage_dynamics_method": {"name": VOLTAGE_METHODS[scheme], "params": {}},
        "threshold_dynamics_method": {"name": "inf", "params": {}},
        "AScurrent_dynamics_method": {"name": "exp", "params": {}},
        "voltage_reset_method": voltage_reset,
        "threshold_reset_method": {"name": "inf", "params": {}},
        "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0] * n}},
        "ahp_toolkit": {"scheme": scheme, "source": params.to_dict(), **(provenance or {})},
    }


def write_neuron_config(config: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a neuron config as JSON, atomically (the file appears whole or not at all).

    Parameters
    ----------
    config : mapping
        From `glif_neuron_config`.
    path : str or os.PathLike
        Destination (its folder is created).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    atomic_write_text(path, json.dumps(config, indent=2, allow_nan=False) + "\n")
    return Path(path)


def _model_of(params: Any) -> LifAhp | LifMultiAhp:
    # exactly lif_ahp: lif_ahp_input's parameters derive from it, but its current also
    # follows the input, which no after-spike current of GLIF3 does
    if type(params) is LifAhpParams:
        return LifAhp()
    if isinstance(params, MultiAhpParams):
        return LifMultiAhp(n_currents=params.n_currents)
    model = getattr(params, "model_name", type(params).__name__)
    raise ParameterError(
        f"GLIF export: model {model!r} has no GLIF3 form; allowed: lif_ahp, lif_multi_ahp"
    )


def _time_step_s(dt: Any) -> float:
    try:
        return positive_time_s(dt, "dt")
    except QuantityError as err:
        raise ParameterError(f"GLIF export: {err}") from None


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]
