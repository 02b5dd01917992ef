"""Reading spike trains given by users: units, order and range checked once, here."""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import second

from ahp_models.errors import UserError
from ahp_models.quantities import QuantityError, parse_quantity

__all__ = ["SpikeTrainError", "as_seconds", "as_spike_times"]


class SpikeTrainError(UserError):
    """A spike train or time that cannot be analysed (wrong units, unsorted, negative...)."""


def as_seconds(value: Any, name: str) -> float:
    """Return a time (Quantity, ``"1.02 s"`` or ``{"value":..., "unit":...}``) in seconds.

    Parameters
    ----------
    value : Quantity, str or mapping
        The time.
    name : str
        Its name, for error messages.

    Returns
    -------
    float
        Seconds; must be finite.
    """
    try:
        seconds = np.asarray(parse_quantity(value, second, field=name) / second, dtype=float)
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    if seconds.ndim != 0 or not np.isfinite(seconds):
        raise SpikeTrainError(f"{name} = {value!r}: expected one finite time")
    return float(seconds)


def as_spike_times(values: Any, name: str = "spike_times") -> np.ndarray:
    """Return a spike train in seconds after checking it.

    Parameters
    ----------
    values : Quantity or array-like Quantity
        Spike times (with time units); may be empty.
    name : str
        Its name, for error messages.

    Returns
    -------
    numpy.ndarray
        Float seconds, strictly increasing, finite and >= 0.

    Raises
    ------
    SpikeTrainError
        If the times lack units, are not one-dimensional, contain NaN or infinities, are
        negative, or are not strictly increasing (duplicates included).
    """
    if not hasattr(values, "dim") and isinstance(values, list | tuple | np.ndarray):
        if len(values) == 0:  # an empty train needs no unit
            return np.zeros(0)
    try:
        times = np.asarray(parse_quantity(values, second, field=name) / second, dtype=float)
    except QuantityError as err:
        raise SpikeTrainError(str(err)) from None
    times = np.atleast_1d(times)
    if times.ndim != 1:
        raise SpikeTrainError(f"{name} has shape {times.shape}; expected a 1-D array of times")
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise SpikeTrainError(f"{name}[{bad[0]}] = {times[bad[0]]} is not a finite time")
    negative = np.flatnonzero(times < 0)
    if negative.size:
        raise SpikeTrainError(
            f"{name}[{negative[0]}] = {times[negative[0]]:g} s is negative; spike times are >= 0"
        )
    steps = np.flatnonzero(np.diff(times) <= 0)
    if steps.size:
        k = steps[0]
        raise SpikeTrainError(
            f"{name} is not strictly increasing: [{k}] = {times[k]:g} s, [{k + 1}] = "
            f"{times[k + 1]:g} s; sort the spikes and remove duplicates"
        )
    return times
