"""Current-clamp sweeps of NWB 2 files, read with h5py (pynwb is not needed to read).

The layout is the NWB 2 core schema's, as Allen's newer files, DANDI's intracellular sets and
`ahp_models.nwb_export` write it:

- responses are the groups of ``acquisition`` whose ``neurodata_type`` is
  ``CurrentClampSeries``, stimuli those of ``stimulus/presentation`` that are
  ``CurrentClampStimulusSeries``; each has ``data`` (attributes ``unit``, ``conversion`` and
  ``offset``: ``data x conversion + offset`` is in volts or amperes), ``starting_time`` (attribute
  ``rate``, Hz) and the attributes ``sweep_number`` and ``stimulus_description``;
- a response's stimulus is the one on its row of the ``intracellular_recordings`` table
  (``general/intracellular_ephys``, NWB 2.4 and later; its ``idx_start`` and ``count`` select the
  sweep's samples), else the stimulus series with the same ``sweep_number`` and electrode
  (older files, Allen's among them);
- the stimulus name is the response's ``stimulus_description`` (the stimulus's where the
  response has none); Allen's stimulus codes of long squares (``C1LSCOARSE150216_DA_0``...,
  named "Long Square" in the stimulus ontology of Allen's ipfx) count as ``"Long Square"``;
- a test pulse, as ipfx finds it, is the first pulse of the stimulus when it starts within
  `TEST_PULSE_MAX_S` of the sweep's start and another pulse follows; the step is looked for
  after it;
- samples after the recording stopped are NaN in Allen's files (ipfx's "recording" epoch ends at
  the last finite sample): trailing NaNs are cut, a non-finite sample within the recording is an
  error.

Times are counted from the stimulus's first sample (a series' ``starting_time`` is its start
in the session). What a long square needs and does not find (its stimulus, volts and amperes,
finite samples, a regular sampling rate, one response per sweep number) is an `NwbError` naming
the file, the series and the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from fitting.nwb_common import NwbError, text
from fitting.recorded_sweep import LONG_SQUARE, RecordedSweep

__all__ = ["ALLEN_LONG_SQUARE_CODES", "TEST_PULSE_MAX_S", "nwb2_sweeps", "stimulus_name"]

RESPONSE_TYPE = "CurrentClampSeries"
STIMULUS_TYPE = "CurrentClampStimulusSeries"
#: A test pulse starts this soon after the sweep's start (ipfx's ``TEST_PULSE_MAX_TIME``).
TEST_PULSE_MAX_S = 0.4
#: Allen stimulus codes of long squares: prefixes of the Core 1 codes (a date follows) and the
#: Patch-seq codes, as ipfx's stimulus ontology names them.
ALLEN_LONG_SQUARE_CODES = {
    "prefixes": ("C1LSCOARSE", "C1LSFINEST"),
    "codes": ("X1PS_SubThresh", "X3LP_Rheo", "X4PS_SupraThresh", "subthreshold_171"),
}
_VOLTS = ("volts", "volt", "v")
_AMPERES = ("amperes", "ampere", "amps", "amp", "a")
_RECORDINGS = "general/intracellular_ephys/intracellular_recordings"


def stimulus_name(description: str) -> str:
    """The stimulus name of a ``stimulus_description``: Allen's long-square codes become
    ``"Long Square"``, anything else is kept.

    Parameters
    ----------
    description : str
        The series' ``stimulus_description``.

    Returns
    -------
    str
        The name.
    """
    # ipfx reads the code without MIES's channel suffix and the set sweep in brackets
    code = description.split("[")[0].removesuffix("_DA_0")
    if code.startswith(ALLEN_LONG_SQUARE_CODES["prefixes"]) or (
        code in ALLEN_LONG_SQUARE_CODES["codes"]
    ):
        return LONG_SQUARE
    return description


@dataclass(frozen=True)
class _Pair:
    """A response and its stimulus (None where the file has none), with the samples of each
    that belong to the sweep (None: all)."""

    number: int
    response: h5py.Group
    stimulus: h5py.Group | None
    response_range: tuple[int, int] | None = None
    stimulus_range: tuple[int, int] | None = None


def _kind(group: h5py.HLObject) -> str:
    return text(group.attrs.get("neurodata_type", ""))


def _sweep_number(group: h5py.Group) -> int | None:
    number = group.attrs.get("sweep_number")
    return None if number is None else int(np.asarray(number).item())


def _electrode(group: h5py.Group) -> h5py.h5o.ObjectID | None:
    """The electrode's HDF5 object (series link it, each by its own path)."""
    try:
        return group["electrode"].id
    except KeyError:  # the schema requires it; a stimulus without one pairs by number alone
        return None


def _groups(file: h5py.File, folder: str, kind: str) -> list[h5py.Group]:
    parent = file.get(folder)
    if not isinstance(parent, h5py.Group):
        return []
    return [
        item for item in parent.values() if isinstance(item, h5py.Group) and _kind(item) == kind
    ]


def _reference_range(entry) -> tuple[int, int] | None:
    """(first sample, count) of a TimeSeriesReference; None for a missing one (-1, -1)."""
    start, count = int(entry["idx_start"]), int(entry["count"])
    return None if start < 0 or count < 0 else (start, count)


def _table_pairs(file: h5py.File, path: Path) -> list[_Pair]:
    """Pairs on the rows of the ``intracellular_recordings`` table."""
    table = file.get(_RECORDINGS)
    if table is None:
        return []
    where = f"{path}: {_RECORDINGS}"
    try:
        responses = table["responses/response"][()]
        stimuli = table["stimuli/stimulus"][()] if "stimuli/stimulus" in table else None
        ids = table["id"][()]
    except KeyError as err:
        raise NwbError(f"{where}: {err}; the table lacks its response or id column") from None
    pairs = []
    for row, (entry, row_id) in enumerate(zip(responses, ids, strict=True)):
        response_range = _reference_range(entry)
        if response_range is None:
            continue  # a row with a stimulus only
        response = file[entry["timeseries"]]
        if _kind(response) != RESPONSE_TYPE:
            continue  # voltage clamp, I=0
        stimulus, stimulus_range = None, None
        if stimuli is not None and (stimulus_range := _reference_range(stimuli[row])) is not None:
            stimulus = file[stimuli[row]["timeseries"]]
        number = _sweep_number(response)
        if number is None:
            number = int(row_id)
        if stimulus is not None and _sweep_number(stimulus) not in (None, number):
            raise NwbError(
                f"{where}: row {row} pairs {response.name} (sweep {number}) with "
                f"{stimulus.name} (sweep {_sweep_number(stimulus)}); allowed: a stimulus and "
                "response of the same sweep"
            )
        pairs.append(_Pair(number, response, stimulus, response_range, stimulus_range))
    return pairs


def _number_pairs(file: h5py.File, path: Path, responses: list[h5py.Group]) -> list[_Pair]:
    """Pairs by sweep number and electrode, for responses outside the table."""
    stimuli: dict[tuple[int, h5py.h5o.ObjectID | None], list[h5py.Group]] = {}
    for stimulus in _groups(file, "stimulus/presentation", STIMULUS_TYPE):
        number = _sweep_number(stimulus)
        if number is not None:
            stimuli.setdefault((number, _electrode(stimulus)), []).append(stimulus)
    pairs = []
    for response in responses:
        number = _sweep_number(response)
        if number is None:
            pairs.append(_Pair(-1, response, None))  # refused if it is a sweep that is read
            continue
        found = stimuli.get((number, _electrode(response))) or stimuli.get((number, None), [])
        if len(found) > 1:
            names = ", ".join(stimulus.name for stimulus in found)
            raise NwbError(
                f"{path}: sweep {number} of {response.name} has {len(found)} stimuli ({names}); "
                "allowed: one CurrentClampStimulusSeries per sweep and electrode"
            )
        pairs.append(_Pair(number, response, found[0] if found else None))
    return pairs


def _pairs(file: h5py.File, path: Path) -> list[_Pair]:
    pairs = _table_pairs(file, path)
    in_table = {pair.response.name for pair in pairs}
    outside = [
        response
        for response in _groups(file, "acquisition", RESPONSE_TYPE)
        if response.name not in in_table
    ]
    pairs += _number_pairs(file, path, outside)
    seen: dict[int, str] = {}
    for pair in pairs:
        if pair.number >= 0 and seen.setdefault(pair.number, pair.response.name) != (
            pair.response.name
        ):
            raise NwbError(
                f"{path}: sweep {pair.number} has two current-clamp responses, "
                f"{seen[pair.number]} and {pair.response.name} (several cells recorded "
                "together); allowed: one response per sweep number, one cell per file"
            )
    return sorted(pairs, key=lambda pair: pair.number)


def _description(pair: _Pair) -> str:
    for group in (pair.response, pair.stimulus):
        if group is not None:
            description = text(group.attrs.get("stimulus_description", "")).strip()
            if description and description != "N/A":  # pynwb's default: none given
                return description
    return ""


def _samples(
    group: h5py.Group, where: str, units: tuple[str, ...], sweep_range: tuple[int, int] | None
) -> tuple[np.ndarray, float, float]:
    """(SI values, rate Hz, time of the first sample s) of a series's sweep samples."""
    if "data" not in group:
        raise NwbError(f"{where}: no 'data' dataset")
    data = group["data"]
    unit = text(data.attrs.get("unit", ""))
    if unit.strip().lower() not in units:
        raise NwbError(f"{where}/data: unit {unit!r}; allowed: {units[0]!r}")
    if data.ndim != 1:
        raise NwbError(f"{where}/data: shape {data.shape}; allowed: one sample per time")
    conversion = float(data.attrs.get("conversion", 1.0))
    offset = float(data.attrs.get("offset", 0.0))
    if not (math.isfinite(conversion) and conversion != 0 and math.isfinite(offset)):
        raise NwbError(
            f"{where}/data: conversion = {conversion!r}, offset = {offset!r}; allowed: a "
            "finite non-zero conversion and a finite offset"
        )
    if "starting_time" not in group:
        raise NwbError(
            f"{where}: no starting_time"
            + (" (sampled at timestamps)" if "timestamps" in group else "")
            + "; allowed: a regularly sampled series (starting_time with its rate)"
        )
    rate_hz = float(group["starting_time"].attrs.get("rate", math.nan))
    start_s = float(group["starting_time"][()])
    if not (math.isfinite(rate_hz) and rate_hz > 0 and math.isfinite(start_s)):
        raise NwbError(
            f"{where}/starting_time: rate {rate_hz!r} Hz, start {start_s!r} s; allowed: a "
            "finite start and a finite rate > 0"
        )
    first, count = sweep_range or (0, data.shape[0])
    values = np.asarray(data[first : first + count], dtype=float)
    if conversion != 1.0 or offset != 0.0:  # leave SI data as stored, bit for bit
        values = values * conversion + offset
    finite = np.flatnonzero(np.isfinite(values))
    recorded = values[: finite[-1] + 1] if finite.size else values[:0]
    if not recorded.size:
        raise NwbError(f"{where}/data: no finite sample; allowed: a recorded sweep")
    if finite.size < recorded.size:
        bad = int(np.flatnonzero(~np.isfinite(recorded))[0])
        raise NwbError(
            f"{where}/data: sample {first + bad} is {float(recorded[bad])!r} within the "
            "recording; allowed: finite samples (NaN only after the recording stopped)"
        )
    return recorded, rate_hz, start_s + first / rate_hz


def _experiment(stimulus_a: np.ndarray, rate_hz: float) -> tuple[int, int] | None:
    """First and last stimulus sample after the test pulse; None where there is none."""
    changes = np.flatnonzero(np.diff(stimulus_a))
    if changes.size >= 4 and changes[0] < TEST_PULSE_MAX_S * rate_hz:
        return int(changes[1]) + 1, stimulus_a.size - 1
    return None


def _sweep(pair: _Pair, name: str, path: Path) -> RecordedSweep:
    where = f"{path}: {pair.response.name}"
    if pair.number < 0:
        raise NwbError(
            f"{where}: no sweep_number attribute and no row in {_RECORDINGS}; allowed: a "
            "response whose stimulus can be found by either"
        )
    if pair.stimulus is None:
        raise NwbError(
            f"{where} (sweep {pair.number}, {name!r}): no {STIMULUS_TYPE} in "
            f"stimulus/presentation with sweep_number {pair.number} nor on a row of "
            f"{_RECORDINGS}; the step cannot be read without its stimulus"
        )
    stimulus_a, stimulus_rate_hz, stimulus_start_s = _samples(
        pair.stimulus, f"{path}: {pair.stimulus.name}", _AMPERES, pair.stimulus_range
    )
    response_v, response_rate_hz, response_start_s = _samples(
        pair.response, where, _VOLTS, pair.response_range
    )
    return RecordedSweep(
        number=pair.number,
        stimulus_name=name,
        stimulus_a=stimulus_a,
        response_v=response_v,
        stimulus_rate_hz=stimulus_rate_hz,
        response_rate_hz=response_rate_hz,
        response_delay_s=response_start_s - stimulus_start_s,
        experiment=_experiment(stimulus_a, stimulus_rate_hz),
    )


def nwb2_sweeps(
    file: h5py.File, path: Path, wanted: str | None = LONG_SQUARE
) -> Iterator[RecordedSweep]:
    """The current-clamp sweeps of an open NWB 2 file, in sweep order, read one at a time.

    Parameters
    ----------
    file : h5py.File
        The open file.
    path : pathlib.Path
        Its path, for messages.
    wanted : str or None
        Only the sweeps of this stimulus name (see `stimulus_name`); None for every sweep.

    Yields
    ------
    RecordedSweep
        Stimulus and response in SI units.

    Raises
    ------
    NwbError
        A wanted sweep lacks its stimulus or sweep number, or its series have wrong units,
        non-finite samples or no regular rate; two responses share a sweep number; the file is
        damaged.
    """
    try:
        pairs = _pairs(file, path)
    except NwbError:
        raise
    except (OSError, KeyError, ValueError) as err:  # h5py: a reference it cannot follow
        raise NwbError(
            f"{path}: the current-clamp series cannot be listed ({err}); the file is truncated "
            "or damaged"
        ) from None
    for pair in pairs:
        name = stimulus_name(_description(pair))
        if wanted is not None and name != wanted:
            continue
        try:
            sweep = _sweep(pair, name, path)
        except (OSError, KeyError) as err:
            raise NwbError(
                f"{path}: {pair.response.name} cannot be read ({err}); the file is truncated or "
                "damaged"
            ) from None
        yield sweep
