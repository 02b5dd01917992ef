"""The LIF membrane every model of the family shares: parameters, closed-form step, units."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Mohm, Quantity, ms, mV

from ahp_models.hardware_form import HardwareForm, SpikeTriggeredTerm
from ahp_models.integration import coupling_factor, decay_factor
from ahp_models.model import Variable
from ahp_models.parameters import ParameterSet, parameter

__all__ = [
    "MEMBRANE_POTENTIAL",
    "VOLTAGE_RANGE_MV",
    "MembraneParams",
    "membrane_coefficients",
    "membrane_hardware_form",
    "membrane_rheobase",
    "membrane_step",
    "voltage_parameter",
]

#: Voltages outside this window (mV) are almost surely a unit mistake (volts given as mV...).
VOLTAGE_RANGE_MV = (-200.0, 100.0)


def voltage_parameter(default: Quantity, description: str) -> Any:
    """Declare a membrane-voltage field, limited to `VOLTAGE_RANGE_MV`.

    Parameters
    ----------
    default : Quantity
        Default voltage.
    description : str
        Meaning of the field.

    Returns
    -------
    dataclasses.Field
        The field.
    """
    low, high = VOLTAGE_RANGE_MV
    return parameter(default, "mV", low=low, high=high, description=description)


@dataclass(frozen=True)
class MembraneParams(ParameterSet):
    """Passive membrane, threshold and reset shared by the LIF family."""

    E_L: Quantity = voltage_parameter(-70 * mV, "resting (leak reversal) potential")
    R: Quantity = parameter(
        150 * Mohm, "Mohm", low=0, low_open=True, description="input resistance"
    )
    tau_m: Quantity = parameter(
        20 * ms, "ms", low=0, low_open=True, description="membrane time constant"
    )
    V_th: Quantity = voltage_parameter(-50 * mV, "spike threshold")
    V_reset: Quantity = voltage_parameter(-65 * mV, "reset potential after a spike")
    t_ref: Quantity = parameter(
        2 * ms, "ms", low=0, high=1000, description="refractory period (v held at V_reset)"
    )

    def _check_relations(self) -> None:
        self._require(
            np.asarray(self.V_reset) < np.asarray(self.V_th),
            "V_reset must lie below V_th, otherwise the neuron fires again right after reset",
        )


def membrane_step(
    currents: Sequence[tuple[str, str]],
    sign: str = "-",
    drive: str = "E_L + R*I_ext",
    uncoupled: Sequence[str] = (),
) -> str:
    """Return abstract code for the closed-form membrane step with exponential currents.

    Parameters
    ----------
    currents : sequence of (state, coupling) names
        Each decaying current and its coupling coefficient (ohm).
    sign : {"-", "+"}
        ``-`` for currents that hyperpolarize when positive (AHP), ``+`` for currents that
        add to the input (Allen's after-spike currents).
    drive : str
        Expression for the steady-state voltage without the currents.
    uncoupled : sequence of str
        Other exponentially decaying state variables that do not act on ``v`` (e.g. an
        adaptive threshold); each decays by its ``decay_<name>`` coefficient.

    Returns
    -------
    str
        Code that updates ``v`` and every current, all from their values at the step start.
    """
    coupling = "".join(f" {sign} {k}*{i}" for i, k in currents)
    lines = [f"_v_inf = {drive}", f"_v_next = _v_inf + (v - _v_inf)*decay_m{coupling}"]
    lines += [f"{i} = {i}*decay_{i}" for i in [i for i, _ in currents] + list(uncoupled)]
    lines.append("v = _v_next")
    return "\n".join(lines)


def membrane_coefficients(
    tau_m_s: np.ndarray, r_ohm: np.ndarray, currents: Mapping[str, np.ndarray], dt_s: float
) -> dict[str, np.ndarray]:
    """Return ``decay_m``, and per current ``decay_<name>`` and ``k_<name>`` (ohm).

    Parameters
    ----------
    tau_m_s, r_ohm : numpy.ndarray
        Membrane time constant (s) and resistance (ohm) per neuron.
    currents : mapping of str to numpy.ndarray
        Each current's state name and its time constant per neuron (s).
    dt_s : float
        Time step (s).

    Returns
    -------
    dict of str to numpy.ndarray
        Step coefficients per neuron.
    """
    coefficients = {"decay_m": decay_factor(tau_m_s, dt_s)}
    for name, tau_s in currents.items():
        coefficients[f"decay_{name}"] = decay_factor(tau_s, dt_s)
        coefficients[f"k_{name}"] = r_ohm * coupling_factor(tau_m_s, tau_s, dt_s)
    return coefficients


MEMBRANE_POTENTIAL = Variable("v", "mV", "membrane potential")


def membrane_rheobase(params: MembraneParams) -> Quantity:
    """Threshold current of a resting LIF membrane without adaptation: ``(V_th - E_L) / R``.

    Parameters
    ----------
    params : MembraneParams
        Parameters with ``E_L``, ``R`` and ``V_th``.

    Returns
    -------
    Quantity
        The rheobase, one value or one per neuron.
    """
    return (params.V_th - params.E_L) / params.R


def membrane_hardware_form(
    model: str,
    p: Mapping[str, np.ndarray],
    dt_s: float,
    terms: Sequence[SpikeTriggeredTerm],
) -> HardwareForm:
    """The `HardwareForm` of an LIF membrane (exact step) with spike-triggered terms.

    Parameters
    ----------
    model : str
        Catalogue name.
    p : mapping
        One neuron's SI parameter arrays (`ParameterSet.si_arrays`).
    dt_s : float
        Time step (s).
    terms : sequence of SpikeTriggeredTerm
        The model's spike-triggered terms, in mV (above V_reset) per spike.

    Returns
    -------
    HardwareForm
        ``x = v - V_reset`` in mV, stepped exactly: ``keep_v = exp(-dt/tau_m)``, drive
        ``(1 - keep_v) (E_L - V_reset + R I)``.
    """
    tau_m = float(p["tau_m"][0])
    r_mohm = float(p["R"][0]) * 1e-6
    e_l, v_th, v_reset = (float(p[name][0]) * 1e3 for name in ("E_L", "V_th", "V_reset"))
    keep_v = float(decay_factor(tau_m, dt_s))
    return HardwareForm(
        model=model,
        dt_ms=dt_s * 1e3,
        tau_v_ms=tau_m * 1e3,
        keep_v=keep_v,
        drive_offset=(1.0 - keep_v) * (e_l - v_reset),
        drive_per_pA=(1.0 - keep_v) * r_mohm * 1e-3,
        threshold=v_th - v_reset,
        rest=e_l - v_reset,
        unit="mV above V_reset",
        refractory_ms=float(p["t_ref"][0]) * 1e3,
        terms=tuple(terms),
    )
