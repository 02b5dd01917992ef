"""Input encoders: a sample (a sequence of values) turned into spikes of input channels.

`ThresholdCrossingEncoder` is the encoding of the sequential-MNIST network of Rao et al. 2022
as its chip's embedded processor ran it: one value per step, and a channel spike whenever the
sequence crosses a level between this step's value and the next one's, upward on one channel
and downward on its neighbour, plus a channel for values at the maximum and a cue channel that
fires through the steps after the sequence (when the network must answer).

Steps count from 0. For the value at index ``p`` (step ``p``) and each level ``k`` (channel
``c = first_channel + 2 k``)::

    channel c     fires at step p if  x[p] <  level[k] <= x[p + 1]      (p < length - 1)
    channel c + 1 fires at step p if  x[p] >= level[k] >  x[p + 1]      (p < length - 1)
    max_channel   fires at step p if  x[p] == max_value                 (every p)
    cue_channel   fires at steps length .. length + cue_steps - 1

A spike given at step p reaches the targets of its channel at step p + 1 (Loihi's one step of
synaptic latency), as a compartment's spike does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ahp_models.errors import UserError

__all__ = [
    "ENCODERS",
    "Encoder",
    "EncoderError",
    "ThresholdCrossingEncoder",
    "encoder_from_table",
]


class EncoderError(UserError):
    """An encoder that cannot be built, or a sample it cannot encode."""


class Encoder(Protocol):
    """What a network run needs of an encoder."""

    input: str
    n_channels: int

    @property
    def n_steps(self) -> int:
        """Steps of one sample."""

    def encode(self, samples: np.ndarray) -> np.ndarray:
        """Return a boolean raster (samples, steps, channels)."""


@dataclass(frozen=True)
class ThresholdCrossingEncoder:
    """Level crossings of a sequence, with a saturation channel and a cue.

    Attributes
    ----------
    input : str
        The network input whose axons the channels are.
    n_channels : int
        Channels in all (some may never fire).
    length : int
        Values per sample (784 for a 28 x 28 image read pixel by pixel).
    levels : tuple of int
        The crossing levels, increasing.
    first_channel : int
        The upward channel of the first level; level k uses ``first_channel + 2k`` (up) and
        the next one (down).
    max_value : int
        The largest value a sample may hold (values are integers 0..max_value).
    max_channel : int or None
        Fires at every step whose value equals ``max_value``.
    cue_channel : int or None
        Fires at every step of the cue.
    cue_steps : int
        Steps after the sequence (the cue, during which the network answers).
    """

    input: str
    n_channels: int
    length: int
    levels: tuple[int, ...]
    first_channel: int = 0
    max_value: int = 255
    max_channel: int | None = None
    cue_channel: int | None = None
    cue_steps: int = 0

    def __post_init__(self) -> None:
        levels = np.asarray(self.levels)
        if levels.ndim != 1 or levels.size == 0 or (np.diff(levels) <= 0).any():
            raise EncoderError(f"levels = {list(self.levels)}; allowed: increasing integers")
        if levels.min() < 1 or levels.max() > self.max_value:
            raise EncoderError(
                f"levels span {levels.min()}..{levels.max()}; allowed: 1..max_value "
                f"({self.max_value}), so that a crossing is possible"
            )
        used = {"crossings": range(self.first_channel, self.first_channel + 2 * levels.size)}
        if self.max_channel is not None:
            used["max_channel"] = range(self.max_channel, self.max_channel + 1)
        if self.cue_channel is not None:
            used["cue_channel"] = range(self.cue_channel, self.cue_channel + 1)
        taken: dict[int, str] = {}
        for name, channels in used.items():
            if channels.start < 0 or channels.stop > self.n_channels:
                raise EncoderError(
                    f"{name} uses channels {channels.start}..{channels.stop - 1}; allowed: "
                    f"0..{self.n_channels - 1} (n_channels {self.n_channels})"
                )
            for channel in channels:
                if channel in taken:
                    raise EncoderError(
                        f"channel {channel} is used by {taken[channel]} and {name}; allowed: "
                        "one use per channel"
                    )
                taken[channel] = name
        if self.cue_steps and self.cue_channel is None:
            raise EncoderError(f"cue_steps = {self.cue_steps} without a cue_channel")

    @property
    def n_steps(self) -> int:
        """Steps of one sample: the sequence, then the cue."""
        return self.length + self.cue_steps

    def check_samples(self, samples: np.ndarray, source: str = "samples") -> np.ndarray:
        """Return ``samples`` as int16 (n, length) after checking shape and values."""
        array = np.asarray(samples)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim > 2:
            array = array.reshape(array.shape[0], -1)
        if array.shape[-1] != self.length:
            raise EncoderError(
                f"{source}: samples of {array.shape[-1]} values; allowed: {self.length}"
            )
        if not np.issubdtype(array.dtype, np.integer):
            raise EncoderError(f"{source}: dtype {array.dtype}; allowed: integers")
        bad = (array < 0) | (array > self.max_value)
        if bad.any():
            n, p = (int(x) for x in np.argwhere(bad)[0])
            raise EncoderError(
                f"{source}: sample {n} value {p} = {array[n, p]}; allowed: 0..{self.max_value}"
            )
        return array.astype(np.int16)

    def encode(self, samples: np.ndarray) -> np.ndarray:
        """Encode samples.

        Parameters
        ----------
        samples : numpy.ndarray
            Integers 0..max_value, shape (n, length) (or (n, ...) flattened row by row).

        Returns
        -------
        numpy.ndarray
            Boolean raster (n, n_steps, n_channels): True where a channel fires.
        """
        values = self.check_samples(samples)
        n = values.shape[0]
        raster = np.zeros((n, self.n_steps, self.n_channels), dtype=bool)
        now, following = values[:, :-1, None], values[:, 1:, None]
        levels = np.asarray(self.levels, dtype=np.int16)[None, None, :]
        up = (now < levels) & (levels <= following)
        down = (now >= levels) & (levels > following)
        first, k = self.first_channel, len(self.levels)
        raster[:, : self.length - 1, first : first + 2 * k : 2] = up
        raster[:, : self.length - 1, first + 1 : first + 2 * k : 2] = down
        if self.max_channel is not None:
            raster[:, : self.length, self.max_channel] = values == self.max_value
        if self.cue_channel is not None:
            raster[:, self.length :, self.cue_channel] = True
        return raster


#: Encoder kinds a description may name.
ENCODERS = {"threshold_crossing": ThresholdCrossingEncoder}
#: Largest count an encoder setting may hold (steps, channels, values): a sample's raster is
#: steps x channels booleans in memory.
_LARGEST = 1_000_000
_KEYS = {"kind", "input", "channels", "length", "levels", "first_channel", "max_value",
         "max_channel", "cue_channel", "cue_steps"}  # fmt: skip


def encoder_from_table(raw: Mapping[str, Any], where: str) -> ThresholdCrossingEncoder:
    """Build an encoder from a description's ``[encoder]`` table.

    Parameters
    ----------
    raw : mapping
        ``kind = "threshold_crossing"``, ``input``, ``channels``, ``length``, ``levels`` and
        optionally ``first_channel``, ``max_value``, ``max_channel``, ``cue_channel``,
        ``cue_steps``.
    where : str
        The table's name in error messages.

    Returns
    -------
    ThresholdCrossingEncoder
        The encoder.
    """
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        allowed = ", ".join(sorted(_KEYS))
        raise EncoderError(f"{where}: unknown key {unknown[0]!r}; allowed: {allowed}")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in ENCODERS:
        raise EncoderError(f"{where}.kind = {kind!r}; allowed: {', '.join(ENCODERS)}")
    if not isinstance(raw.get("input"), str):
        raise EncoderError(f"{where}.input = {raw.get('input')!r}; allowed: an input's name")

    def integer(key: str, default: Any = ..., low: int = 0) -> Any:
        value = raw.get(key, default)
        if value is ...:
            raise EncoderError(f"{where}.{key} is missing; it is required")
        if value is None and key in ("max_channel", "cue_channel"):
            return None  # not used
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _LARGEST:
            raise EncoderError(f"{where}.{key} = {value!r}; allowed: an integer {low}..{_LARGEST}")
        return value

    levels = raw.get("levels")
    if (
        not isinstance(levels, Sequence)
        or isinstance(levels, str)
        or len(levels) > _LARGEST
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in levels)
    ):
        raise EncoderError(f"{where}.levels = {levels!r}; allowed: a list of integers")
    settings = {
        "n_channels": integer("channels", low=1),
        "length": integer("length", low=2),
        "first_channel": integer("first_channel", 0),
        "max_value": integer("max_value", 255, low=1),
        "max_channel": integer("max_channel", None),
        "cue_channel": integer("cue_channel", None),
        "cue_steps": integer("cue_steps", 0),
    }
    try:
        return ThresholdCrossingEncoder(input=raw["input"], levels=tuple(levels), **settings)
    except EncoderError as error:
        raise EncoderError(f"{where}: {error}") from None
