"""Allen GLIF3 ``neuron_config`` files read as the toolkit's `ahp_models.glif3.Glif3` neurons.

A neuron config (Allen's per-model JSON; `ahp_models.glif_export` writes them) holds allensdk's
fields in SI units, voltages relative to ``El_reference``. Read here: ``R_input``, ``C``,
``th_inf``, ``asc_amp_array`` times their ``coeffs`` (allensdk multiplies them in),
``El_reference``, ``spike_cut_length`` x ``dt``, ``asc_tau_array`` and the reset's ``r``.
Only what `Glif3` simulates is accepted: threshold methods ``inf``, after-spike currents ``exp``
/ ``sum``, voltage reset ``zero`` (to ``El_reference``), ``El = 0``, a resting start; anything
else is refused, naming the field, rather than simulated as something else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from brian2 import Quantity, amp, farad, ohm, second, volt

from ahp_models.glif3 import Glif3, Glif3Params
from ahp_models.parameters import ParameterError, read_json_object

__all__ = ["Glif3NeuronConfig", "glif3_from_neuron_config", "read_glif3_neuron_config"]

#: allensdk's voltage step -> the `Glif3` scheme that reproduces it.
SCHEME_OF_VOLTAGE_METHOD = {"linear_forward_euler": "allen", "linear_exact": "exact"}
#: Methods `Glif3` implements, by allensdk's method field.
GLIF3_METHODS = {
    "threshold_dynamics_method": "inf",
    "threshold_reset_method": "inf",
    "AScurrent_dynamics_method": "exp",
    "AScurrent_reset_method": "sum",
    "voltage_reset_method": "zero",
}


@dataclass(frozen=True)
class Glif3NeuronConfig:
    """A neuron config as a `Glif3` neuron.

    Attributes
    ----------
    params : Glif3Params
        The neuron.
    dt : Quantity
        The config's step (the one its ``spike_cut_length`` counts).
    scheme : str
        `Glif3` scheme of the config's voltage step: ``allen`` (forward Euler) or ``exact``.
    """

    params: Glif3Params
    dt: Quantity
    scheme: str

    def model(self) -> Glif3:
        """The `Glif3` model that simulates the config as its voltage method says."""
        return Glif3(scheme=self.scheme, n_currents=self.params.n_currents)


def glif3_from_neuron_config(
    config: Mapping[str, Any], *, source: str | None = None
) -> Glif3NeuronConfig:
    """Read a GLIF3 neuron config.

    Parameters
    ----------
    config : mapping
        The config's JSON object.
    source : str, optional
        File name for error messages.

    Returns
    -------
    Glif3NeuronConfig
        The neuron, its step and its scheme.

    Raises
    ------
    ParameterError
        If a field is missing or malformed, or the config is not a GLIF3 `Glif3` can simulate.
    """
    where = f"{source}: " if source else "neuron_config: "

    def field(name: str, within: Any = config, path: str = "") -> Any:
        if not isinstance(within, Mapping) or name not in within:
            raise ParameterError(f"{where}no field {path}{name}")
        return within[name]

    def number(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
            raise ParameterError(f"{where}{name} = {value!r}; allowed: a finite number")
        return float(value)

    def numbers(value: Any, name: str, size: int | None) -> np.ndarray:
        if not isinstance(value, list) or not value or size not in (None, len(value)):
            count = "numbers" if size is None else f"{size} numbers"
            raise ParameterError(
                f"{where}{name} = {value!r}; allowed: a list of {count}, one per after-spike "
                "current"
            )
        return np.array([number(v, f"{name}[{k}]") for k, v in enumerate(value)])

    def method(kind: str) -> str:
        return field("name", field(kind), f"{kind}.")

    voltage_method = method("voltage_dynamics_method")
    if not isinstance(voltage_method, str) or voltage_method not in SCHEME_OF_VOLTAGE_METHOD:
        raise ParameterError(
            f"{where}voltage_dynamics_method = {voltage_method!r}; allowed: "
            f"{', '.join(SCHEME_OF_VOLTAGE_METHOD)}"
        )
    for kind, expected in GLIF3_METHODS.items():
        if method(kind) != expected:
            raise ParameterError(
                f"{where}{kind} = {field(kind)!r}; allowed: {expected!r} (the GLIF3 neuron of "
                "`Glif3`)"
            )
    taus_s = numbers(field("asc_tau_array"), "asc_tau_array", None)
    n = taus_s.size
    for name in ("El", "init_voltage"):
        if number(field(name), name) != 0.0:
            raise ParameterError(
                f"{where}{name} = {field(name)!r}; allowed: 0 (a GLIF3 neuron rests at and "
                "resets to El_reference, and starts at rest)"
            )
    if np.any(numbers(field("init_AScurrents"), "init_AScurrents", n) != 0.0):
        raise ParameterError(
            f"{where}init_AScurrents = {field('init_AScurrents')!r}; allowed: zeros (a GLIF3 "
            "neuron starts at rest)"
        )
    coeffs = config.get("coeffs", {})  # as allensdk: a missing coefficient is 1
    if not isinstance(coeffs, Mapping):
        raise ParameterError(f"{where}coeffs = {coeffs!r}; allowed: an object")
    scale = {
        name: number(coeffs[name], f"coeffs.{name}") if name in coeffs else 1.0
        for name in ("G", "C", "th_inf")
    }
    for name, value in scale.items():
        if not value > 0:
            raise ParameterError(f"{where}coeffs.{name} = {value!r}; allowed: a number > 0")
    amp_scale = (
        numbers(coeffs["asc_amp_array"], "coeffs.asc_amp_array", n)
        if "asc_amp_array" in coeffs
        else np.ones(n)
    )
    dt_s = number(field("dt"), "dt")
    cut_steps = number(field("spike_cut_length"), "spike_cut_length")
    if not dt_s > 0 or cut_steps < 0 or cut_steps != int(cut_steps):
        raise ParameterError(
            f"{where}dt = {dt_s!r}, spike_cut_length = {cut_steps!r}; allowed: dt > 0 and a "
            "whole number of steps >= 0"
        )
    reset_path = "AScurrent_reset_method.params."
    r = field("r", field("params", field("AScurrent_reset_method"), "AScurrent_reset_method."),
              reset_path)  # fmt: skip
    try:
        params = Glif3Params(
            R=number(field("R_input"), "R_input") / scale["G"] * ohm,
            C=number(field("C"), "C") * scale["C"] * farad,
            E_L=number(field("El_reference"), "El_reference") * volt,
            th_inf=number(field("th_inf"), "th_inf") * scale["th_inf"] * volt,
            spike_cut=cut_steps * dt_s * second,
            asc_amp=numbers(field("asc_amp_array"), "asc_amp_array", n) * amp_scale * amp,
            asc_tau=taus_s * second,
            asc_r=numbers(r, f"{reset_path}r", n),
        )
    except ParameterError as error:
        raise ParameterError(f"{where}{error}") from None
    return Glif3NeuronConfig(params, dt_s * second, SCHEME_OF_VOLTAGE_METHOD[voltage_method])


def read_glif3_neuron_config(path: str | os.PathLike) -> Glif3NeuronConfig:
    """Read a GLIF3 neuron config file (one JSON object, as Allen and `ahp_models.glif_export`
    write them).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    Glif3NeuronConfig
        See `glif3_from_neuron_config`.

    Raises
    ------
    ParameterError
        If the file cannot be read or is not such a config.
    """
    return glif3_from_neuron_config(read_json_object(path), source=str(path))
