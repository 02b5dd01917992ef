"""LIF neurons with current-based AHP currents: one current (the paper's neuron) or several.

Equations (Rao et al. 2022)::

    tau_m dv/dt = (E_L - v) + R (I_ext - sum_k I_ahp_k)      (v held at V_reset while refractory)
    tau_ahp_k dI_ahp_k/dt = -I_ahp_k
    on spike (v > V_th): v <- V_reset ; I_ahp_k <- I_ahp_k + b_ahp_k

Integrated with the closed-form step of `ahp_models.integration`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Quantity, ms, pA

from ahp_models.hardware_form import HardwareForm, SpikeTriggeredTerm
from ahp_models.integration import coupling_factor, decay_factor
from ahp_models.membrane import (
    MEMBRANE_POTENTIAL,
    MembraneParams,
    membrane_coefficients,
    membrane_hardware_form,
    membrane_rheobase,
    membrane_step,
)
from ahp_models.model import NeuronModel, Variable
from ahp_models.parameters import ParameterError, ParameterSet, parameter

__all__ = ["LifAhp", "LifAhpParams", "LifMultiAhp", "MultiAhpParams"]


@dataclass(frozen=True)
class LifAhpParams(MembraneParams):
    """Parameters of the LIF neuron with one current-based AHP current (``lif_ahp``)."""

    model_name = "lif_ahp"

    tau_ahp: Quantity = parameter(
        300 * ms, "ms", low=0, low_open=True, description="AHP current decay time constant"
    )
    b_ahp: Quantity = parameter(
        15 * pA,
        "pA",
        low=0,
        description="AHP current increment per spike (positive = hyperpolarizing)",
    )


@dataclass(frozen=True)
class MultiAhpParams(MembraneParams):
    """Parameters of the LIF neuron with several AHP currents (``lif_multi_ahp``).

    ``tau_ahp`` and ``b_ahp`` hold one value per current (shape ``(n_currents,)``), or one row
    per neuron (shape ``(n_neurons, n_currents)``).
    """

    model_name = "lif_multi_ahp"

    tau_ahp: Quantity = parameter(
        np.array([30.0, 300.0, 3000.0]) * ms,
        "ms",
        low=0,
        low_open=True,
        description="decay time constant of each AHP current",
        per_current=True,
    )
    b_ahp: Quantity = parameter(
        np.array([5.0, 10.0, 2.0]) * pA,
        "pA",
        low=0,
        description="increment per spike of each AHP current (positive = hyperpolarizing)",
        per_current=True,
    )


class _LifWithCurrents(NeuronModel):
    """Shared implementation: LIF membrane with hyperpolarizing exponential currents."""

    threshold = "v > V_th"
    refractory = "t_ref"

    def _current_taus(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def state_variables(self) -> tuple[Variable, ...]:
        currents = [Variable(n, "pA", "AHP current") for n in self.current_names()]
        return (MEMBRANE_POTENTIAL, *currents)

    def differential_equations(self) -> str:
        names = self.current_names()
        total = " + ".join(names)
        lines = [f"dv/dt = (E_L - v + R*(I_ext - ({total})))/tau_m : volt (unless refractory)"]
        lines += [f"d{n}/dt = -{n}/tau_{n} : amp" for n in names]
        return "\n".join(lines)

    def coefficient_units(self) -> dict[str, str]:
        units = {"decay_m": "1"}
        for name in self.current_names():
            units[f"decay_{name}"] = "1"
            units[f"k_{name}"] = "Mohm"
        return units

    def coefficients(self, p: Mapping[str, np.ndarray], dt_s: float) -> dict[str, np.ndarray]:
        return membrane_coefficients(p["tau_m"], p["R"], self._current_taus(p), dt_s)

    def step_code(self) -> str:
        return membrane_step([(n, f"k_{n}") for n in self.current_names()])

    def initial_state(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        state = {"v": p["E_L"].copy()}
        state.update({n: np.zeros_like(p["E_L"]) for n in self.current_names()})
        return state

    def rheobase(self, params: ParameterSet, dt: Quantity | None = None) -> Quantity:
        """Threshold current of the resting neuron: ``(V_th - E_L) / R``."""
        return membrane_rheobase(params)

    def hardware_form(self, params: ParameterSet, dt_s: float) -> HardwareForm:
        """The exact step: each AHP current couples into ``v`` by ``R c_k`` per pA
        (`ahp_models.integration.coupling_factor`), ``b_ahp`` per spike."""
        p = params.si_arrays(1)
        taus_s = np.ravel(p["tau_ahp"])
        increments_pA = np.ravel(p["b_ahp"]) * 1e12
        r_mv_per_pA = float(p["R"][0]) * 1e-9
        terms = []
        for k, (tau_s, b_pA) in enumerate(zip(taus_s, increments_pA, strict=True), start=1):
            coupling = float(coupling_factor(p["tau_m"][0], tau_s, dt_s))
            terms.append(
                SpikeTriggeredTerm(
                    name="tau_ahp" if taus_s.size == 1 else f"tau_ahp_{k}",
                    tau_ms=float(tau_s) * 1e3,
                    keep=float(decay_factor(tau_s, dt_s)),
                    inflow=r_mv_per_pA * coupling * float(b_pA),
                )
            )
        return membrane_hardware_form(self.name, p, dt_s, terms)


class LifAhp(_LifWithCurrents):
    """LIF neuron with one current-based AHP current (the neuron of Rao et al. 2022)."""

    name = "lif_ahp"
    title = "LIF with one current-based AHP current"
    params_class = LifAhpParams
    reset = "v = V_reset\nI_ahp += b_ahp"

    def current_names(self) -> list[str]:
        return ["I_ahp"]

    def _current_taus(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"I_ahp": p["tau_ahp"]}

    def differential_equations(self) -> str:
        return (
            "dv/dt = (E_L - v + R*(I_ext - I_ahp))/tau_m : volt (unless refractory)\n"
            "dI_ahp/dt = -I_ahp/tau_ahp : amp"
        )


class LifMultiAhp(_LifWithCurrents):
    """LIF neuron with ``n_currents`` current-based AHP currents of different time constants.

    Parameters
    ----------
    n_currents : int
        Number of AHP currents (each with its own time constant and increment).
    """

    name = "lif_multi_ahp"
    title = "LIF with several current-based AHP currents"
    params_class = MultiAhpParams
    per_current_prefixes: ClassVar[dict[str, str]] = {"tau_ahp": "tau", "b_ahp": "b"}

    def __init__(self, n_currents: int = 3) -> None:
        if not isinstance(n_currents, int | np.integer) or not 1 <= n_currents <= 32:
            raise ParameterError(
                f"lif_multi_ahp: n_currents = {n_currents!r}; allowed: an integer in [1, 32]"
            )
        self.n_currents = int(n_currents)

    @property
    def options(self) -> dict[str, Any]:
        return {"n_currents": self.n_currents}

    def current_names(self) -> list[str]:
        return [f"I_ahp_{k + 1}" for k in range(self.n_currents)]

    def _current_taus(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: p["tau_ahp"][:, k] for k, name in enumerate(self.current_names())}

    def differential_equations(self) -> str:
        total = " + ".join(self.current_names())
        return super().differential_equations() + f"\nI_ahp = {total} : amp"

    def expressions(self) -> tuple[Variable, ...]:
        return (Variable("I_ahp", "pA", "total AHP current"),)

    @property
    def reset(self) -> str:  # type: ignore[override]
        increments = [f"{n} += b_{n}" for n in self.current_names()]
        return "\n".join(["v = V_reset", *increments])

    def default_params(self) -> MultiAhpParams:
        """Defaults with ``n_currents`` currents: time constants spaced from 30 ms to 3 s."""
        tau = np.geomspace(30.0, 3000.0, self.n_currents) if self.n_currents > 1 else [300.0]
        return MultiAhpParams(
            tau_ahp=np.asarray(tau) * ms, b_ahp=np.full(self.n_currents, 5.0) * pA
        )

    def check_params(self, params: ParameterSet) -> None:
        super().check_params(params)
        if params.n_currents != self.n_currents:
            raise ParameterError(
                f"lif_multi_ahp with n_currents={self.n_currents} got parameters for "
                f"{params.n_currents} currents (tau_ahp, b_ahp)"
            )
