"""Long-square sweeps of Allen NWB 1.x ``ephys.nwb`` files, as per-sweep fitting targets.

The layout is the one allensdk's ``core/nwb_data_set.py`` reads:

- ``epochs/Sweep_N/{stimulus,response}/timeseries``: the whole sweep, ``data`` (times its
  ``conversion`` attribute gives amperes and volts) sampled at
  ``starting_time.attrs['rate']`` Hz; times are counted from the sweep's first sample;
- ``epochs/Experiment_N/stimulus/idx_start`` and ``count``: the part after the test pulse (the
  whole sweep where absent);
- ``stimulus/presentation/Sweep_N/aibs_stimulus_name`` (``"Long Square"``) and
  ``aibs_stimulus_amplitude_pa``.

Each long square's step window and amplitude are read from its stimulus trace (the step is the
first to the last change of the stimulus after the test pulse), spikes are found with Allen's
detector (`analysis.spike_detection`) and summarised with Allen's sweep definitions
(`analysis.sweep_features`). A sweep that cannot be used (no step, recording shorter than the
step, amplitude disagreeing with the file's metadata in every reading of its units, a response
that is not in volts) is listed with its reason in the table's
``attrs["skipped"]``, never dropped silently; a file that is not readable HDF5 (a truncated
download) raises `NwbError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from brian2 import mV, second

from ahp_models.errors import UserError
from analysis.spike_detection import detect_spikes
from analysis.spike_trains import SpikeTrainError
from analysis.sweep_features import sweep_features
from fitting.targets import SWEEP_COLUMNS

__all__ = ["LONG_SQUARE", "NwbError", "long_square_sweeps", "read_nwb_folder"]

LONG_SQUARE = "Long Square"
#: Largest disagreement between the step read from the trace and the file's stated amplitude.
AMPLITUDE_TOLERANCE_PA = 1.0
_SWEEP_NAME = re.compile(r"Sweep_(\d+)$")


class NwbError(UserError):
    """An NWB file that cannot be read: truncated, not HDF5, or not in the NWB 1.x layout."""


class _Skip(Exception):
    """A sweep that is left out, with its reason."""


def _text(value) -> str:
    value = value[()] if isinstance(value, h5py.Dataset) else value
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    return value.decode() if isinstance(value, bytes) else str(value)


def _raw(series: h5py.Group, where: str) -> tuple[np.ndarray, float]:
    """The stored data and its ``conversion`` attribute (data x conversion = SI units)."""
    if "data" not in series:
        raise NwbError(f"{where}: no 'data' dataset")
    data = series["data"]
    return np.asarray(data[()], dtype=float), float(data.attrs.get("conversion", 1.0))


def _step_window(stimulus_a: np.ndarray, first: int, last: int) -> tuple[int, int]:
    """Indexes of the step's first sample and of the first sample after it."""
    changes = np.flatnonzero(np.diff(stimulus_a[first : last + 1]) != 0)
    if changes.size == 0:
        raise _Skip("no current step after the test pulse")
    if changes.size < 2:
        raise _Skip("the recording stops during the step (the step never ends)")
    return first + int(changes[0]) + 1, first + int(changes[-1]) + 1


def _sweep_row(file: h5py.File, number: int, path: Path) -> dict[str, float]:
    where = f"{path}: epochs/Sweep_{number}"
    epoch = file["epochs"][f"Sweep_{number}"]
    for part in ("stimulus", "response"):
        if f"{part}/timeseries" not in epoch:
            raise NwbError(f"{where}: no {part}/timeseries")
    series = epoch["stimulus/timeseries"]
    rate_hz = float(series["starting_time"].attrs["rate"])
    if not rate_hz > 0:
        raise NwbError(f"{where}: sampling rate {rate_hz!r} Hz; must be > 0")
    stimulus_raw, stimulus_conversion = _raw(series, f"{where}/stimulus")
    response_raw, response_conversion = _raw(epoch["response/timeseries"], f"{where}/response")
    stimulus_a = stimulus_raw * stimulus_conversion
    experiment = file["epochs"].get(f"Experiment_{number}")
    if experiment is not None:
        first = int(experiment["stimulus/idx_start"][()])
        last = first + int(experiment["stimulus/count"][()]) - 1
    else:
        first, last = 0, stimulus_a.size - 1
    begin, after = _step_window(stimulus_a, first, min(last, stimulus_a.size - 1))
    plateau_pa = stimulus_a[begin:after] * 1e12
    amplitude_pa = float(np.median(plateau_pa))
    if np.ptp(plateau_pa) > AMPLITUDE_TOLERANCE_PA:
        raise _Skip(
            f"stimulus is not a square step (varies by {np.ptp(plateau_pa):.3g} pA between "
            f"samples {begin} and {after})"
        )
    response_v = response_raw * response_conversion
    stated = _stated_amplitude(file, number)
    if stated is not None and abs(stated - amplitude_pa) > AMPLITUDE_TOLERANCE_PA:
        # allensdk: files of early pipeline versions store SI units with a wrong 'conversion'
        unconverted_pa = float(np.median(stimulus_raw[begin:after])) * 1e12
        if abs(stated - unconverted_pa) > AMPLITUDE_TOLERANCE_PA:
            raise _Skip(
                f"the stimulus trace steps by {amplitude_pa:.6g} pA (data x conversion) or "
                f"{unconverted_pa:.6g} pA (data) but aibs_stimulus_amplitude_pa is "
                f"{stated:.6g} pA: the units of this sweep are unclear"
            )
        amplitude_pa, response_v = unconverted_pa, response_raw
    resting_v = float(np.median(response_v[:begin])) if begin else float(response_v[0])
    if not -0.2 < resting_v < 0.1:
        raise _Skip(
            f"the response before the step sits at {resting_v:.6g}, not a membrane potential "
            "in volts (-0.2 to 0.1 V): check the response's 'conversion'"
        )
    if response_v.size <= after:
        raise _Skip(
            f"the recording ends at {response_v.size / rate_hz:.4g} s, before the step ends "
            f"at {after / rate_hz:.4g} s"
        )
    t_s = np.arange(response_v.size) / rate_hz
    start_s, end_s = begin / rate_hz, after / rate_hz
    try:
        spikes = detect_spikes(
            t_s * second, response_v * 1e3 * mV, start_s * second, end_s * second
        )
    except SpikeTrainError as err:
        raise _Skip(f"response unusable for spike detection: {err}") from None
    features = sweep_features(
        spikes.threshold_t_s.to_numpy() * second, start_s * second, end_s * second
    )
    row = {
        "sweep": number,
        "amplitude_pA": amplitude_pa,
        "stimulus_start_s": start_s,
        "stimulus_end_s": end_s,
        "spike_count": features["spike_count"],
    }
    row.update({column: features[column] for column in SWEEP_COLUMNS})
    return row


def _stated_amplitude(file: h5py.File, number: int) -> float | None:
    presentation = file.get(f"stimulus/presentation/Sweep_{number}")
    if presentation is None or "aibs_stimulus_amplitude_pa" not in presentation:
        return None
    return float(presentation["aibs_stimulus_amplitude_pa"][()])


def _stimulus_name(file: h5py.File, number: int) -> str | None:
    presentation = file.get(f"stimulus/presentation/Sweep_{number}")
    if presentation is None or "aibs_stimulus_name" not in presentation:
        return None
    return _text(presentation["aibs_stimulus_name"])


def long_square_sweeps(path: str | os.PathLike) -> pd.DataFrame:
    """Per-sweep spike features of every long square in an Allen NWB 1.x file.

    Parameters
    ----------
    path : str or os.PathLike
        An ``ephys.nwb`` file.

    Returns
    -------
    pandas.DataFrame
        One row per usable long-square sweep, in sweep order: ``sweep``, ``amplitude_pA``,
        ``stimulus_start_s``, ``stimulus_end_s`` (from the sweep's first sample),
        ``spike_count`` and the optional fitting columns of `fitting.targets.SWEEP_COLUMNS`.
        ``attrs["skipped"]`` maps each long square left out to the reason.

    Raises
    ------
    NwbError
        The file is missing, truncated, not HDF5, or lacks the NWB 1.x sweep layout.
    """
    path = Path(path)
    if not path.is_file():
        raise NwbError(f"{path}: no such file")
    try:
        file = h5py.File(path, "r")
    except OSError as err:
        raise NwbError(
            f"{path}: not readable as HDF5 ({err}); a truncated or interrupted download looks "
            "like this: delete the file and download it again"
        ) from None
    rows, skipped = [], {}
    with file:
        if "epochs" not in file:
            raise NwbError(
                f"{path}: no 'epochs' group; not an NWB 1.x file as the Allen Cell Types "
                "Database serves them"
            )
        numbers = sorted(
            int(match.group(1)) for name in file["epochs"] if (match := _SWEEP_NAME.match(name))
        )
        for number in numbers:
            if _stimulus_name(file, number) != LONG_SQUARE:
                continue
            try:
                rows.append(_sweep_row(file, number, path))
            except _Skip as reason:
                skipped[number] = str(reason)
            except (OSError, KeyError) as err:
                raise NwbError(
                    f"{path}: epochs/Sweep_{number} cannot be read ({err}); the file is "
                    "truncated or damaged: delete it and download it again"
                ) from None
    columns = ["sweep", "amplitude_pA", "stimulus_start_s", "stimulus_end_s", "spike_count"]
    table = pd.DataFrame(rows, columns=[*columns, *SWEEP_COLUMNS])
    table.attrs["skipped"] = skipped
    return table


def read_nwb_folder(
    folder: str | os.PathLike, specimens: Iterable[int] | None = None
) -> dict[int, pd.DataFrame]:
    """Long-square tables of every cell in a folder of NWB files.

    Files are found in allensdk's cache layout, ``specimen_<id>/ephys.nwb``, or named
    ``<id>.nwb``.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.
    specimens : iterable of int, optional
        Read only these cells' files (default: every file found).

    Returns
    -------
    dict of int to pandas.DataFrame
        Specimen id -> `long_square_sweeps` table.

    Raises
    ------
    NwbError
        The folder holds no such file, or one of them cannot be read.
    """
    folder = Path(folder)
    found: dict[int, Path] = {}
    for nwb in sorted(folder.glob("specimen_*/ephys.nwb")):
        suffix = nwb.parent.name.removeprefix("specimen_")
        if suffix.isdigit():
            found[int(suffix)] = nwb
    for nwb in sorted(folder.glob("*.nwb")):
        if nwb.stem.isdigit():
            found.setdefault(int(nwb.stem), nwb)
    if not found:
        raise NwbError(
            f"{folder}: no NWB files; expected specimen_<id>/ephys.nwb (allensdk's cache "
            "layout, what `ahp fetch` writes) or <id>.nwb"
        )
    if specimens is not None:
        wanted = {int(s) for s in specimens}
        found = {s: nwb for s, nwb in found.items() if s in wanted}
    return {specimen: long_square_sweeps(nwb) for specimen, nwb in sorted(found.items())}
