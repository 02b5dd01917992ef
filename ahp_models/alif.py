"""Threshold adaptation (ALIF), the adaptive neuron of Bellec et al. 2018 (LSNN), for comparison.

Equations::

    tau_m dv/dt = (E_L - v) + R I_ext          (v held at V_reset while refractory)
    tau_a dtheta/dt = -theta
    spike if v > V_th + theta;  on spike: v <- V_reset ; theta <- theta + delta_theta

Bellec's discrete form ``A = b0 + beta * a``, ``a <- rho a + (1 - rho) z`` (``rho =
exp(-dt/tau_a)``, one spike per step z) is this model with ``delta_theta = beta (1 - rho)``;
`AlifParams.from_lsnn` does that conversion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, mV

from ahp_models.hardware_form import HardwareForm, SpikeTriggeredTerm
from ahp_models.integration import decay_factor
from ahp_models.membrane import (
    MEMBRANE_POTENTIAL,
    MembraneParams,
    membrane_hardware_form,
    membrane_rheobase,
    membrane_step,
)
from ahp_models.model import NeuronModel, Variable
from ahp_models.parameters import ParameterSet, parameter
from ahp_models.quantities import parse_quantity

__all__ = ["Alif", "AlifParams"]


@dataclass(frozen=True)
class AlifParams(MembraneParams):
    """Parameters of the threshold-adapting LIF neuron (``alif``)."""

    model_name = "alif"

    tau_a: Quantity = parameter(
        300 * ms, "ms", low=0, low_open=True, description="threshold adaptation time constant"
    )
    delta_theta: Quantity = parameter(
        2 * mV, "mV", low=0, description="threshold increase per spike"
    )

    @classmethod
    def from_lsnn(
        cls, beta: Quantity, tau_a: Quantity, dt: Quantity = 1 * ms, **membrane: Quantity
    ) -> AlifParams:
        """Convert Bellec et al.'s LSNN adaptation (``beta``, ``tau_a``, step ``dt``).

        Parameters
        ----------
        beta : Quantity
            LSNN adaptation strength in volts (threshold = b0 + beta * a).
        tau_a : Quantity
            Adaptation time constant.
        dt : Quantity
            The LSNN's time step (1 ms in the paper).
        **membrane
            Other `AlifParams` fields.

        Returns
        -------
        AlifParams
            Parameters with ``delta_theta = beta * (1 - exp(-dt / tau_a))``.
        """
        step = parse_quantity(dt, "ms", field="dt")
        adaptation = parse_quantity(tau_a, "ms", field="tau_a")
        rho = np.exp(-np.asarray(step / adaptation, dtype=float))
        return cls(tau_a=adaptation, delta_theta=beta * (1.0 - rho), **membrane)


class Alif(NeuronModel):
    """LIF neuron with an adaptive threshold (ALIF / LSNN)."""

    name = "alif"
    title = "LIF with threshold adaptation (Bellec et al. 2018)"
    params_class = AlifParams
    threshold = "v > V_th + theta"
    reset = "v = V_reset\ntheta += delta_theta"
    refractory = "t_ref"

    def state_variables(self) -> tuple[Variable, ...]:
        return (MEMBRANE_POTENTIAL, Variable("theta", "mV", "threshold increase above V_th"))

    def differential_equations(self) -> str:
        return (
            "dv/dt = (E_L - v + R*I_ext)/tau_m : volt (unless refractory)\n"
            "dtheta/dt = -theta/tau_a : volt"
        )

    def coefficient_units(self) -> dict[str, str]:
        return {"decay_m": "1", "decay_theta": "1"}

    def coefficients(self, p: Mapping[str, np.ndarray], dt_s: float) -> dict[str, np.ndarray]:
        return {
            "decay_m": decay_factor(p["tau_m"], dt_s),
            "decay_theta": decay_factor(p["tau_a"], dt_s),
        }

    def step_code(self) -> str:
        return membrane_step([], uncoupled=["theta"])

    def initial_state(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"v": p["E_L"].copy(), "theta": np.zeros_like(p["E_L"])}

    def rheobase(self, params: ParameterSet, dt: Quantity | None = None) -> Quantity:
        """Threshold current of the resting neuron: ``(V_th - E_L) / R``."""
        return membrane_rheobase(params)

    def hardware_form(self, params: ParameterSet, dt_s: float) -> HardwareForm:
        """``w = v - theta`` follows the membrane's recursion with the threshold as a
        spike-triggered term: ``w(t) = m w + drive - (a - m) theta(t-1)`` (rule
        ``"threshold"``)."""
        p = params.si_arrays(1)
        keep_a = float(decay_factor(p["tau_a"][0], dt_s))
        keep_v = float(decay_factor(p["tau_m"][0], dt_s))
        jump_mV = float(p["delta_theta"][0]) * 1e3
        term = SpikeTriggeredTerm(
            name="tau_a",
            tau_ms=float(p["tau_a"][0]) * 1e3,
            keep=keep_a,
            inflow=jump_mV * (keep_a - keep_v),
            rule="threshold",
            jump=jump_mV,
        )
        return membrane_hardware_form(self.name, p, dt_s, [term])
