"""Loihi 1 integer arithmetic on numpy arrays: decays, wrapping, bias, threshold, weights.

These are the chip's operations as nengo-loihi's emulator performs them, one function each,
on int64 arrays. The simulator's compiled kernel performs the same operations element by
element; tests hold both to the anchor vectors and to nengo-loihi's emulator.
"""

from __future__ import annotations

import numpy as np

from hardware_mapping.loihi.registers import (
    BIAS_EXP,
    BIAS_MANT,
    DECAY,
    NUM_WEIGHT_BITS,
    VMAX_EXP,
    VMIN_EXP,
    VTH_MANT,
    VTH_SHIFT,
    WEIGHT_EXP,
    WEIGHT_SHIFT,
    RegisterError,
    RegisterRange,
    integer_register,
)

__all__ = [
    "SIGN_MODES",
    "bias_value",
    "check_decay",
    "decay",
    "scale_by_exponent",
    "synaptic_input",
    "threshold_value",
    "vmax_value",
    "vmin_value",
    "weight_limits",
    "weight_shift_bits",
    "wrap",
]

# Loihi's synapse sign modes (NxSDK signMode 1, 2, 3).
SIGN_MODES = ("mixed", "excitatory", "inhibitory")


def decay(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Decay integers by effective decay d: ``sign(x) * ((|x| * (4096 - d)) >> 12)``.

    The product is truncated toward zero (not floored), so -1 decays to 0 like +1.

    Parameters
    ----------
    x : numpy.ndarray
        Integer state values.
    d : int or numpy.ndarray
        Effective decays, 0..4096.

    Returns
    -------
    numpy.ndarray
        int64 decayed values.
    """
    x = np.asarray(x, dtype=np.int64)
    keep = 4096 - np.asarray(d, dtype=np.int64)
    return np.sign(x) * ((np.abs(x) * keep) >> 12)


def scale_by_exponent(mantissa: object, exponent: object) -> np.ndarray:
    """Return ``mantissa * 2**exponent`` as the chip forms it: a left shift for a positive
    exponent, an arithmetic right shift (dropping the low bits, rounding toward -inf) for a
    negative one. A synapse adds 64 times this (`synaptic_input` checks the registers first).

    Parameters
    ----------
    mantissa, exponent : int or array_like of int
        Weight mantissas and exponents (broadcast together).

    Returns
    -------
    numpy.ndarray
        int64 values.
    """
    mantissa = np.asarray(mantissa, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    return np.where(
        exponent >= 0,
        mantissa << np.maximum(exponent, 0),
        mantissa >> np.maximum(-exponent, 0),
    )


def wrap(x: np.ndarray, magnitude_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Wrap integers to ``magnitude_bits`` + sign bits, two's complement, as the chip does.

    Parameters
    ----------
    x : numpy.ndarray
        Integer values.
    magnitude_bits : int
        Bits without the sign (23 for u, 21 for the synaptic accumulator).

    Returns
    -------
    wrapped : numpy.ndarray
        int64 values in ``-2**magnitude_bits .. 2**magnitude_bits - 1``.
    overflowed : numpy.ndarray
        True where the value did not fit.
    """
    x = np.asarray(x, dtype=np.int64)
    half = np.int64(1) << magnitude_bits
    wrapped = ((x + half) & (2 * half - 1)) - half
    return wrapped, wrapped != x


def bias_value(mant: object, exp: object) -> np.ndarray:
    """Return ``bias_mant << bias_exp`` after checking both registers."""
    size = max(np.size(mant), np.size(exp))
    mant = integer_register(mant, BIAS_MANT, size, "bias_value")
    exp = integer_register(exp, BIAS_EXP, size, "bias_value")
    return mant * (np.int64(1) << exp)


def threshold_value(vth_mant: object) -> np.ndarray:
    """Return the threshold ``vth_mant << 6`` after checking the register."""
    return integer_register(vth_mant, VTH_MANT, np.size(vth_mant), "threshold_value") << VTH_SHIFT


def vmin_value(vmin_exp: object) -> np.ndarray:
    """Return the voltage floor ``-(2**vmin_exp - 1)`` after checking the register."""
    exp = integer_register(vmin_exp, VMIN_EXP, np.size(vmin_exp), "vmin_value")
    return -((np.int64(1) << exp) - 1)


def vmax_value(vmax_exp: object) -> np.ndarray:
    """Return the voltage ceiling ``2**(9 + 2 vmax_exp) - 1`` after checking the register."""
    exp = integer_register(vmax_exp, VMAX_EXP, np.size(vmax_exp), "vmax_value")
    return (np.int64(1) << (9 + 2 * exp)) - 1


def weight_shift_bits(num_weight_bits: int, sign_mode: str) -> int:
    """Return s = 8 - numWeightBits + isMixed, the low weight bits the chip does not store."""
    _check_sign_mode(sign_mode)
    bits = int(integer_register(num_weight_bits, NUM_WEIGHT_BITS, 1, "weight_shift_bits")[0])
    return 8 - bits + (sign_mode == "mixed")


def weight_limits(sign_mode: str) -> tuple[int, int]:
    """Return the inclusive range of weight mantissas a sign mode accepts."""
    _check_sign_mode(sign_mode)
    return {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}[sign_mode]


def synaptic_input(
    weights: np.ndarray,
    num_weight_bits: int = 8,
    sign_mode: str = "mixed",
    weight_exp: int = 0,
    where: str = "synaptic_input",
) -> np.ndarray:
    """Return what each synapse adds to its target's input accumulator per spike.

    The chip stores a weight mantissa w with its lowest s bits dropped
    (s = 8 - numWeightBits + isMixed) and adds ``((w >> s) << s)`` shifted left by
    ``6 + weight_exp``. For ``weight_exp < 0`` the shift happens in two parts, the weight
    exponent first: ``(w >> -weight_exp) << 6``, losing the bits below ``2**-weight_exp``
    (nengo-loihi's ``discretize_weights(lossy_shift=True)``, validated on the chip; it equals
    a single shift by ``6 + weight_exp`` whenever those bits are zero).

    Weights must already be representable: a mantissa with nonzero low bits is rejected
    rather than truncated (the chip's rounding of negative non-aligned mixed-sign weights is
    not public).

    Parameters
    ----------
    weights : numpy.ndarray
        Integer weight mantissas: -256..255 (mixed), 0..255 (excitatory), -255..0 (inhibitory).
    num_weight_bits : int
        numWeightBits, 1..8.
    sign_mode : {"mixed", "excitatory", "inhibitory"}
        The synapses' sign mode.
    weight_exp : int
        weightExponent, -8..7.
    where : str
        The owner named in error messages.

    Returns
    -------
    numpy.ndarray
        int64 input increments, same shape as ``weights``.

    Raises
    ------
    RegisterError
        For a weight out of range or not a multiple of ``2**s``, or a bad exponent or precision.
    """
    shape = np.shape(weights)
    low, high = weight_limits(sign_mode)
    spec = RegisterRange("weight", low, high, f"weight mantissa in sign mode {sign_mode}")
    flat = integer_register(np.ravel(weights), spec, int(np.prod(shape)), where)
    shift = weight_shift_bits(num_weight_bits, sign_mode)
    misaligned = flat & ((1 << shift) - 1) != 0
    if misaligned.any():
        index = int(np.flatnonzero(misaligned)[0])
        raise RegisterError(
            f"{where}: weight[{index}] = {flat[index]} is not a multiple of 2**{shift}; with "
            f"num_weight_bits {num_weight_bits} in sign mode {sign_mode} the chip drops the low "
            f"{shift} bits (quantize the weights first)"
        )
    exp = int(integer_register(weight_exp, WEIGHT_EXP, 1, where)[0])
    scaled = scale_by_exponent(flat, exp)
    return (scaled << WEIGHT_SHIFT).reshape(shape)


def check_decay(d: object, size: int, where: str, name: str = DECAY.name) -> np.ndarray:
    """Validate effective decays (0..4096) for ``size`` compartments, named ``name``."""
    return integer_register(
        d, RegisterRange(name, DECAY.low, DECAY.high, DECAY.meaning), size, where
    )


def _check_sign_mode(sign_mode: str) -> None:
    if sign_mode not in SIGN_MODES:
        raise RegisterError(f"sign_mode = {sign_mode!r}; allowed: {', '.join(SIGN_MODES)}")
