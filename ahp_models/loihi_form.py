"""The paper's discrete-time two-compartment AHP neuron of Loihi, in float arithmetic.

From Rao et al. 2022 (the tutorial figure of its Loihi neuron), one step per time step ``dt``
(1 ms on the chip)::

    v_aux(t)  = v_aux(t-1)  (1 - d_aux)  - b_ahp s(t-1)           (auxiliary compartment)
    v(t)      = v(t-1)      (1 - d_main) + g_in I_ext(t) + v_aux(t)   (main compartment)
    spike s(t) = [v(t) > v_th];  on spike: v <- 0

with ``d = dt / tau``. The main compartment's spike reaches the auxiliary compartment one step
later (Loihi's synaptic delay), which ``s_prev`` carries; the auxiliary compartment never spikes
and pushes its voltage into the main one in the same step (join ADD). ``b_ahp`` is the AHP
decrement per spike (the paper's ``beta * W_aux`` with the sign made positive; 0.756 * v_th for
sequential MNIST). Voltages are in threshold-free units (dimensionless), the input gain maps
current to voltage increments per step. The fixed-point version lives in ``hardware_mapping``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, pA

from ahp_models.hardware_form import HardwareForm, SpikeTriggeredTerm
from ahp_models.model import NeuronModel, Variable
from ahp_models.parameters import ParameterError, ParameterSet, parameter

__all__ = ["LoihiAhp", "LoihiAhpParams"]


@dataclass(frozen=True)
class LoihiAhpParams(ParameterSet):
    """Parameters of the discrete two-compartment AHP neuron (``loihi_ahp``).

    Defaults are the paper's sequential-MNIST neuron (SI Table S1): voltage decay 20 steps, AHP
    decay 700 steps, AHP decrement 0.756 relative to threshold, no refractory period.
    """

    model_name = "loihi_ahp"

    tau_v: Quantity = parameter(
        20 * ms, "ms", low=0, low_open=True, description="main compartment voltage time constant"
    )
    tau_ahp: Quantity = parameter(
        700 * ms,
        "ms",
        low=0,
        low_open=True,
        description="auxiliary (AHP) compartment time constant",
    )
    v_th: Quantity = parameter(1.0, "1", low=0, low_open=True, description="spike threshold")
    b_ahp: Quantity = parameter(
        0.756, "1", low=0, description="AHP decrement per spike (positive = hyperpolarizing)"
    )
    input_gain: Quantity = parameter(
        0.002 / pA,
        "1/pA",
        low=0,
        description="voltage increment per step per unit input current",
    )


class LoihiAhp(NeuronModel):
    """The paper's two-compartment Loihi AHP neuron in discrete time (float arithmetic)."""

    name = "loihi_ahp"
    title = "Loihi two-compartment AHP neuron (discrete time, float)"
    params_class = LoihiAhpParams
    discrete_time = True
    threshold = "v > v_th"
    reset = "v = 0\ns_prev = 1"

    def state_variables(self) -> tuple[Variable, ...]:
        return (
            Variable("v", "1", "main compartment voltage"),
            Variable("v_aux", "1", "auxiliary compartment voltage (the AHP)"),
            Variable("s_prev", "1", "1 if the neuron spiked in the previous step"),
        )

    def differential_equations(self) -> str:
        return "v : 1\nv_aux : 1\ns_prev : 1"

    def coefficient_units(self) -> dict[str, str]:
        return {"keep_v": "1", "keep_aux": "1"}

    def coefficients(self, p: Mapping[str, np.ndarray], dt_s: float) -> dict[str, np.ndarray]:
        return {"keep_v": 1.0 - dt_s / p["tau_v"], "keep_aux": 1.0 - dt_s / p["tau_ahp"]}

    def check_time_step(self, params: ParameterSet, dt_s: float) -> None:
        for name in ("tau_v", "tau_ahp"):
            tau_s = np.asarray(getattr(params, name), dtype=float).ravel()
            if (tau_s < dt_s).any():
                index = int(np.flatnonzero(tau_s < dt_s)[0])
                raise ParameterError(
                    f"LoihiAhpParams.{name} = {tau_s[index] * 1e3:g} ms is shorter than one "
                    f"step (dt = {dt_s * 1e3:g} ms); allowed: tau >= dt (decay d = dt/tau <= 1)"
                )

    def step_code(self) -> str:
        return (
            "v_aux = v_aux*keep_aux - b_ahp*s_prev\n"
            "s_prev = 0\n"
            "v = v*keep_v + input_gain*I_ext + v_aux"
        )

    def initial_state(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        zeros = np.zeros_like(p["tau_v"])
        return {"v": zeros, "v_aux": zeros.copy(), "s_prev": zeros.copy()}

    def hardware_form(self, params: ParameterSet, dt_s: float) -> HardwareForm:
        """The model is its own form (Euler factors ``1 - dt/tau``, voltages in its units)."""
        p = params.si_arrays(1)
        tau_v_s, tau_ahp_s = float(p["tau_v"][0]), float(p["tau_ahp"][0])
        term = SpikeTriggeredTerm(
            name="tau_ahp",
            tau_ms=tau_ahp_s * 1e3,
            keep=1.0 - dt_s / tau_ahp_s,
            inflow=float(p["b_ahp"][0]),
        )
        return HardwareForm(
            model=self.name,
            dt_ms=dt_s * 1e3,
            tau_v_ms=tau_v_s * 1e3,
            keep_v=1.0 - dt_s / tau_v_s,
            drive_offset=0.0,
            drive_per_pA=float(p["input_gain"][0]) * 1e-12,
            threshold=float(p["v_th"][0]),
            rest=0.0,
            unit="v_th units",
            refractory_ms=0.0,
            terms=(term,),
        )

    def rheobase(self, params: ParameterSet, dt: Quantity | None = None) -> Quantity:
        """Smallest constant current whose steady state ``g I tau_v / dt`` exceeds ``v_th``.

        Parameters
        ----------
        params : LoihiAhpParams
            The parameters.
        dt : Quantity, optional
            The step; default 1 ms, the chip's.

        Returns
        -------
        Quantity
            ``v_th * (dt / tau_v) / input_gain``.
        """
        step = 1 * ms if dt is None else dt
        return params.v_th * (step / params.tau_v) / params.input_gain
