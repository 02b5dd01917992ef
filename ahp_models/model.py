"""The interface every neuron model of the catalogue implements.

A model turns a `ParameterSet` into the pieces of a Brian2 ``NeuronGroup``: unit-checked
equations, a per-step update in closed form (see `ahp_models.integration`), threshold, reset
and refractoriness, per-neuron step coefficients computed once before a run, and the initial
state. Backends only ever talk to this interface, so a new model needs no backend changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

from ahp_models.hardware_form import HardwareForm
from ahp_models.parameters import ParameterError, ParameterSet
from ahp_models.quantities import lookup_unit

__all__ = ["ClosedFormStep", "NeuronModel", "Variable"]

#: Name of the stimulus current every model's equations use; the simulation layer defines it.
STIMULUS_CURRENT = "I_ext"


@dataclass(frozen=True)
class Variable:
    """A recordable model variable.

    Attributes
    ----------
    name : str
        Brian2 name.
    unit_name : str
        Unit for tables and figures (``"mV"``, ``"pA"``, ``"1"``).
    description : str
        Meaning.
    """

    name: str
    unit_name: str
    description: str


def brian_unit_text(unit_name: str) -> str:
    """Return the SI base-unit text Brian2 equations use for a display unit (``mV`` -> volt)."""
    dimensions = lookup_unit(unit_name).dim
    if dimensions is DIMENSIONLESS:
        return "1"
    return repr(get_unit(dimensions))


class ClosedFormStep:
    """A Brian2 state-updater that returns a model's closed-form step instead of integrating.

    Brian2 calls it with the model's equations; it checks that the step updates exactly the
    differential equations' variables and returns the step as abstract code.
    """

    def __init__(self, model_name: str, code: str, updated: tuple[str, ...]) -> None:
        self.__name__ = f"closed_form_{model_name}"
        self.code = code
        self.updated = updated

    def __call__(self, equations: Any, variables: Any = None, method_options: Any = None) -> str:
        """Return the abstract code of one step (Brian2 state-updater protocol)."""
        integrated = set(equations.diff_eq_names)
        if integrated != set(self.updated):
            raise ValueError(
                f"{self.__name__} updates {sorted(self.updated)} but the equations integrate "
                f"{sorted(integrated)}"
            )
        return self.code


class NeuronModel(ABC):
    """Base class of the catalogue's neuron models.

    Subclasses set `name`, `title` and `params_class` and implement the abstract methods.
    Parameter arrays passed between the methods are float64 SI values with one row per neuron
    (`ParameterSet.si_arrays`).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    params_class: ClassVar[type[ParameterSet]]
    #: True for models defined in discrete time (updated by ``run_regularly`` each step).
    discrete_time: ClassVar[bool] = False

    # -- structure ----------------------------------------------------------------------------
    @property
    def options(self) -> dict[str, Any]:
        """Structural options of this instance (they change the generated code)."""
        return {}

    @property
    def key(self) -> tuple:
        """Hashable identity of the generated code: model name and structural options."""
        return (self.name, *sorted(self.options.items()))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({options})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NeuronModel) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @abstractmethod
    def state_variables(self) -> tuple[Variable, ...]:
        """Variables the step updates (integrated state)."""

    def expressions(self) -> tuple[Variable, ...]:
        """Recordable derived quantities (Brian2 subexpressions)."""
        return ()

    def recordable(self) -> dict[str, Variable]:
        """All variables a monitor can record, including the stimulus current."""
        stimulus = Variable(STIMULUS_CURRENT, "pA", "injected stimulus current")
        return {v.name: v for v in (*self.state_variables(), *self.expressions(), stimulus)}

    @abstractmethod
    def differential_equations(self) -> str:
        """Brian2 equations of the dynamics (without parameter declarations)."""

    #: For per-current parameter fields: the prefix of their NeuronGroup constants, one per
    #: current (field ``tau_ahp`` with prefix ``tau`` gives ``tau_I_ahp_1``, ``tau_I_ahp_2``...).
    per_current_prefixes: ClassVar[dict[str, str]] = {}

    def current_names(self) -> list[str]:
        """State-variable names of the model's per-current currents (none by default)."""
        return []

    def _constant_names(self, field: str) -> list[str]:
        if field not in self.per_current_prefixes:
            return [field]
        return [f"{self.per_current_prefixes[field]}_{c}" for c in self.current_names()]

    def brian_parameters(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Map parameter arrays to the NeuronGroup's per-neuron constants (SI, shape (n,)).

        A field is one constant of the same name; a per-current field is one constant per
        current (see `per_current_prefixes`).
        """
        values = {}
        for field in self.params_class.specs():
            names = self._constant_names(field)
            if field in self.per_current_prefixes:
                values.update({name: p[field][:, k] for k, name in enumerate(names)})
            else:
                values[field] = p[field]
        return values

    def parameter_units(self) -> dict[str, str]:
        """Display unit of every NeuronGroup constant that `brian_parameters` returns."""
        return {
            name: spec.unit_name
            for field, spec in self.params_class.specs().items()
            for name in self._constant_names(field)
        }

    @abstractmethod
    def coefficients(self, p: Mapping[str, np.ndarray], dt_s: float) -> dict[str, np.ndarray]:
        """Per-neuron step coefficients (decay factors, couplings) for time step ``dt_s``."""

    @abstractmethod
    def coefficient_units(self) -> dict[str, str]:
        """Display unit of every coefficient that `coefficients` returns."""

    @abstractmethod
    def step_code(self) -> str:
        """Brian2 abstract code of one closed-form step."""

    threshold: ClassVar[str]
    reset: ClassVar[str]
    #: Name of the per-neuron refractory-period constant, or False for none.
    refractory: ClassVar[str | bool] = False

    def refractory_expression(self) -> str | bool:
        """Brian2 ``refractory`` argument: integration of ``v`` restarts this long after the
        reported spike time (default: the `refractory` constant itself)."""
        return self.refractory

    @abstractmethod
    def initial_state(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Initial values (SI) of the state variables: the resting state."""

    @abstractmethod
    def rheobase(self, params: ParameterSet, dt: Quantity | None = None) -> Quantity:
        """Smallest constant current that makes the resting neuron fire (analytic).

        Parameters
        ----------
        params : ParameterSet
            The parameters.
        dt : Quantity, optional
            Time step; only discrete-time models depend on it.

        Returns
        -------
        Quantity
            The rheobase, one value or one per neuron.
        """

    # -- derived ------------------------------------------------------------------------------
    def declarations(self) -> str:
        """Brian2 declarations of all per-neuron constants (parameters and coefficients)."""
        units = {**self.parameter_units(), **self.coefficient_units()}
        return "\n".join(f"{name} : {brian_unit_text(u)} (constant)" for name, u in units.items())

    def equations(self) -> str:
        """Complete Brian2 equations of the model, except the stimulus current ``I_ext``."""
        return self.differential_equations().strip() + "\n" + self.declarations()

    def state_updater(self) -> ClosedFormStep | None:
        """The Brian2 state updater of the model (None for discrete-time models)."""
        if self.discrete_time:
            return None
        updated = tuple(v.name for v in self.state_variables())
        return ClosedFormStep(self.name, self.step_code(), updated)

    def neuron_group(
        self,
        params: ParameterSet | None = None,
        n: int | None = None,
        *,
        name: str | None = None,
        dt: Quantity | None = None,
        stimulus: Any = None,
    ) -> Any:
        """A Brian2 ``NeuronGroup`` of this model for a network of one's own.

        See `ahp_models.groups.neuron_group` (same parameters, without ``model``).
        """
        from ahp_models.groups import neuron_group  # groups builds on this module

        return neuron_group(self, params, n, name=name, dt=dt, stimulus=stimulus)

    def default_params(self) -> ParameterSet:
        """Default parameters, matching this instance's structure."""
        return self.params_class()

    def check_params(self, params: ParameterSet) -> None:
        """Raise `ParameterError` if ``params`` do not belong to this model instance."""
        if not isinstance(params, self.params_class):
            raise ParameterError(
                f"model {self.name!r} takes {self.params_class.__name__}, got "
                f"{type(params).__name__}"
            )

    def hardware_form(self, params: ParameterSet, dt_s: float) -> HardwareForm | None:
        """The model's discrete-time linear float form at step ``dt_s`` (one neuron), or None.

        Models whose dynamics fit neuromorphic compartments (`ahp_models.hardware_form`)
        override this; `hardware_mapping` maps exactly those models.

        Parameters
        ----------
        params : ParameterSet
            One neuron's parameters.
        dt_s : float
            The hardware time step in seconds.

        Returns
        -------
        HardwareForm or None
            The form, or None if the model has no hardware form.
        """
        return None

    def check_time_step(self, params: ParameterSet, dt_s: float) -> None:
        """Raise `ParameterError` if the model cannot run at time step ``dt_s``."""
        refractory = self.refractory
        if refractory:
            t_ref_s = np.asarray(getattr(params, refractory), dtype=float).ravel()
            steps = t_ref_s / dt_s
            off_grid = np.flatnonzero(np.abs(steps - np.round(steps)) > 1e-6)
            if off_grid.size:
                index = int(off_grid[0])
                where = "" if t_ref_s.size == 1 else f"[{index}]"
                raise ParameterError(
                    f"{type(params).__name__}.{refractory}{where} = "
                    f"{t_ref_s[index] * 1e3:g} ms is not a whole number of time steps "
                    f"(dt = {dt_s * 1e3:g} ms); allowed: multiples of dt"
                )
