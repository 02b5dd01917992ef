"""Stimulus protocols: Allen long and short squares, ramps, seeded noise and user arrays.

Every stimulus is ``I_ext(t, i) = amplitude[i] * waveform[k(t)]`` (or ``waveform[k(t), i]``),
with ``k(t) = floor(t / dt)``: a dimensionless waveform sampled every ``dt`` and held in
between, and one current amplitude per neuron. Steps use a 0/1 waveform and the step amplitudes;
noise and user arrays keep the current itself (in amperes) as waveform with amplitude 1 A, so the
injected values are exactly the given ones. A series of Allen long squares is therefore one
shared step waveform and one amplitude per sweep, so all sweeps of a cell (and all candidate
parameter sets of a fit) run as rows of one population.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Quantity, amp, ms, pA, second

from ahp_models.errors import UserError
from ahp_models.quantities import QuantityError, parse_quantity

__all__ = [
    "ALLEN_LONG_SQUARE_ONSET",
    "ALLEN_LONG_SQUARE_WIDTH",
    "MAX_STEPS",
    "MAX_STIMULUS_PA",
    "Stimulus",
    "StimulusError",
    "from_array",
    "long_square",
    "noise",
    "ramp",
    "short_square",
]

#: Allen Cell Types long-square protocol: a 1 s step starting 1.02 s into the sweep.
ALLEN_LONG_SQUARE_ONSET = 1.02 * second
ALLEN_LONG_SQUARE_WIDTH = 1.0 * second
#: Allen short square: a 3 ms pulse at 1.02 s.
ALLEN_SHORT_SQUARE_WIDTH = 3 * ms
#: Allen ramp: 25 pA/s from 1.02 s.
ALLEN_RAMP_SLOPE = 25 * pA / second
DEFAULT_DT = 0.1 * ms


#: Most time steps a stimulus may have: its waveform and one recorded trace take 160 MB each.
MAX_STEPS = 2e7
#: Largest stimulus current a user's input may state (pA): 1 uA, far beyond any neuron.
MAX_STIMULUS_PA = 1e6


class StimulusError(UserError):
    """A stimulus that cannot be built or used as asked."""


@dataclass(frozen=True)
class Stimulus:
    """A current stimulus for a population.

    Attributes
    ----------
    waveform : numpy.ndarray
        Dimensionless samples, shape ``(n_samples,)`` (shared) or ``(n_samples, n_neurons)``.
    dt : Quantity
        Sampling interval; the value is held for ``dt``.
    amplitude : Quantity
        Current scale, one value or one per neuron (amperes).
    protocol : str
        Name of the protocol that made it.
    info : dict
        Protocol facts with units (``onset``, ``width``, ``slope``, ``seed``...), used by the
        analysis (e.g. the stimulus window of a long square).
    """

    waveform: np.ndarray
    dt: Quantity
    amplitude: Quantity
    protocol: str = "array"
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        waveform = np.ascontiguousarray(self.waveform, dtype=float)
        if waveform.ndim not in (1, 2) or waveform.shape[0] == 0:
            raise StimulusError(
                f"stimulus waveform has shape {waveform.shape}; allowed: (n_samples,) or "
                "(n_samples, n_neurons) with n_samples >= 1"
            )
        if not np.all(np.isfinite(waveform)):
            index = np.argwhere(~np.isfinite(waveform))[0]
            raise StimulusError(f"stimulus waveform has a non-finite value at sample {index}")
        dt = _as_time(self.dt, "stimulus dt")
        if not float(dt / second) > 0:
            raise StimulusError(f"stimulus dt = {dt} must be > 0")
        amplitude = _as_current(self.amplitude, "stimulus amplitude")
        if amplitude.ndim > 1:
            raise StimulusError(
                f"stimulus amplitude has shape {amplitude.shape}; allowed: one value or one per "
                "neuron"
            )
        if amplitude.ndim == 1 and amplitude.size == 0:
            raise StimulusError("stimulus amplitude is empty: give at least one value")
        if waveform.ndim == 2 and amplitude.ndim == 1 and amplitude.size != waveform.shape[1]:
            raise StimulusError(
                f"stimulus has {waveform.shape[1]} waveform columns but {amplitude.size} "
                "amplitudes; they must match (one per neuron)"
            )
        object.__setattr__(self, "waveform", waveform)
        object.__setattr__(self, "dt", dt)
        object.__setattr__(self, "amplitude", amplitude)
        object.__setattr__(self, "info", dict(self.info))

    @property
    def n_samples(self) -> int:
        """Number of waveform samples."""
        return self.waveform.shape[0]

    @property
    def duration(self) -> Quantity:
        """Length of the stimulus (``n_samples * dt``)."""
        return self.n_samples * self.dt

    @property
    def n_neurons(self) -> int | None:
        """Number of neurons it addresses individually, or None if it is shared by all."""
        if self.waveform.ndim == 2:
            return self.waveform.shape[1]
        return None if np.ndim(self.amplitude) == 0 else int(np.size(self.amplitude))

    @property
    def per_neuron_waveform(self) -> bool:
        """True if each neuron has its own waveform column."""
        return self.waveform.ndim == 2

    def amplitudes_si(self, n_neurons: int) -> np.ndarray:
        """Return the amplitude of every neuron in amperes (float64, shape (n_neurons,))."""
        own = self.n_neurons
        if own is not None and own != n_neurons:
            raise StimulusError(
                f"stimulus ({self.protocol}) addresses {own} neurons but the population has "
                f"{n_neurons}"
            )
        return np.ascontiguousarray(
            np.broadcast_to(np.asarray(self.amplitude, dtype=float), (n_neurons,))
        )

    def current(self, neuron: int = 0) -> Quantity:
        """Return the current injected into one neuron at every sample (amperes)."""
        column = self.waveform[:, neuron] if self.per_neuron_waveform else self.waveform
        amplitude = np.asarray(self.amplitude, dtype=float)
        scale = amplitude if amplitude.ndim == 0 else amplitude[neuron]
        return column * scale * amp

    def window(self) -> tuple[Quantity, Quantity] | None:
        """Return (onset, offset) of the stimulus epoch, or None if the protocol has none."""
        if "onset" in self.info and "width" in self.info:
            onset = self.info["onset"]
            return onset, onset + self.info["width"]
        return None

    def layout(self) -> tuple:
        """Hashable shape of the stimulus in generated code: (columns, samples, dt)."""
        columns = self.waveform.shape[1] if self.per_neuron_waveform else 0
        return (columns, self.n_samples, float(self.dt))


def _as_current(value: Any, what: str) -> Quantity:
    try:
        return np.asarray(parse_quantity(value, pA, field=what), dtype=float) * amp
    except QuantityError as err:
        raise StimulusError(str(err)) from None


def _check_stimulus_range(values: Quantity, what: str) -> None:
    """Refuse a user's current that is not finite or beyond `MAX_STIMULUS_PA`."""
    if not (np.abs(np.asarray(values / pA, dtype=float)) <= MAX_STIMULUS_PA).all():
        raise StimulusError(
            f"{what} = {values}: allowed: finite currents within +-{MAX_STIMULUS_PA:g} pA"
        )


def _as_time(value: Any, what: str) -> Quantity:
    try:
        return parse_quantity(value, second, field=what)
    except QuantityError as err:
        raise StimulusError(str(err)) from None


def _steps(value: Quantity, dt: Quantity, what: str) -> int:
    """Return ``value / dt`` as an integer; refuse values that are not on the dt grid."""
    if not 0 < float(dt / second) < math.inf:
        raise StimulusError(f"dt = {dt} must be > 0 and finite")
    ratio = float(value / dt)
    if not math.isfinite(ratio) or ratio > MAX_STEPS:  # before anything is allocated
        raise StimulusError(
            f"{what} = {value} is {ratio:.3g} steps of dt = {dt}; allowed: at most "
            f"{MAX_STEPS:.0e} steps (a longer time or a larger dt)"
        )
    steps = round(ratio)
    if abs(ratio - steps) > 1e-6 or steps < 0:
        raise StimulusError(
            f"{what} = {value} is not a non-negative whole number of steps of dt = {dt}; "
            "allowed: multiples of dt"
        )
    return steps


def _amplitudes(amplitudes: Any, rheobase: Any) -> Quantity:
    values = _as_current(amplitudes, "amplitudes")
    _check_stimulus_range(values, "amplitudes")
    if rheobase is not None:
        reference = _as_current(rheobase, "rheobase")
        if reference.ndim == 1 and values.ndim == 1 and reference.size != values.size:
            raise StimulusError(
                f"{reference.size} rheobase values for {values.size} amplitudes; give one "
                "rheobase, or one per amplitude"
            )
        values = values + reference
    return values


def _square(
    protocol: str,
    amplitudes: Any,
    onset: Any,
    width: Any,
    duration: Any,
    dt: Any,
    rheobase: Any,
) -> Stimulus:
    dt = _as_time(dt, "dt")
    onset, width = _as_time(onset, "onset"), _as_time(width, "width")
    start, stop = _steps(onset, dt, "onset"), _steps(onset + width, dt, "onset + width")
    if stop <= start:
        raise StimulusError(
            f"{protocol}: width = {width} covers no step of dt = {dt}; allowed: a width > 0 "
            "of at least one step"
        )
    total = _steps(_as_time(duration, "duration"), dt, "duration")
    if total < stop:
        raise StimulusError(
            f"{protocol}: duration = {duration} ends before the step does (onset + width = "
            f"{onset + width}); allowed: duration >= onset + width"
        )
    waveform = np.zeros(total)
    waveform[start:stop] = 1.0
    amplitude = _amplitudes(amplitudes, rheobase)
    info = {"onset": onset, "width": width}
    if rheobase is not None:
        info["rheobase"] = _as_current(rheobase, "rheobase")
    return Stimulus(waveform, dt, amplitude, protocol, info)


def long_square(
    amplitudes: Any,
    *,
    onset: Any = ALLEN_LONG_SQUARE_ONSET,
    width: Any = ALLEN_LONG_SQUARE_WIDTH,
    duration: Any = None,
    dt: Any = DEFAULT_DT,
    rheobase: Any = None,
) -> Stimulus:
    """Allen long-square steps: one sweep (neuron) per amplitude.

    Parameters
    ----------
    amplitudes : Quantity or array-like
        Step amplitudes (pA), one per sweep; relative to ``rheobase`` if it is given.
    onset, width : Quantity
        Step start and length (Allen: 1.02 s and 1 s). Must lie on the ``dt`` grid.
    duration : Quantity, optional
        Sweep length; default ``onset + width + 1 s``.
    dt : Quantity
        Sampling step (default 0.1 ms).
    rheobase : Quantity, optional
        If given, ``amplitudes`` are offsets from it (Allen's rheobase + 20 pA steps...).

    Returns
    -------
    Stimulus
        The series, ``info`` holding ``onset`` and ``width``.
    """
    if duration is None:
        duration = _as_time(onset, "onset") + _as_time(width, "width") + 1 * second
    return _square("long_square", amplitudes, onset, width, duration, dt, rheobase)


def short_square(
    amplitudes: Any,
    *,
    onset: Any = ALLEN_LONG_SQUARE_ONSET,
    width: Any = ALLEN_SHORT_SQUARE_WIDTH,
    duration: Any = None,
    dt: Any = DEFAULT_DT,
    rheobase: Any = None,
) -> Stimulus:
    """Allen short-square pulses (3 ms at 1.02 s): one sweep per amplitude.

    Parameters
    ----------
    amplitudes : Quantity or array-like
        Pulse amplitudes (pA), relative to ``rheobase`` if given.
    onset, width : Quantity
        Pulse start and length.
    duration : Quantity, optional
        Sweep length; default ``onset + width + 0.5 s``.
    dt : Quantity
        Sampling step.
    rheobase : Quantity, optional
        Reference for relative amplitudes.

    Returns
    -------
    Stimulus
        The pulses.
    """
    if duration is None:
        duration = _as_time(onset, "onset") + _as_time(width, "width") + 0.5 * second
    return _square("short_square", amplitudes, onset, width, duration, dt, rheobase)


def ramp(
    slope: Any = ALLEN_RAMP_SLOPE,
    *,
    onset: Any = ALLEN_LONG_SQUARE_ONSET,
    duration: Any = 10 * second,
    dt: Any = DEFAULT_DT,
) -> Stimulus:
    """A current ramp from zero at ``onset`` (Allen: 25 pA/s) until the end of the sweep.

    Parameters
    ----------
    slope : Quantity
        Ramp slope (current per time), one value or one per neuron.
    onset : Quantity
        Ramp start.
    duration : Quantity
        Sweep length.
    dt : Quantity
        Sampling step; the current is held for ``dt`` at its value at the start of the step.

    Returns
    -------
    Stimulus
        The ramp; ``info`` holds ``onset`` and ``slope``.
    """
    dt = _as_time(dt, "dt")
    onset = _as_time(onset, "onset")
    try:
        slope_value = parse_quantity(slope, pA / second, field="slope")
    except QuantityError as err:
        raise StimulusError(str(err)) from None
    start = _steps(onset, dt, "onset")
    total = _steps(_as_time(duration, "duration"), dt, "duration")
    if total <= start:
        raise StimulusError(f"ramp: duration = {duration} must exceed onset = {onset}")
    # waveform in seconds since onset; amplitude = slope x 1 s
    waveform = np.zeros(total)
    waveform[start:] = np.arange(total - start) * float(dt)
    amplitude = np.asarray(slope_value / (pA / second), dtype=float) * pA
    return Stimulus(waveform, dt, amplitude, "ramp", {"onset": onset, "slope": slope_value})


def noise(
    mean: Any,
    std: Any,
    *,
    seed: int,
    duration: Any,
    dt: Any = DEFAULT_DT,
    onset: Any = 0 * second,
    width: Any = None,
    tau: Any = None,
    n_neurons: int | None = None,
) -> Stimulus:
    """Gaussian current noise with a seed: white (held per sample) or Ornstein-Uhlenbeck.

    Parameters
    ----------
    mean, std : Quantity
        Mean and standard deviation of the current during the noise epoch (scalars).
    seed : int
        Seed of the random generator (``numpy.random.default_rng``); same seed, same noise.
    duration : Quantity
        Sweep length.
    dt : Quantity
        Sampling step; each sample is held for ``dt``.
    onset, width : Quantity, optional
        The noise epoch (default: the whole sweep); the current is zero outside it.
    tau : Quantity, optional
        Correlation time of an Ornstein-Uhlenbeck process (exact discretisation, stationary
        start); white noise if None.
    n_neurons : int, optional
        If given, every neuron gets its own independent realisation (waveform of shape
        ``(n_samples, n_neurons)``); otherwise one realisation is shared.

    Returns
    -------
    Stimulus
        The noise; ``info`` holds ``mean``, ``std``, ``seed``, ``tau``, ``onset``, ``width``.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise StimulusError(f"noise: seed = {seed!r}; allowed: a whole number >= 0")
    dt = _as_time(dt, "dt")
    mean_a, std_a = (_as_current(x, name) for x, name in ((mean, "mean"), (std, "std")))
    if np.ndim(mean_a) or np.ndim(std_a):
        raise StimulusError(
            "noise: mean and std take one value each; for per-neuron statistics build the "
            "current yourself and use from_array"
        )
    _check_stimulus_range(mean_a, "noise: mean")
    _check_stimulus_range(std_a, "noise: std")
    mean_a, std_a = float(mean_a), float(std_a)
    if std_a < 0:
        raise StimulusError(f"noise: std = {std} must be >= 0")
    total = _steps(_as_time(duration, "duration"), dt, "duration")
    onset = _as_time(onset, "onset")
    width = _as_time(width, "width") if width is not None else total * dt - onset
    start, stop = _steps(onset, dt, "onset"), _steps(onset + width, dt, "onset + width")
    if not 0 <= start < stop <= total:
        raise StimulusError(
            f"noise: epoch [{onset}, {onset + width}) must lie inside the sweep of {total * dt}"
        )
    if n_neurons is not None and (
        not isinstance(n_neurons, int | np.integer) or isinstance(n_neurons, bool) or n_neurons < 1
    ):
        raise StimulusError(f"noise: n_neurons = {n_neurons!r}; allowed: a whole number >= 1")
    columns = 1 if n_neurons is None else int(n_neurons)
    rng = np.random.default_rng(int(seed))
    samples = rng.standard_normal((stop - start, columns))
    if tau is not None:
        tau = _as_time(tau, "tau")
        if not float(tau / second) > 0:
            raise StimulusError(f"noise: tau = {tau} must be > 0 (omit it for white noise)")
        rho = float(np.exp(-dt / tau))
        innovation = np.sqrt(1.0 - rho**2)
        for k in range(1, samples.shape[0]):
            samples[k] = rho * samples[k - 1] + innovation * samples[k]
    current = np.zeros((total, columns))
    current[start:stop] = mean_a + std_a * samples
    info = {
        "mean": mean_a * amp,
        "std": std_a * amp,
        "seed": int(seed),
        "tau": tau,
        "onset": onset,
        "width": width,
    }
    return _in_amperes(current[:, 0] if n_neurons is None else current, dt, "noise", info)


def from_array(current: Any, dt: Any) -> Stimulus:
    """Use any sampled current as a stimulus.

    Parameters
    ----------
    current : Quantity
        Current samples, shape ``(n_samples,)`` (shared) or ``(n_samples, n_neurons)``.
    dt : Quantity
        Sampling step; each sample is held for ``dt``.

    Returns
    -------
    Stimulus
        The stimulus.
    """
    values = _as_current(current, "current")
    magnitude = np.asarray(values, dtype=float)
    if magnitude.ndim not in (1, 2):
        raise StimulusError(
            f"current has shape {magnitude.shape}; allowed: (n_samples,) or (n_samples, n_neurons)"
        )
    if not np.all(np.isfinite(magnitude)):
        raise StimulusError("current contains NaN or infinite values")
    return _in_amperes(magnitude, _as_time(dt, "dt"), "array", {})


def _in_amperes(current_a: np.ndarray, dt: Quantity, protocol: str, info: dict) -> Stimulus:
    """A stimulus whose waveform holds the current in amperes (amplitude 1 A): exact values."""
    amplitude = 1.0 * amp if current_a.ndim == 1 else np.ones(current_a.shape[1]) * amp
    return Stimulus(current_a, dt, amplitude, protocol, info)
