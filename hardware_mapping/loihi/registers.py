"""Loihi 1 register ranges and their validation.

Every register value the simulator accepts is checked here against the range the chip can hold
(Davies et al. 2018; nengo-loihi's hardware checks). A value outside it is rejected with the
register's name, the offending value, its position and the allowed range; nothing is clipped.

Decays are *effective* values d in 0..4096: the factor applied per step is (4096 - d) / 4096.
The chip's 12-bit decay registers (0..4095) gain a per-core 1-bit offset (dsOffset = 1 for the
current u, dmOffset = 0 for the voltage v); `effective_decay` converts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ahp_models.errors import UserError

__all__ = [
    "BIAS_EXP",
    "BIAS_MANT",
    "DECAY",
    "DECAY_REGISTER",
    "DELAY_BITS",
    "NOISE_EXP",
    "NOISE_MANT_OFFSET",
    "NUM_WEIGHT_BITS",
    "Q_BITS",
    "REFRACT_DELAY",
    "U_BITS",
    "VMAX_EXP",
    "VMIN_EXP",
    "VTH_MANT",
    "WEIGHT_EXP",
    "RegisterError",
    "RegisterRange",
    "effective_decay",
    "integer_register",
]

# Magnitude bits (sign excluded) of the synaptic input accumulator and of the current u.
Q_BITS = 21
U_BITS = 23
# The threshold mantissa is shifted up by this many bits; synaptic weights by 6 + weight exponent.
VTH_SHIFT = 6
WEIGHT_SHIFT = 6


class RegisterError(UserError):
    """A register value the chip cannot hold (wrong range, type or shape)."""


@dataclass(frozen=True)
class RegisterRange:
    """The inclusive integer range of one register.

    Attributes
    ----------
    name : str
        The register's name in messages (NxSDK spelling in parentheses where it differs).
    low, high : int
        Inclusive bounds.
    meaning : str
        What the register sets, for error messages.
    """

    name: str
    low: int
    high: int
    meaning: str

    def text(self) -> str:
        """Return the allowed range as ``low..high``."""
        return f"{self.low}..{self.high}"


DECAY = RegisterRange("decay", 0, 4096, "effective decay d, factor (4096 - d) / 4096 per step")
DECAY_REGISTER = RegisterRange("decay register", 0, 4095, "12-bit decay register")
VTH_MANT = RegisterRange("vth_mant (vThMant)", 0, 2**17 - 1, "threshold mantissa, vth = mant << 6")
BIAS_MANT = RegisterRange("bias_mant (biasMant)", -4095, 4095, "bias mantissa")
BIAS_EXP = RegisterRange("bias_exp (biasExp)", 0, 7, "bias exponent, bias = mant << exp")
REFRACT_DELAY = RegisterRange("refract_delay (refractDelay)", 1, 63, "refractory delay in steps")
VMIN_EXP = RegisterRange("vmin_exp (vMinExp)", 0, 23, "vmin = -(2**vmin_exp - 1)")
VMAX_EXP = RegisterRange("vmax_exp (vMaxExp)", 0, 7, "vmax = 2**(9 + 2 vmax_exp) - 1")
WEIGHT_EXP = RegisterRange("weight_exp (weightExponent)", -8, 7, "weight exponent")
NUM_WEIGHT_BITS = RegisterRange("num_weight_bits (numWeightBits)", 1, 8, "weight precision")
DELAY_BITS = RegisterRange("delay_bits", 0, 6, "bits of the synaptic delay field")
NOISE_EXP = RegisterRange("noise_exp (noiseExp0)", 0, 23, "noise amplitude exponent")
NOISE_MANT_OFFSET = RegisterRange(
    "noise_mant_offset (noiseMantOffset0)", -128, 127, "noise mantissa offset"
)


def integer_register(
    value: object, spec: RegisterRange, size: int, where: str, low: int | None = None
) -> np.ndarray:
    """Validate one register given as a scalar or one value per compartment.

    Parameters
    ----------
    value : int or array_like of int
        The register value(s); a scalar applies to all ``size`` elements.
    spec : RegisterRange
        The register's range.
    size : int
        The number of elements (compartments or synapses) the register covers.
    where : str
        The owner named in messages, e.g. ``"CompartmentGroup 'main'"``.
    low : int, optional
        A tighter lower bound than ``spec.low`` (used for sign modes).

    Returns
    -------
    numpy.ndarray
        int64 array of length ``size``.

    Raises
    ------
    RegisterError
        If a value is not an integer, has the wrong shape or lies outside the range.
    """
    array = np.asarray(value)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer)
        or (np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0))
    ):
        raise RegisterError(
            f"{where}: {spec.name} = {_first_non_integer(array)} is not an integer; "
            f"allowed: integers {spec.text()} ({spec.meaning})"
        )
    if array.ndim > 1 or (array.ndim == 1 and array.size != size):
        raise RegisterError(
            f"{where}: {spec.name} has shape {array.shape}; allowed: one value or {size} values"
        )
    array = np.broadcast_to(array.astype(np.int64), (size,)).copy()
    lowest = spec.low if low is None else low
    bad = (array < lowest) | (array > spec.high)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        position = "" if np.ndim(value) == 0 else f"[{index}]"
        raise RegisterError(
            f"{where}: {spec.name}{position} = {array[index]} is outside the allowed range "
            f"{lowest}..{spec.high} ({spec.meaning})"
        )
    return array


def effective_decay(register: object, offset: int) -> np.ndarray:
    """Convert 12-bit decay registers to effective decays (register + per-core offset).

    Parameters
    ----------
    register : int or array_like of int
        NxSDK ``compartmentCurrentDecay`` / ``compartmentVoltageDecay`` values, 0..4095.
    offset : int
        The core's offset: dsOffset (1 on Loihi 1 for the current) or dmOffset (0).

    Returns
    -------
    numpy.ndarray
        Effective decays, 0..4096.
    """
    if offset not in (0, 1):
        raise RegisterError(f"decay offset = {offset!r}; allowed: 0 or 1 (a 1-bit register)")
    values = integer_register(register, DECAY_REGISTER, np.size(register), "effective_decay")
    return values + offset


def _first_non_integer(array: np.ndarray) -> str:
    """Return the first element that is not a whole number, as text for a message."""
    flat = np.ravel(array)
    if np.issubdtype(flat.dtype, np.floating):
        bad = np.flatnonzero(np.mod(flat, 1) != 0)
        if bad.size:
            return f"{flat[bad[0]]:g}"
    return repr(flat[0].item()) if flat.size else repr(array)
