"""Heterogeneous populations driven by a common signal, with rate-matched controls.

A population is drawn from a `PopulationSpec` (``lif_ahp`` parameters, each constant or from a
distribution; a target rate per neuron; a signal weight per neuron). Its controls have the same
membranes and the same target rates:

- ``ahp``: the drawn AHP neurons;
- ``lif``: the same neurons without AHP (``b_ahp = 0``);
- ``alif``: threshold adaptation instead of the AHP current, with ``tau_a = tau_ahp`` and
  ``delta_theta = R b_ahp`` (a slow AHP lowers the steady voltage by ``R`` times its current,
  a threshold step of ``R b`` per spike raises the bar by as much).

Each neuron receives ``I0 + sum_c w_c u_c(t)`` (channels held per sample). ``I0`` is found per
neuron and variant so that its mean rate *under the signal* meets the target
(`calibrate_bias`): the deterministic LIF's rate with the mean adaptation current as the first
guess, then Newton steps on short simulations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from brian2 import Mohm, ms, mV, pA, second

from ahp_models import AlifParams, LifAhpParams, ParameterSet, Stimulus, simulate
from ahp_models.membrane import VOLTAGE_RANGE_MV
from analysis.filters.distributions import Distribution
from analysis.filters.kernels import FilterEstimateError

__all__ = [
    "VARIANTS",
    "DrawnPopulation",
    "PopulationSpec",
    "calibrate_bias",
    "draw_population",
    "run_driven",
    "variant_parameters",
]

VARIANTS = ("ahp", "lif", "alif")
#: lif_ahp parameters a spec may set, with their units; ``ahp_charge`` (b_ahp * tau_ahp, pA s)
#: may replace ``b_ahp``.
PARAMETER_UNITS = {
    "E_L": "mV", "R": "Mohm", "tau_m": "ms", "V_th": "mV", "V_reset": "mV", "t_ref": "ms",
    "tau_ahp": "ms", "b_ahp": "pA", "ahp_charge": "pA*second",
}  # fmt: skip
_BRIAN_UNITS = {"mV": mV, "Mohm": Mohm, "ms": ms, "pA": pA}
#: The parameters a fit results table gives each cell (columns ``NAME_UNIT``).
FITTED_COLUMNS = ("E_L", "R", "tau_m", "V_th", "V_reset", "t_ref", "tau_ahp", "b_ahp")


@dataclass(frozen=True)
class PopulationSpec:
    """How to draw a population.

    Attributes
    ----------
    size : int
        Neurons.
    parameters : mapping of str to Distribution
        ``lif_ahp`` parameters (`PARAMETER_UNITS`); unset ones keep the model's defaults.
    rate : Distribution
        Target mean rate per neuron (Hz).
    input_std : Distribution
        Per neuron, the scale of its signal weight (pA); the weight is that times a standard
        normal draw, so signs mix.
    fitted : pandas.DataFrame, optional
        Fitted ``lif_ahp`` cells (columns ``E_L_mV``, ``R_Mohm``, ... as `ahp fit` writes
        them): each neuron is a cell drawn from it (with replacement only if there are fewer
        cells than neurons); ``parameters`` override its values.
    """

    size: int
    parameters: Mapping[str, Distribution]
    rate: Distribution
    input_std: Distribution
    fitted: pd.DataFrame | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DrawnPopulation:
    """One draw: the AHP neurons, their target rates and their input weights.

    Attributes
    ----------
    params : LifAhpParams
        Per-neuron parameters (the ``ahp`` variant).
    rates_Hz : numpy.ndarray
        Target rates.
    weights_pA : numpy.ndarray
        Shape ``(n_channels, size)``: weight of each input channel (channel 0: the signal).
    """

    params: LifAhpParams
    rates_Hz: np.ndarray
    weights_pA: np.ndarray


def draw_population(spec: PopulationSpec, seed: int, channels: int = 1) -> DrawnPopulation:
    """Draw a population (``numpy.random.default_rng(seed)``; same seed, same population)."""
    rng = np.random.default_rng(seed)
    values = {}
    if spec.fitted is not None:
        table = spec.fitted
        rows = rng.choice(len(table), spec.size, replace=len(table) < spec.size)
        for name in FITTED_COLUMNS:
            if name not in spec.parameters:
                values[name] = table[f"{name}_{PARAMETER_UNITS[name]}"].to_numpy(float)[rows]
    for name in sorted(spec.parameters):  # sorted: the draw order does not depend on the file
        values[name] = spec.parameters[name].draw(spec.size, rng)
    if "ahp_charge" in values:
        if "b_ahp" in spec.parameters:
            raise FilterEstimateError(
                "population.parameters: both b_ahp and ahp_charge; allowed: one of them"
            )
        tau_s = values.get("tau_ahp", np.full(spec.size, float(LifAhpParams().tau_ahp / ms)))
        values["b_ahp"] = values.pop("ahp_charge") / (np.asarray(tau_s) * 1e-3)
    params = LifAhpParams(
        **{name: value * _BRIAN_UNITS[PARAMETER_UNITS[name]] for name, value in values.items()}
    )
    if params.n_neurons in (None, 1) and spec.size > 1:  # every value shared: one per neuron
        params = LifAhpParams.concatenate([params], repeat=spec.size)
    rates = spec.rate.draw(spec.size, rng)
    weights = spec.input_std.draw(spec.size, rng) * rng.standard_normal((channels, spec.size))
    return DrawnPopulation(params, rates, weights)


def variant_parameters(params: LifAhpParams, variant: str) -> ParameterSet:
    """The ``ahp`` neurons, or their ``lif`` or ``alif`` control (see the module docstring)."""
    if variant == "ahp":
        return params
    if variant == "lif":
        return params.replace(b_ahp=np.zeros(_size(params)) * pA)
    if variant == "alif":
        membrane = {name: getattr(params, name) for name in
                    ("E_L", "R", "tau_m", "V_th", "V_reset", "t_ref")}  # fmt: skip
        return AlifParams(**membrane, tau_a=params.tau_ahp, delta_theta=params.R * params.b_ahp)
    raise FilterEstimateError(f"variant {variant!r}; allowed: {', '.join(VARIANTS)}")


def initial_bias_pA(params: ParameterSet, rates_Hz: np.ndarray) -> np.ndarray:
    """The current at which the deterministic neuron fires at ``rates_Hz`` with its mean
    adaptation (AHP current ``b tau r``, or threshold ``+ delta_theta tau_a r``)."""
    n = rates_Hz.size
    p = {name: np.broadcast_to(np.asarray(getattr(params, name)), (n,)) for name in
         ("E_L", "R", "tau_m", "V_th", "V_reset", "t_ref")}  # fmt: skip
    rate = np.maximum(rates_Hz, 0.1)
    threshold = p["V_th"]
    adaptation_A = np.zeros(n)
    if isinstance(params, AlifParams):
        threshold = threshold + np.asarray(params.delta_theta) * np.asarray(params.tau_a) * rate
    else:
        adaptation_A = np.asarray(params.b_ahp) * np.asarray(params.tau_ahp) * rate
    free = np.maximum(1.0 / rate - p["t_ref"], 1e-4)
    x = np.exp(free / p["tau_m"])
    lif_A = ((threshold - p["E_L"]) * x - (p["V_reset"] - p["E_L"])) / (p["R"] * (x - 1.0))
    return (lif_A + adaptation_A) / 1e-12


def calibrate_bias(
    params: ParameterSet,
    rates_Hz: np.ndarray,
    weights_pA: np.ndarray,
    signal: np.ndarray,
    *,
    hold: float,
    dt: float,
    backend: str,
    iterations: int = 4,
    discard_samples: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron ``I0`` giving the target mean rate under the signal.

    Parameters
    ----------
    params : ParameterSet
        The neurons (one variant).
    rates_Hz : numpy.ndarray
        Target rates.
    weights_pA, signal : numpy.ndarray
        Input weights ``(channels, n)`` and channel samples ``(channels, samples)``.
    hold, dt : float
        Sample hold and simulation step (s).
    backend : str
        Brian2 backend.
    iterations : int
        Newton steps after the analytic guess.
    discard_samples : int
        Samples at the start left out of the rate (the adaptation settling).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``I0`` (pA) and the rates it gave (Hz), from the last of ``iterations + 1`` runs.
    """
    bias = initial_bias_pA(params, rates_Hz)
    window_s = (signal.shape[1] - discard_samples) * hold
    # slope of the deterministic neuron's f-I curve with its mean adaptation, until two runs
    # give a measured (secant) one; the signal smooths the curve, so no steeper than the target
    # rate over the signal's one-sigma current swing (near rheobase the deterministic slope
    # has no bound)
    rise_pA = initial_bias_pA(params, rates_Hz * 1.05) - initial_bias_pA(params, rates_Hz * 0.95)
    swing_pA = np.sqrt((np.asarray(weights_pA) ** 2).sum(axis=0)) + 1.0
    slope = np.minimum(0.1 * rates_Hz / np.maximum(rise_pA, 1e-6), rates_Hz / swing_pA)
    previous = None
    for iteration in range(iterations + 1):
        neuron, time_s = run_driven(params, bias, weights_pA, signal, hold=hold, dt=dt,
                                    backend=backend)  # fmt: skip
        counted = time_s >= discard_samples * hold
        achieved = np.bincount(neuron[counted], minlength=rates_Hz.size) / window_s
        if iteration == iterations:
            break
        if previous is not None:
            moved_bias, moved_rate = bias - previous[0], achieved - previous[1]
            measured = moved_rate / np.where(np.abs(moved_bias) > 1e-9, moved_bias, np.inf)
            usable = (measured > 0) & (achieved > 0) & (previous[1] > 0)
            slope = np.where(usable, measured, slope)
        previous = (bias.copy(), achieved)
        step = (rates_Hz - achieved) / np.maximum(slope, 1e-6)
        # a silent neuron has no local slope: raise its drive by a tenth
        step = np.where(achieved == 0, 0.1 * np.abs(bias) + 1.0, step)
        bias = bias + np.clip(step, -0.5 * np.abs(bias) - 1.0, 0.5 * np.abs(bias) + 1.0)
    return bias, achieved


def run_driven(
    params: ParameterSet,
    bias_pA: np.ndarray,
    weights_pA: np.ndarray,
    signal: np.ndarray,
    *,
    hold: float,
    dt: float,
    backend: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate neurons receiving ``I0 + weights . signal`` (held per sample).

    Parameters
    ----------
    params : ParameterSet
        ``lif_ahp`` or ``alif`` neurons, one per column of ``weights_pA``.
    bias_pA, weights_pA : numpy.ndarray
        ``I0`` per neuron, and per channel and neuron the weight of its signal.
    signal : numpy.ndarray
        ``(channels, samples)``.
    hold, dt : float
        Sample hold and simulation step (s).
    backend : str
        Brian2 backend.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Spike neuron indices and times (s).
    """
    signal = np.atleast_2d(np.asarray(signal, dtype=float))
    weights = np.atleast_2d(np.asarray(weights_pA, dtype=float))[: signal.shape[0]]
    n = weights.shape[1]
    model = "alif" if isinstance(params, AlifParams) else "lif_ahp"
    shifted_rest = params.E_L + params.R * np.asarray(bias_pA) * pA
    low, high = VOLTAGE_RANGE_MV
    if signal.shape[0] == 1 and low < np.min(shifted_rest / mV) <= np.max(shifted_rest / mV) < high:
        # One channel: the bias moves the membrane's rest exactly as a current would, since
        # tau_m dv/dt = E_L + R (I0 + w u) - v, so the drive is one shared waveform with
        # per-neuron amplitudes; a waveform column per neuron ran 2.8x slower (1000 neurons,
        # C++ standalone, measured)
        params = params.replace(E_L=shifted_rest)
        stimulus = Stimulus(signal[0], hold * second, weights[0] * pA, protocol="filter study")
    else:
        drive = bias_pA[None, :] + signal.T @ weights
        stimulus = Stimulus(drive, hold * second, np.ones(n) * pA, protocol="filter study")
    result = simulate(model, params, stimulus, backend=backend, dt=dt * second)
    return np.asarray(result.spike_neuron), np.asarray(result.spike_time_s)


def _size(params: ParameterSet) -> int:
    return params.n_neurons or 1
