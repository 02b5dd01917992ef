"""Allen GLIF3 (LIF with after-spike currents, "LIF-ASC"; Teeter et al. 2018).

Equations (allensdk ``allensdk.model.glif``)::

    C dv/dt = I_ext + sum_j I_j - (v - E_L)/R
    dI_j/dt = -I_j / tau_j
    spike if v > E_L + th_inf; v is cut for ``spike_cut`` (no integration), then
    v <- E_L and I_j <- A_j + r_j I_j exp(-spike_cut / tau_j)

In Brian2 the cut is a refractory period, the currents keep decaying through it, and the reset
``I_j <- r_j I_j + A_j exp(spike_cut / tau_j)`` applied at the spike leaves exactly Allen's value
when the cut ends (Teeter et al. 2018; allensdk.model.glif). allensdk skips
``spike_cut_length + 1`` steps after the step in
which ``v`` crossed (``time_step += spike_cut_length + 1``: the spike step itself, then the cut),
whereas Brian2 restarts integration ``refractory`` after the reported spike step; the refractory
period is therefore ``spike_cut + dt``, which makes the first integrated step after a spike the
same step index as in allensdk (tested against allensdk's own code).

Schemes
-------
``allen`` (default) is allensdk's own discretisation, which Allen's parameters were fitted with:
forward Euler for ``v`` using the currents at the start of the step
(``dynamics_voltage_linear_forward_euler``) and exact exponential decay of the currents
(``dynamics_AScurrent_exp``); spike checked after each step, the step index of a spike equal to
allensdk's ``spike_time_steps``. ``exact`` is the closed-form step of `ahp_models.integration`
(the same model without Euler's error, for users who want the continuous-time GLIF3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Mohm, Quantity, amp, farad, ms, mV, ohm, pA, pF, second, volt

from ahp_models.integration import coupling_factor, decay_factor
from ahp_models.membrane import MEMBRANE_POTENTIAL, membrane_step, voltage_parameter
from ahp_models.model import NeuronModel, Variable
from ahp_models.parameters import ParameterError, ParameterSet, parameter

__all__ = ["Glif3", "Glif3Params"]

SCHEMES = ("allen", "exact")


@dataclass(frozen=True)
class Glif3Params(ParameterSet):
    """Parameters of Allen's GLIF3 neuron (``glif3``), as in Allen's neuron configs.

    Defaults are the medians of Allen's mouse GLIF3 fits.
    """

    model_name = "glif3"

    R: Quantity = parameter(
        195 * Mohm, "Mohm", low=0, low_open=True, description="input resistance"
    )
    C: Quantity = parameter(95 * pF, "pF", low=0, low_open=True, description="capacitance")
    E_L: Quantity = voltage_parameter(-73 * mV, "resting potential (Allen's El_reference)")
    th_inf: Quantity = parameter(
        29 * mV, "mV", low=0, low_open=True, description="threshold above E_L"
    )
    spike_cut: Quantity = parameter(
        4 * ms,
        "ms",
        low=0,
        high=1000,
        description="time after a spike without integration (Allen's spike_cut_length x dt)",
    )
    asc_amp: Quantity = parameter(
        np.array([-16.0, -104.0]) * pA,
        "pA",
        description="after-spike current amplitude A_j (negative = hyperpolarizing)",
        per_current=True,
    )
    asc_tau: Quantity = parameter(
        np.array([333.3, 10.0]) * ms,
        "ms",
        low=0,
        low_open=True,
        description="after-spike current time constant tau_j",
        per_current=True,
    )
    asc_r: Quantity = parameter(
        np.array([1.0, 1.0]),
        "1",
        low=0,
        high=1,
        description="fraction of an after-spike current kept at a spike (Allen's r)",
        per_current=True,
    )

    def _check_relations(self) -> None:
        # the reset adds A_j exp(spike_cut / tau_j), which overflows beyond exp(709)
        ratio = np.asarray(self.spike_cut / second)[..., None] / np.asarray(self.asc_tau / second)
        self._require(
            np.all(np.atleast_2d(ratio) < 700.0, axis=-1),
            "spike_cut / asc_tau must stay below 700 (the after-spike reset factor "
            "exp(spike_cut / asc_tau) overflows); shorten spike_cut or lengthen asc_tau",
        )

    @classmethod
    def from_allen(cls, row: Mapping[str, Any], *, source: str | None = None) -> Glif3Params:
        """Read one GLIF3 row of ``glif_teeter2018_params_summary.csv``.

        Parameters
        ----------
        row : mapping
            A row (dict or pandas Series) with Allen's columns: ``R_input_ohm``, ``C_F``,
            ``El_reference_V``, ``th_inf_V_rel_El``, ``spike_cut_length_steps``, ``dt_s``,
            ``asc_amp1_A``, ``asc_amp2_A``, ``asc_tau1_s``, ``asc_tau2_s``, ``asc_r`` (a JSON
            list), ``glif_level``, ``asc_active``, reset and threshold rules.
        source : str, optional
            File name for error messages.

        Returns
        -------
        Glif3Params
            The parameters.

        Raises
        ------
        ParameterError
            If a column is missing or the row is not a GLIF3 (LIF-ASC) fit.
        """
        where = f"{source}: " if source else ""
        specimen = row.get("specimen_id", "?")

        def column(name: str) -> Any:
            if name not in row:
                raise ParameterError(
                    f"{where}GLIF row of specimen {specimen} lacks column {name!r}"
                )
            return row[name]

        level = int(column("glif_level"))
        if level != 3:
            raise ParameterError(
                f"{where}specimen {specimen}: glif_level = {level}; Glif3Params needs level 3"
            )
        if str(column("asc_active")).strip().lower() not in ("true", "1"):
            raise ParameterError(f"{where}specimen {specimen}: asc_active is False for GLIF3")
        for rule, expected in (
            ("voltage_reset", "zero"),
            ("threshold_reset", "inf"),
            ("threshold_dynamics", "inf"),
        ):
            if str(column(rule)) != expected:
                raise ParameterError(
                    f"{where}specimen {specimen}: {rule} = {column(rule)!r}; GLIF3 uses "
                    f"{expected!r}"
                )
        try:
            r = np.asarray(json.loads(str(column("asc_r"))), dtype=float)
        except (json.JSONDecodeError, TypeError, ValueError):
            raise ParameterError(
                f"{where}specimen {specimen}: asc_r = {column('asc_r')!r} is not a JSON list "
                "of numbers"
            ) from None
        steps = float(column("spike_cut_length_steps"))
        return cls(
            R=float(column("R_input_ohm")) * ohm,
            C=float(column("C_F")) * farad,
            E_L=float(column("El_reference_V")) * volt,
            th_inf=float(column("th_inf_V_rel_El")) * volt,
            spike_cut=steps * float(column("dt_s")) * second,
            asc_amp=np.array([float(column("asc_amp1_A")), float(column("asc_amp2_A"))]) * amp,
            asc_tau=np.array([float(column("asc_tau1_s")), float(column("asc_tau2_s"))]) * second,
            asc_r=r,
        )


class Glif3(NeuronModel):
    """Allen's GLIF3 neuron (LIF with after-spike currents).

    Parameters
    ----------
    scheme : {"allen", "exact"}
        ``allen``: allensdk's forward-Euler voltage step (reproduces Allen's simulations);
        ``exact``: closed-form step.
    n_currents : int
        Number of after-spike currents (Allen's fits have 2).
    """

    name = "glif3"
    title = "Allen GLIF3 (LIF with after-spike currents)"
    params_class = Glif3Params
    threshold = "v > E_L + th_inf"
    refractory = "spike_cut"
    per_current_prefixes: ClassVar[dict[str, str]] = {
        "asc_amp": "A",
        "asc_tau": "tau",
        "asc_r": "r",
    }

    def refractory_expression(self) -> str:
        """allensdk skips the spike step and then ``spike_cut``: ``spike_cut + dt``."""
        return "spike_cut + dt"

    def __init__(self, scheme: str = "allen", n_currents: int = 2) -> None:
        if scheme not in SCHEMES:
            raise ParameterError(f"glif3: scheme = {scheme!r}; allowed: {', '.join(SCHEMES)}")
        if not isinstance(n_currents, int | np.integer) or not 1 <= n_currents <= 32:
            raise ParameterError(f"glif3: n_currents = {n_currents!r}; allowed: 1..32")
        self.scheme = scheme
        self.n_currents = int(n_currents)

    @property
    def options(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "n_currents": self.n_currents}

    def current_names(self) -> list[str]:
        return [f"I_asc_{k + 1}" for k in range(self.n_currents)]

    def state_variables(self) -> tuple[Variable, ...]:
        return (
            MEMBRANE_POTENTIAL,
            *(Variable(n, "pA", "after-spike current") for n in self.current_names()),
        )

    def expressions(self) -> tuple[Variable, ...]:
        return (Variable("I_asc", "pA", "total after-spike current"),)

    def differential_equations(self) -> str:
        total = " + ".join(self.current_names())
        lines = [
            "dv/dt = (I_ext + I_asc - (v - E_L)/R)/C : volt (unless refractory)",
            f"I_asc = {total} : amp",
        ]
        lines += [f"d{n}/dt = -{n}/tau_{n} : amp" for n in self.current_names()]
        return "\n".join(lines)

    @property
    def reset(self) -> str:  # type: ignore[override]
        lines = ["v = E_L"]
        lines += [f"{n} = r_{n}*{n} + reset_{n}" for n in self.current_names()]
        return "\n".join(lines)

    def coefficient_units(self) -> dict[str, str]:
        units = {"G": "nS"} if self.scheme == "allen" else {"decay_m": "1"}
        for name in self.current_names():
            units[f"decay_{name}"] = "1"
            units[f"reset_{name}"] = "pA"
            if self.scheme == "exact":
                units[f"k_{name}"] = "Mohm"
        return units

    def coefficients(self, p: Mapping[str, np.ndarray], dt_s: float) -> dict[str, np.ndarray]:
        tau_m = p["R"] * p["C"]
        values: dict[str, np.ndarray] = {}
        if self.scheme == "allen":
            values["G"] = 1.0 / p["R"]
        else:
            values["decay_m"] = decay_factor(tau_m, dt_s)
        for k, name in enumerate(self.current_names()):
            tau = p["asc_tau"][:, k]
            values[f"decay_{name}"] = decay_factor(tau, dt_s)
            # applied at the spike; the current then decays through the cut to Allen's value
            values[f"reset_{name}"] = p["asc_amp"][:, k] * np.exp(p["spike_cut"] / tau)
            if self.scheme == "exact":
                values[f"k_{name}"] = p["R"] * coupling_factor(tau_m, tau, dt_s)
        return values

    def step_code(self) -> str:
        currents = self.current_names()
        if self.scheme == "exact":
            return membrane_step([(n, f"k_{n}") for n in currents], sign="+")
        total = " + ".join(currents)
        lines = [f"_v_next = v + (I_ext + ({total}) - G*(v - E_L))*dt/C"]
        lines += [f"{n} = {n}*decay_{n}" for n in currents]
        lines.append("v = _v_next")
        return "\n".join(lines)

    def initial_state(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        state = {"v": p["E_L"].copy()}
        state.update({n: np.zeros_like(p["E_L"]) for n in self.current_names()})
        return state

    def rheobase(self, params: ParameterSet, dt: Quantity | None = None) -> Quantity:
        """Threshold current of the resting neuron: ``th_inf / R``."""
        return params.th_inf / params.R

    def default_params(self) -> Glif3Params:
        """Allen-median defaults, with ``n_currents`` currents (amplitudes split evenly)."""
        if self.n_currents == 2:
            return Glif3Params()
        tau = np.geomspace(10.0, 333.3, self.n_currents) * ms
        return Glif3Params(
            asc_amp=np.full(self.n_currents, -60.0) * pA,
            asc_tau=tau,
            asc_r=np.ones(self.n_currents),
        )

    def check_params(self, params: ParameterSet) -> None:
        super().check_params(params)
        if params.n_currents != self.n_currents:
            raise ParameterError(
                f"glif3 with n_currents={self.n_currents} got parameters for "
                f"{params.n_currents} after-spike currents"
            )
