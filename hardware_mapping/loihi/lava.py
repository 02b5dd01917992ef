"""Lava's conventions: LIF (``PyLifModelBitAcc``) and Dense (``PyDenseModelBitAcc``) parameters.

Lava (lava-nc/lava, ``lava.proc.lif.models``, ``lava.proc.dense.models``,
``lava.utils.weightutils``) targets Loihi 2 with these bit-accurate CPU models; a network built
with `lava_lif` and `lava_dense` and run by ``Simulator(network, mode="lava")`` reproduces
their numbers. The differences from the Loihi 1 arithmetic of the default mode:

- the current decay register ``du`` is 0..4095 and the chip adds ds_offset = 1 (as Loihi 1);
- Dense sums the weights of the spikes it receives, then shifts the *sum* by ``weight_exp``
  (``>>`` floors for a negative exponent); the LIF shifts its input left by 6;
- u wraps with Lava's rule (``> 2**23`` subtracts ``2**24``, ``<= -2**23`` adds it), u + bias
  does not wrap, v clips at +-(2**23 - 1), there is no refractory period and no noise;
- Dense delivers a spike one step later (its ``a_buff``), DelayDense ``delay`` steps after that.

Lava itself needs Python < 3.11, so the tests reproduce its published gold vectors instead of
running it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware_mapping.loihi.network import CompartmentGroup, SpikeInput, SynapseGroup
from hardware_mapping.loihi.registers import (
    NUM_WEIGHT_BITS,
    RegisterError,
    effective_decay,
    integer_register,
)

__all__ = ["LavaWeights", "lava_dense", "lava_dense_weights", "lava_lif"]

LAVA_SIGN_MODES = ("mixed", "excitatory", "inhibitory")


@dataclass(frozen=True)
class LavaWeights:
    """Weights after Lava's Dense pipeline, with what it changed.

    Attributes
    ----------
    weights : numpy.ndarray
        int64 weights as Dense uses them.
    sign_mode : str
        The sign mode used (given, or Lava's ``determine_sign_mode``).
    num_weight_bits : int
        The weight precision.
    cast, clipped, truncated : int
        How many weights lost a fraction (float to int32 toward zero), were clipped to the
        sign mode's 8-bit range, or lost low bits to ``num_weight_bits``.
    """

    weights: np.ndarray
    sign_mode: str
    num_weight_bits: int
    cast: int
    clipped: int
    truncated: int


def lava_dense_weights(
    weights: np.ndarray,
    sign_mode: str | None = None,
    num_weight_bits: int = 8,
    *,
    lossy: bool = False,
) -> LavaWeights:
    """Apply Lava's Dense weight pipeline: int32 cast, ``clip_weights``, ``truncate_weights``.

    Parameters
    ----------
    weights : numpy.ndarray
        Weight matrix in any orientation.
    sign_mode : {"mixed", "excitatory", "inhibitory"}, optional
        Lava's SignMode; by default ``determine_sign_mode`` (excitatory if all >= 0,
        inhibitory if all <= 0, else mixed).
    num_weight_bits : int
        Weight precision, 1..8.
    lossy : bool
        False (default): a weight that the pipeline would change (a fraction, a value outside
        the 8-bit range of the sign mode, nonzero low bits) is an error naming it. True: apply
        Lava's changes and count them in the result.

    Returns
    -------
    LavaWeights
        The weights Dense uses and the counts of changes.

    Raises
    ------
    RegisterError
        For a lossy change without ``lossy=True``, or a bad sign mode or precision.
    """
    given = np.asarray(weights, dtype=float)
    if not np.isfinite(given).all():
        raise RegisterError("lava_dense_weights: weights contain NaN or infinity")
    bits = int(integer_register(num_weight_bits, NUM_WEIGHT_BITS, 1, "lava_dense_weights")[0])
    as_int = np.trunc(given).astype(np.int64)  # numpy's float -> int32 cast truncates
    if sign_mode is None:
        sign_mode = (
            "excitatory" if as_int.min() >= 0 else "inhibitory" if as_int.max() <= 0 else "mixed"
        )
    if sign_mode not in LAVA_SIGN_MODES:
        raise RegisterError(
            f"lava_dense_weights: sign_mode = {sign_mode!r}; allowed: {', '.join(LAVA_SIGN_MODES)}"
        )
    flip = -1 if sign_mode == "inhibitory" else 1
    mixed = sign_mode == "mixed"
    magnitude = flip * as_int
    low, high = (-256, 255) if mixed else (0, 255)
    clipped = np.clip(magnitude, low, high)
    drop = 8 - bits + mixed
    truncated = (clipped >> drop) << drop
    result = LavaWeights(
        weights=flip * truncated,
        sign_mode=sign_mode,
        num_weight_bits=bits,
        cast=int(np.count_nonzero(as_int != given)),
        clipped=int(np.count_nonzero(clipped != magnitude)),
        truncated=int(np.count_nonzero(truncated != clipped)),
    )
    if not lossy:
        for count, mask, what in (
            (result.cast, as_int != given, "is not an integer (Lava truncates it toward zero)"),
            (
                result.clipped,
                clipped != magnitude,
                f"is outside {flip * low}..{flip * high} for sign mode {sign_mode} (Lava clips it)",
            ),
            (
                result.truncated,
                truncated != clipped,
                f"has nonzero low bits below 2**{drop} (Lava drops them with "
                f"num_weight_bits {bits})",
            ),
        ):
            if count:
                index = tuple(int(i) for i in np.argwhere(mask)[0])
                raise RegisterError(
                    f"lava_dense_weights: weights{list(index)} = {given[index]:g} {what}; "
                    "pass lossy=True to apply Lava's pipeline and count the changes"
                )
    return result


def lava_lif(
    name: str,
    n: int,
    *,
    du: object = 0,
    dv: object = 0,
    bias_mant: object = 0,
    bias_exp: object = 0,
    vth: object = 10,
) -> CompartmentGroup:
    """Build the compartments of a Lava ``LIF`` process (``PyLifModelBitAcc``).

    Parameters
    ----------
    name : str
        Group name.
    n : int
        Number of neurons.
    du, dv : int or array_like
        Lava's 12-bit decay registers, 0..4095 (u decays by du + 1: ds_offset = 1).
    bias_mant, bias_exp : int or array_like
        Bias mantissa and exponent.
    vth : int or array_like
        Threshold mantissa (Lava's ``vth``; the neuron spikes when v > vth << 6).

    Returns
    -------
    CompartmentGroup
        To be run with ``Simulator(..., mode="lava")``.
    """
    return CompartmentGroup(
        name,
        n,
        decay_u=effective_decay(np.broadcast_to(du, (n,)), offset=1),
        decay_v=effective_decay(np.broadcast_to(dv, (n,)), offset=0),
        vth_mant=vth,
        bias_mant=bias_mant,
        bias_exp=bias_exp,
    )


def lava_dense(
    name: str,
    pre: CompartmentGroup | SpikeInput,
    post: CompartmentGroup,
    weights: np.ndarray,
    *,
    weight_exp: int = 0,
    num_weight_bits: int = 8,
    sign_mode: str | None = None,
    delays: object = 0,
    lossy: bool = False,
) -> SynapseGroup:
    """Build the synapses of a Lava ``Dense`` (or ``DelayDense``) process.

    Parameters
    ----------
    name : str
        Group name.
    pre, post : CompartmentGroup or SpikeInput, CompartmentGroup
        Source and target.
    weights : numpy.ndarray
        Lava's orientation: shape (post, pre).
    weight_exp, num_weight_bits, sign_mode : int, int, str or None
        Dense's parameters (see `lava_dense_weights`).
    delays : int or numpy.ndarray
        DelayDense delays, scalar or shape (post, pre); with a negative ``weight_exp`` only 0
        (DelayDense shifts each step's sum before adding it to its delay buffer, which the
        simulator's per-slot shift reproduces only for shifts that are exact).
    lossy : bool
        Allow Lava's lossy weight conversion (see `lava_dense_weights`).

    Returns
    -------
    SynapseGroup
        A dense group (zeros included, as Dense stores them).
    """
    matrix = np.asarray(weights)
    if matrix.ndim != 2 or matrix.shape != (post.n, pre.n):
        raise RegisterError(
            f"lava_dense {name!r}: weights have shape {matrix.shape}; allowed: (post, pre) = "
            f"({post.n}, {pre.n})"
        )
    converted = lava_dense_weights(matrix, sign_mode, num_weight_bits, lossy=lossy)
    delay_matrix = delays if np.ndim(delays) == 0 else np.asarray(delays).T
    if weight_exp < 0 and np.any(delay_matrix):
        raise RegisterError(
            f"lava_dense {name!r}: delays with weight_exp = {weight_exp} < 0 are not supported "
            "(allowed: weight_exp >= 0 with delays, or no delays)"
        )
    return SynapseGroup.from_matrix(
        name,
        pre,
        post,
        converted.weights.T,
        delays=delay_matrix,
        num_weight_bits=converted.num_weight_bits,
        sign_mode=converted.sign_mode,
        weight_exp=weight_exp,
    )
